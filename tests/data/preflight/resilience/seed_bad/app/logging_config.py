LOGGING = {
    "version": 1,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "loggers": {"httpx": {"level": "DEBUG", "handlers": ["console"]}},
}
