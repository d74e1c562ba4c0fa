"""Every `magent …` command quoted in the README, docs/, runbooks/ and the checklists parses against the real CLI.

The documents are what people copy at 3 a.m.: an option renamed in the code must fail here, naming file:line.
docs/cli.md is left out: it is generated from --help (tests/unit/test_cli_reference.py keeps it in step).
"""

from __future__ import annotations

import shlex
import textwrap

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tests.fixtures.doc_commands import (
    ROOT,
    CommandLine,
    _root,
    commands_in_file,
    commands_in_inline_code,
    commands_in_markdown,
    commands_in_shell,
    parse_error,
)

DOCUMENTS = sorted(
    [ROOT / "README.md", *(ROOT / "docs").glob("*.md"), *(ROOT / "runbooks").glob("*.md"),
     *(ROOT / "checklists").glob("*.yaml")],
)
DOCUMENTS = [path for path in DOCUMENTS if path.name != "cli.md"]

# Commands the documents may name before they exist (work in progress elsewhere), as command paths, e.g.
#     ("alerts",): "magent alerts: the alert table as CloudWatch alarms / Prometheus rules",
# An entry lets a quoted line fail with "No such command" and nothing else. When the command lands,
# test_not_yet_commands_do_not_exist_yet fails: delete its line here, and the lines quoting it are checked.
# (Empty now: `magent alerts`, `magent key rotate` and `magent sandbox up` have landed.)
NOT_YET: dict[tuple[str, ...], str] = {}


@pytest.fixture(scope="module")
def root():
    return _root()


def _all_commands() -> list[CommandLine]:
    return [command for path in DOCUMENTS for command in commands_in_file(path)]


def _not_yet(path: tuple[str, ...]) -> bool:
    return any(path[:len(entry)] == entry for entry in NOT_YET)


def test_every_quoted_command_parses(root) -> None:
    failures = []
    for command in _all_commands():
        error = parse_error(command, root=root)
        if error is not None and not (error.unknown_command and _not_yet(error.path)):
            failures.append(f"{command.where}: magent {' '.join(command.argv)}\n    {error.message}")
    assert not failures, "quoted magent commands that the CLI refuses:\n" + "\n".join(failures)


def test_the_documents_quote_many_commands() -> None:
    # A broken extractor that finds nothing would pass the test above: make sure it reads every kind of place.
    commands = _all_commands()
    by_file = {command.file for command in commands}
    assert len(commands) >= 120
    assert {"README.md", "runbooks/incident.md", "runbooks/rollback.md", "checklists/production.yaml",
            "docs/ci.md"} <= by_file
    assert any(c.inline for c in commands) and any(not c.inline for c in commands)


def test_not_yet_commands_do_not_exist_yet(root) -> None:
    # a loop, not a parametrization: an empty NOT_YET (every quoted command exists) is the goal, not a skip
    for entry in sorted(NOT_YET):
        error = parse_error(CommandLine("NOT_YET", 0, "", (*entry, "--help")), root=root)
        assert error is not None and error.unknown_command, (
            f"`magent {' '.join(entry)}` exists now: remove it from NOT_YET in {__file__}")


# -- the checker can fail: synthetic documents ----------------------------------------------------------------

BAD_DOC = textwrap.dedent("""\
    # Title

    ```bash
    magent deploy registry/agent:v2 -d agent --stepz 10
    magent status -d agent -o xml
    magent rollbak -d agent
    magent key rotate
    magent rollback -d agent --to-revision three
    ```

    Prose may abbreviate: `magent rollback`, but not `magent key verfy`.
    """)


def test_a_wrong_document_fails_naming_each_line(root) -> None:
    errors = {c.line: parse_error(c, root=root) for c in commands_in_markdown(BAD_DOC, file="bad.md")}
    assert "No such option: --stepz" in errors[4].message
    assert "'xml' is not one of" in errors[5].message
    assert errors[6].unknown_command and "Did you mean 'rollback'?" in errors[6].message
    assert "Missing option" in errors[7].message  # a code block must be complete
    assert "--to-revision" in errors[8].message and "integer" in errors[8].message
    assert errors[11].unknown_command and errors[11].path == ("key", "verfy")
    assert len(errors) == 6  # the inline `magent rollback` parsed (one entry per line; 11 holds the bad one)


