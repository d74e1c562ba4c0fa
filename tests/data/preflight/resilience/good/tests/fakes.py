import logging

from mistralai.client import Mistral

logging.getLogger("httpx").setLevel(logging.DEBUG)  # tests may be chatty: not production


def test_client():
    assert Mistral(api_key="test")
