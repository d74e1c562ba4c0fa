"""Hostile flag values for every command: an exit code magent documents (0-4) and never a traceback.

The command tree is walked as click sees it (every option that takes a value, every argument) and each command
is run in process, with hostile values, against a configuration that points at nothing reachable (a closed
localhost port, a data directory that cannot be created), so that nothing slow runs.

Not driven: `demo` and `sandbox …` (they start servers; their flags are the simulators'). The root's options
with a value (--config, --profile, --output) are driven before each command. Values never contain NUL: argv
cannot carry one (execve takes C strings); undecodable bytes reach Python as lone surrogates ("\\udcff"), and
those are driven. Set FUZZ_RANDOM=1 to explore new cases; by default each run draws the same ones.
"""

from __future__ import annotations

import io
import os
import traceback
from contextlib import redirect_stderr, redirect_stdout
from pathlib import Path

import pytest
import typer
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer._click import Context

from magent.cli.app import app, run

ROOT_OPTIONS = ["--config", "--profile", "--output"]
SKIPPED = {"demo", "sandbox"}  # start servers (see the module's docstring)
CLOSED = "127.0.0.1:1"  # nothing listens on port 1: refused at once
EXAMPLES_PER_COMMAND = 110
FEWER_EXAMPLES = {  # commands whose cases cost more: 1,690 cases in all
    ("preflight", "attest"): 40,  # each loads the whole production checklist (~0.1 s)
    ("alerts", "apply"): 20,  # each asks AWS (refused, ~0.5 s with botocore); it has no option of its own
    ("key", "verify"): 60, ("preflight", "checks"): 60, ("deploy",): 80,
}
DOCUMENTED_EXIT_CODES = {0, 1, 2, 3, 4}
RANDOM_VAR = "FUZZ_RANDOM"  # set it to explore new cases; CI draws the same ones each run (no flaky failures)


def _leaf_commands() -> list[tuple[tuple[str, ...], object]]:
    root = typer.main.get_command(app)
    ctx = Context(root)
    found = []

    def walk(command, path):
        if hasattr(command, "list_commands"):
            for name in command.list_commands(ctx):
                if name not in SKIPPED:
                    walk(command.get_command(ctx, name), (*path, name))
        else:
            found.append((path, command))

    walk(root, ())
    return found


def _valued(params):
    return [p for p in params if not getattr(p, "is_flag", False) and not getattr(p, "count", False)
            and not getattr(p, "hidden", False)]


COMMANDS = _leaf_commands()


def _hostile_texts(work: Path) -> list[str]:
    long_path = "a/" * 3000
    return [
        "", " ", "-", "--", "0", "-1", "-0", "1e309", "-1e309", "nan", "NaN", "inf", "-inf", "1e-320",
        "99999999999999999999999999", "9" * 5000, "-" + "9" * 40, "0x10", "1_000", "١٢", "²", "1.5", "1,5",
        "7", "7d", "0s", "1ms", "99999999999999999999999999d", "1000000000h", "1h-5m", "5m5m5m", "P1D",
        "0001-01-01", "0001-01-01T00:00+05:00", "9999-12-31T23:59:59Z", "9999-12-31", "2026-02-30",
        "2026-13-01", "1970-01-01T00:00:00Z", "2026-11-01T25:00", "-2026-01-01",
        "é", "名前", "🙂" * 50, "\u202e", "\udcff", "\udcff\udcfe", "x\ty", "a\nb", "\r", "x" * 100_000,
        "'; DROP TABLE agents; --", "{{ }}", "%s%n", "${HOME}", "$(id)", "..", "../../../../etc/passwd",
        "~nosuchuser/x", "~/no-such-file", "~", "/dev/zero", "/dev/null", "/proc/1/mem", "/proc/self/nonexistent", str(work / "dir"),
        str(work / "file"), str(work / "file" / "sub"), str(work / "unreadable"), str(work / "no-such"),
        str(work / "not-utf8"), str(work / "empty"), long_path,
        "file:/dev/zero", "file:", "file:" + str(work / "dir"), "file:" + str(work / "not-utf8"),
        "file:" + str(work / "unreadable"), "env:", "env:NO_SUCH_VAR", "env:" + "A" * 300, "aws:", "aws:x:y",
        "k8s:", "k8s:a/b/c", "k8s:/", "k8s:ns/name:key:extra", "vault:x", ":", "::", "a:b:c:d",
        "http://", "https://", "http://[::1", f"http://{CLOSED}", f"http://user:s3cret@{CLOSED}/?token=t",
        "ftp://x", "http://%zz", "http://127.0.0.1:99999", "http://127.0.0.1:-1", "//x", "postgresql://",
        f"postgresql://u:p@{CLOSED}/db?connect_timeout=1", "host=", "=", "a=b=c",
        "model,day", "model,,day", ",", "nope", "MODEL", "10,50", "10,10", "0,100", "101", "50,10", "-10",
        "1e3,2", "10;50", "a" * 300,
    ]


