"""`magent` does not look for pydantic plugins (a scan of every installed distribution at each command's start)
unless PYDANTIC_DISABLE_PLUGINS is set, which is then left as it is."""

from __future__ import annotations

from magent.cli.app import skip_pydantic_plugins


def test_pydantic_plugins_are_skipped_by_default():
    environ: dict[str, str] = {}
    skip_pydantic_plugins(environ)
    assert environ == {"PYDANTIC_DISABLE_PLUGINS": "__all__"}


def test_a_person_who_set_the_variable_keeps_pydantic_s_behaviour():
    for value in ("", "logfire", "1"):
        environ = {"PYDANTIC_DISABLE_PLUGINS": value}
        skip_pydantic_plugins(environ)
        assert environ == {"PYDANTIC_DISABLE_PLUGINS": value}
