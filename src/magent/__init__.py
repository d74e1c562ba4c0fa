"""magent: release, canary, rollback, key and usage tooling for Mistral AI applications."""

__version__ = "0.1.0"
