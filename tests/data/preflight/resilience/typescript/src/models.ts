export const models = 1;