def _data_dir_texts(work: Path) -> list[str]:
    """Values for --data-dir that can never start a server (a creatable directory would run initdb)."""
    return ["/dev/zero", "/dev/null", str(work / "file"), str(work / "file" / "sub"), "/proc/self/x",
            "/proc/nonexistent/x", "/proc/\udcff/x", "/proc/" + "a/" * 3000]


@pytest.fixture(scope="module")
def work(tmp_path_factory) -> Path:
    work = tmp_path_factory.mktemp("hostile")
    (work / "dir").mkdir()
    (work / "file").write_text("not a directory\n")
    (work / "unreadable").write_text("secret")
    (work / "unreadable").chmod(0)
    (work / "not-utf8").write_bytes(b"\xff\xfe\x00 not utf-8 \x80")
    (work / "empty").write_text("")
    kubeconfig = work / "kubeconfig"
    kubeconfig.write_text(f"""apiVersion: v1
kind: Config
clusters: [{{name: c, cluster: {{server: "https://{CLOSED}", insecure-skip-tls-verify: true}}}}]
users: [{{name: u, user: {{token: t}}}}]
contexts: [{{name: ctx, context: {{cluster: c, user: u, namespace: default}}}}]
current-context: ctx
""")
    (work / "magent.yaml").write_text(f"""mistral:
  base_url: http://{CLOSED}
  timeout: 1
kubernetes:
  kubeconfig: {kubeconfig}
  request_timeout: 1s
store:
  database_url: postgresql://magent@{CLOSED}/magent?connect_timeout=1
aws:
  endpoint_url: http://{CLOSED}
  region: us-east-1
deploy:
  api_retry_window: 0
""")
    return work


@pytest.fixture
def unreachable_env(work, monkeypatch):
    # run() builds the root command at each call (a process runs one command); build it once here, commands loaded
    root, build = typer.main.get_command(app), typer.main.get_command
    monkeypatch.setattr(typer.main, "get_command", lambda typer_app: root if typer_app is app else build(typer_app))
    monkeypatch.setenv("MAGENT_CONFIG", str(work / "magent.yaml"))
    monkeypatch.setenv("KUBECONFIG", str(work / "kubeconfig"))
    monkeypatch.setenv("MISTRAL_API_KEY", "hostile-test-key-000000000000")
    # the environment wins over a file: with `--config` naming another file, still nothing reachable
    monkeypatch.setenv("MAGENT_MISTRAL_URL", f"http://{CLOSED}")
    monkeypatch.setenv("MAGENT_DATABASE_URL", f"postgresql://magent@{CLOSED}/magent?connect_timeout=1")
    monkeypatch.setenv("MAGENT_DATA_DIR", str(work / "file" / "data"))  # under a file: never created
    monkeypatch.setenv("AWS_ENDPOINT_URL", f"http://{CLOSED}")
    monkeypatch.setenv("AWS_MAX_ATTEMPTS", "1")
    monkeypatch.setenv("AWS_RETRY_MODE", "standard")
    monkeypatch.setenv("COLUMNS", "200")
    monkeypatch.chdir(work / "dir")
    return work


