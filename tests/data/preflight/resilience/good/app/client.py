"""A production client: retries with exponential backoff, a timeout, a circuit breaker."""
import logging
import os

import pybreaker
from mistralai.client import Mistral
from mistralai.client.utils import BackoffStrategy, RetryConfig

logging.getLogger("httpx").setLevel(logging.WARNING)
logging.getLogger("mistralai").setLevel("INFO")

RETRIES = RetryConfig("backoff", BackoffStrategy(500, 30_000, 1.5, 120_000), retry_connection_errors=True)
breaker = pybreaker.CircuitBreaker(fail_max=5, reset_timeout=60)


def make_client() -> Mistral:
    return Mistral(api_key=os.environ["MISTRAL_API_KEY"], retry_config=RETRIES, timeout_ms=30_000)


@breaker
def ask(client: Mistral, question: str) -> str:
    response = client.chat.complete(model="mistral-small-2506", max_tokens=512, temperature=0.2,
                                    messages=[{"role": "user", "content": question}])
    return response.choices[0].message.content
