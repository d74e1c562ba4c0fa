"""The one error tree of magent. Every error carries a one-line message, a hint and an exit code.

    MagentError                      (exit 1 unless a subclass says otherwise)
    ├── CheckFailed                  1  the thing checked is not OK (failed preflight, aborted canary, invalid key)
    ├── UsageError                   2  bad flags or arguments
    │   └── ConfigError              2  invalid magent.yaml or environment
    ├── Unreachable                  3  an outside system cannot be reached
    │   └── CredentialsRefused       3  an outside system refused our credentials
    ├── InconsistentState            4  a state that needs a human (a rollback that could not complete)
    └── Interrupted                130  the user pressed Ctrl-C

Service modules translate SDK exceptions into these at their boundary (`raise ... from exc`), keeping
the server's status and message, with every secret masked.
"""

from __future__ import annotations

EXIT_OK = 0
EXIT_CHECK_FAILED = 1
EXIT_USAGE = 2
EXIT_UNREACHABLE = 3
EXIT_INCONSISTENT = 4
EXIT_INTERRUPTED = 130

EXIT_CODES_HELP = (
    "Exit codes: 0 success · 1 the thing checked is not OK (failed check, canary aborted and rolled back, "
    "invalid key) · 2 usage or configuration error · 3 an outside system unreachable or refusing credentials · "
    "4 inconsistent state that needs a human · 130 interrupted."
)


class MagentError(Exception):
    """Base class: a message for the user, a hint on how to fix it, and the process exit code."""

    exit_code = EXIT_CHECK_FAILED

    def __init__(self, message: str, *, hint: str | None = None, exit_code: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint
        if exit_code is not None:
            self.exit_code = exit_code

    def __str__(self) -> str:
        return self.message


class CheckFailed(MagentError):
    exit_code = EXIT_CHECK_FAILED


class UsageError(MagentError):
    exit_code = EXIT_USAGE


class ConfigError(UsageError):
    exit_code = EXIT_USAGE


class Unreachable(MagentError):
    exit_code = EXIT_UNREACHABLE


class CredentialsRefused(Unreachable):
    exit_code = EXIT_UNREACHABLE


class InconsistentState(MagentError):
    exit_code = EXIT_INCONSISTENT


class Interrupted(MagentError):
    exit_code = EXIT_INTERRUPTED
