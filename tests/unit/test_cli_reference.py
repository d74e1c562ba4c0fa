"""docs/cli.md is generated from the CLI's --help and must match it."""

from pathlib import Path

from magent.cli.reference import render_reference

REFERENCE = Path(__file__).resolve().parents[2] / "docs" / "cli.md"


def test_reference_is_up_to_date():
    assert REFERENCE.read_text() == render_reference(), (
        "docs/cli.md is out of date; run: python -m magent.cli.reference > docs/cli.md"
    )


def test_reference_covers_every_command():
    text = REFERENCE.read_text()
    for heading in ("## magent completion", "## magent config show"):
        assert heading in text
