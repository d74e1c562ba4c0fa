import logging

logging.getLogger(__name__).setLevel(logging.DEBUG)  # its own logger: not the SDK's


def main() -> None:
    print("no Mistral here")
