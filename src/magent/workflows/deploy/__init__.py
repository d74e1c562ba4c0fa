"""The deploy workflows: deploy (driver, session, finish, analysis), rollback, status and history, and a release
in waves. They decide and orchestrate; they act on a platform only through a `magent.services.targets.DeployTarget`
(Kubernetes, ECS) and the other adapters under `magent.services`, which they are given."""