GOOD_DOC = textwrap.dedent("""\
    Indented block in a list:

    1. Check:

           $ magent status -d agent -n shop -o json > status.json 2>&1   # a comment
           MAGENT_NAMESPACE=shop magent history -d agent | jq '.[0]' && magent key verify --no-spend

    ```sh
    magent deploy "registry/agent:${{ github.sha }}" -d agent \\
      --steps 10,50 --pause 1m --yes -o json || magent rollback -d agent --yes
    magent rollback -d agent --to-revision N --reason "a # is no comment here"
    magent preflight attest ITEM --by NAME --note TEXT
    magent --help
    ```

    ```yaml
    steps:
      - run: |
          magent preflight -o sarif --output-file preflight.sarif
      - command: ["magent", "conversations", "export", "--since", "2d"]
    ```

    | command | does |
    |---|---|
    | `magent usage report --by model` | prose in a table |
    """)


def test_shell_syntax_is_read_as_a_shell_would(root) -> None:
    commands = commands_in_markdown(GOOD_DOC, file="good.md")
    assert [(c.line, c.argv[:2]) for c in commands] == [
        (5, ("status", "-d")), (6, ("history", "-d")), (6, ("key", "verify")),
        (9, ("deploy", "registry/agent:EXPR")), (9, ("rollback", "-d")), (11, ("rollback", "-d")),
        (12, ("preflight", "attest")), (13, ("--help",)),
        (19, ("preflight", "-o")), (20, ("conversations", "export")), (25, ("usage", "report")),
    ], [(c.line, c.argv) for c in commands]
    assert commands[0].argv == ("status", "-d", "agent", "-n", "shop", "-o", "json")
    assert commands[3].argv[-1] == "json" and "--pause" in commands[3].argv  # the continuation line joined
    assert commands[5].argv[-1] == "a # is no comment here"
    assert [c.where for c in commands if parse_error(c, root=root)] == []


def test_inline_code_in_yaml_comments_and_strings() -> None:
    text = "# run `magent preflight checks` first\nremediation: Set it, then run `magent db migrate`.\n"
    assert [(c.line, c.argv, c.inline) for c in commands_in_inline_code(text, file="c.yaml")] == [
        (1, ("preflight", "checks"), True), (2, ("db", "migrate"), True)]


def test_an_unclosed_quote_on_a_magent_line_is_reported_not_skipped(root) -> None:
    [command] = commands_in_shell('magent rollback -d agent --reason "oops', file="x.md", line=3)
    assert "cannot be split" in parse_error(command, root=root).message


_WORD = st.text(st.characters(codec="utf-8", exclude_categories=("Cs", "Cc", "Co")), min_size=1, max_size=12).filter(
    lambda word: word not in ("…", "...") and "${{" not in word)


@given(argv=st.lists(_WORD, min_size=1, max_size=6))
def test_an_argv_survives_prefixes_quoting_and_suffixes(argv: list[str]) -> None:
    line = f"$ LOG=1 magent {shlex.join(argv)} 2>/dev/null | tee out.txt # note"
    assert [c.argv for c in commands_in_shell(line, file="f", line=1)] == [tuple(argv)]


@given(st.text(max_size=300))
def test_any_text_is_read_without_crashing(text: str) -> None:
    for command in [*commands_in_shell(text, file="f", line=1), *commands_in_inline_code(text, file="f")]:
        assert command.argv


def _help_examples(root) -> list[CommandLine]:
    """The command lines under "Examples:" in every command's --help (what docs/cli.md shows)."""
    from magent.cli.reference import _walk

    found = []
    for path, command in _walk(root, ["magent"]):
        lines = (command.help or "").splitlines()
        starts = [index for index, line in enumerate(lines) if line.strip() == "Examples:"]
        if starts:
            block = "\n".join(line.strip() for line in lines[starts[0] + 1:])
            found += commands_in_shell(block, file=f"`{' '.join(path)} --help`", line=starts[0] + 2)
    return found


def test_every_help_example_parses(root) -> None:
    examples = _help_examples(root)
    assert len(examples) >= 20 and {"preflight", "rollback", "runbook"} <= {c.argv[0] for c in examples}
    failures = [f"{c.where}: magent {' '.join(c.argv)}\n    {error.message}"
                for c in examples if (error := parse_error(c, root=root))]
    assert not failures, "examples in --help that the CLI refuses:\n" + "\n".join(failures)