def _argv_strategy(path: tuple[str, ...], command, work: Path):
    typed = st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"), max_size=40)
    texts = st.sampled_from(_hostile_texts(work)) | typed
    data_dirs = st.sampled_from(_data_dir_texts(work))
    params = _valued(command.params)
    options = [p for p in params if p.opts[0].startswith("-")]
    arguments = [p for p in params if not p.opts[0].startswith("-")]

    def value_for(param):
        if param.name == "data_dir":
            return data_dirs
        return texts

    @st.composite
    def argv(draw):
        chosen = draw(st.lists(st.sampled_from(options), unique_by=lambda p: p.name, max_size=4)) if options else []
        args: list[str] = []
        for param in chosen:
            args += [param.opts[0], draw(value_for(param))]
        if arguments:
            args.append("--")  # values that look like options still reach the arguments (as `git -- path`)
        for param in arguments:
            args += [draw(texts) for _ in range(1 if param.nargs == 1 else draw(st.integers(1, 2)))]
        root = draw(st.lists(st.sampled_from(ROOT_OPTIONS), max_size=1))  # `magent --profile P deploy …`
        return [*(part for option in root for part in (option, draw(texts))), *path, *args]

    return argv()


def _run_captured(argv: list[str]) -> tuple[int, str]:
    stdout = io.TextIOWrapper(io.BytesIO(), encoding="utf-8", errors="strict")  # as a UTF-8 pipe
    stderr = io.TextIOWrapper(io.BytesIO(), encoding="utf-8", errors="backslashreplace")
    try:
        with redirect_stdout(stdout), redirect_stderr(stderr):
            code = run(argv)
    except BaseException:  # noqa: B036 - whatever escapes run() is a traceback the user would see
        return -1, traceback.format_exc()
    outputs = []
    for stream in (stdout, stderr):
        stream.flush()
        outputs.append(stream.buffer.getvalue().decode("utf-8", "replace"))
    return code, "".join(outputs)


@pytest.mark.parametrize("path,command", COMMANDS, ids=[" ".join(path) for path, _ in COMMANDS])
def test_hostile_flag_values_exit_documented_codes_without_traceback(path, command, unreachable_env):
    seen: list[int] = []

    @settings(max_examples=FEWER_EXAMPLES.get(path, EXAMPLES_PER_COMMAND), deadline=None, database=None,
              derandomize=RANDOM_VAR not in os.environ,
              suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
    @given(argv=_argv_strategy(path, command, unreachable_env))
    def hostile(argv):
        code, output = _run_captured(argv)
        seen.append(code)
        assert code in DOCUMENTED_EXIT_CODES and "Traceback (most recent call last)" not in output, (argv, output)

    hostile()
    assert seen  # the strategy drew cases


FOUND_BY_THE_SWEEP = [  # each was a traceback; the exit code each gives now
    (["preflight", "attest", "x", "--by", "y", "--checklist", "env:" + "A" * 300], 2),  # ENAMETOOLONG
    (["runbook", "a" * 300], 2),
    (["runbook", "--dir", "a/" * 3000], 2),
    (["db", "status", "--data-dir", "/proc/" + "a/" * 3000], 1),  # "no database at …"
    (["db", "stop", "--data-dir", "\udcff/x"], 2),  # `$'\xff/x'`: not UTF-8, unprintable
    (["key", "verify", "--timeout", "inf"], 2),  # OverflowError
    (["preflight", "attest", "x", "--by", "y", "--checklist", "~nosuchuser/x"], 2),  # "Could not determine home"
    (["--config", "~nosuchuser/magent.yaml", "config", "show"], 2),
    (["--config", "9" * 5000, "config", "show"], 2),
    (["usage", "report", "--pricing", "~nosuchuser/prices.yaml"], 2),
    (["usage", "report", "--textfile", "~nosuchuser/usage.prom"], 2),
    (["key", "verify", "--key-from", "file:~nosuchuser/key"], 2),
]


@pytest.mark.parametrize("argv,expected", FOUND_BY_THE_SWEEP, ids=lambda v: repr(v)[:40] if isinstance(v, list) else None)
def test_values_the_sweep_found(argv, expected, unreachable_env):
    code, output = _run_captured(argv)
    assert "Traceback (most recent call last)" not in output and code == expected, output
