"""The seed guide's example application: the client and the logging set-up it recommends."""
import logging
import os

from mistralai import Mistral

logging.basicConfig(level=logging.INFO)
logging.getLogger("mistralai").setLevel(logging.DEBUG)  # the seed's "debug mode"

client = Mistral(api_key=os.environ["MISTRAL_API_KEY"])


def ask(question: str) -> str:
    response = client.chat.complete(model="mistral-large-latest",
                                    messages=[{"role": "user", "content": question}])
    return response.choices[0].message.content
