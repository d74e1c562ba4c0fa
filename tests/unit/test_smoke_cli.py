from magent import __version__


def test_version(cli):
    result = cli("--version")
    assert result.exit_code == 0
    assert result.stdout.strip() == f"magent {__version__}"


def test_unknown_option_is_usage_error(cli):
    result = cli("--no-such-flag")
    assert result.exit_code == 2
    assert "No such option" in result.stderr
