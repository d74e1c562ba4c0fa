from mistralai.client import Mistral

client = Mistral(api_key="unused")
agent = client.beta.agents.create(
    model="mistral-medium-2505",
    name="support",
    completion_args={"temperature": 0.3, "max_tokens": 800},
)
answer = client.chat.complete(model="ministral-8b-latest", messages=[])
