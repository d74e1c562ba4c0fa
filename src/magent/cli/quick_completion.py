"""`magent deploy -d <TAB>` answered without loading the command.

Resolving `magent deploy -d <TAB>` through click builds the whole deploy command first (its modules, Typer's
signature inspection): more than the cluster's answer costs. The command line of a Deployment-name completion is
simple enough to read here, with Typer's own shell classes for the shell's words and its output format; any other
line (or one this reading is unsure of) gets None, and click answers it.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from magent.cli.lazy import COMPLETE_VAR, DEPLOYMENT_COMPLETING, PROG_NAME

_ROOT_FLAGS = {"--debug", "--no-color"}
_VALUE_OPTIONS = {"--profile": "profile", "--config": "config", "-o": None, "--output": None,
                  "-n": "namespace", "--namespace": "namespace", "--context": "context"}
_DEPLOYMENT_OPTIONS = ("-d", "--deployment")


def quick_completion(env: Mapping[str, str]) -> str | None:
    """The shell's answer to a `-d <TAB>` of a command in lazy.DEPLOYMENT_COMPLETING, or None (ask click)."""
    instruction, _, shell = env.get(COMPLETE_VAR, "").partition("_")
    if instruction != "complete":
        return None
    from typer._click.shell_completion import CompletionItem, get_completion_class
    from typer._completion_classes import completion_init

    completion_init()
    shell_class = get_completion_class(shell)
    if shell_class is None:
        return None
    answer = shell_class(None, {}, PROG_NAME, COMPLETE_VAR)  # type: ignore[arg-type]  # no command: see below
    try:
        args, incomplete = answer.get_completion_args()
    except (KeyError, ValueError):
        return None
    request = deployment_request(args, incomplete)
    if request is None:
        return None
    from magent.cli.flags import names_of_deployments

    names = names_of_deployments(**request)
    answer.get_completions = lambda *_: [CompletionItem(name) for name in names]  # type: ignore[method-assign]
    return answer.complete()


def deployment_request(args: list[str], incomplete: str) -> dict[str, Any] | None:
    """names_of_deployments' arguments when ARGS end with -d/--deployment of a Deployment-completing command
    (or INCOMPLETE is `--deployment=…`), else None."""
    if incomplete.startswith("--deployment="):
        args, incomplete = [*args, "--deployment"], incomplete.partition("=")[2]
    if "--" in args or incomplete.startswith("-") or not args or args[-1] not in _DEPLOYMENT_OPTIONS:
        return None
    given: dict[str, list[str]] = {"profile": [], "config": [], "namespace": [], "context": []}
    path: list[str] = []
    for word, value in _words(args[:-1]):
        if word is None:
            return None
        if word.startswith("-"):
            if value is not None and _VALUE_OPTIONS[word]:
                given[_VALUE_OPTIONS[word]].append(value)
            elif value is None and word not in _ROOT_FLAGS and not path:
                return None  # an option of the root that this reading does not know
        elif not path or path == ["key"]:
            path.append(word)
    if tuple(path) not in DEPLOYMENT_COMPLETING:
        return None
    last = {key: values[-1] if values else None for key, values in given.items()}
    if path == ["deploy"] and given["context"]:
        last["context"] = given["context"][0]  # deploy's waves: the first cluster
    return {"incomplete": incomplete, **last}


def _words(args: list[str]) -> Iterator[tuple[str | None, str | None]]:
    """(option or word, its value) pairs; (None, None) for what only click would read right (`-nprod`)."""
    words = iter(args)
    for word in words:
        name, equals, value = word.partition("=") if word.startswith("--") else (word, "", "")
        if word.startswith("-") and not word.startswith("--") and len(word) > 2:
            yield None, None
        elif name in _VALUE_OPTIONS:
            yield name, value if equals else next(words, None)
        else:
            yield word, None
