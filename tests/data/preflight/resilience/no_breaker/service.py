import mistralai.client as mc
from mistralai.client.utils import BackoffStrategy, RetryConfig

client = mc.Mistral(api_key="from-vault", timeout_ms=20_000,
                    retry_config=RetryConfig("backoff", BackoffStrategy(1, 50, 1.1, 100), False))
