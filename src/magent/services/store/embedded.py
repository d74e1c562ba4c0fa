"""The embedded Postgres: one server per data directory, on a Unix socket only, started on demand and reused.

`pgserver` (real Postgres 16 binaries in a wheel) is used when it is installed; otherwise `initdb` and
`pg_ctl` found on PATH. The server keeps running after a command so that the next one connects at once;
`magent db stop` (`stop_embedded`) stops it cleanly.

Two processes sharing one data directory never start two servers: starting is serialised by an exclusive
`fcntl` lock on `<data dir>/store.lock`, and a running server is found through its `postmaster.pid`.
The data directory is private (0700); as root, Postgres runs as an unprivileged system user, which needs
to traverse it, so it is 0711 (no listing, no reading) in that case.
"""

from __future__ import annotations

import atexit
import contextlib
import fcntl
import hashlib
import logging
import os
import pwd
import shutil
import subprocess
import tempfile
import warnings
from collections.abc import Iterator, Mapping
from pathlib import Path

from magent.core.errors import ConfigError, Unreachable
from magent.core.paths import expand_user
from magent.services.store.interrupted_start import begin_first_start, clear_interrupted_start, first_start_done

PGDATA_NAME = "postgres"
LOCK_NAME = "store.lock"
_SOCKET_PATH_MAX = 100  # sun_path is 108 bytes on Linux, 104 on macOS
_START_TIMEOUT_S = 30
_ROOT_RUN_AS = ("postgres", "pgserver")  # system users that can own the cluster when we are root


def default_data_dir(env: Mapping[str, str] | None = None) -> Path:
    """`$XDG_DATA_HOME/magent`, else `~/.local/share/magent`."""
    env = os.environ if env is None else env
    base = env.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return expand_user(base) / "magent"


def resolve_data_dir(configured: str | None) -> Path:
    return expand_user(configured).resolve() if configured else default_data_dir().resolve()


def ensure_running(data_dir: Path) -> str:
    """Start (or find) the server for `data_dir`; returns its libpq URL (Unix socket, no password)."""
    data_dir = prepare_data_dir(data_dir)
    pgdata = data_dir / PGDATA_NAME
    with data_dir_lock(data_dir):
        clear_interrupted_start(pgdata)  # an orphaned initdb, a half-made cluster, a dead server's pid file
        begin_first_start(pgdata)
        try:
            uri = _start_with_pgserver(pgdata)
        except ImportError:
            uri = _start_with_pg_ctl(pgdata)
        first_start_done(pgdata)
    _tighten(data_dir)
    return uri


def database_exists(data_dir: Path) -> bool:
    """Whether `data_dir` holds an initialised cluster (looks only: creates nothing)."""
    try:
        return (data_dir / PGDATA_NAME / "PG_VERSION").is_file()
    except OSError:  # a path too long for the file system: nothing can be there
        return False


def running_uri(data_dir: Path) -> str | None:
    """The URL of the server running for `data_dir`, or None (never starts one)."""
    info = _postmaster_info(data_dir / PGDATA_NAME)
    return _uri_from_info(info) if info else None


def stop_embedded(data_dir: Path) -> bool:
    """Stop the server of `data_dir` (fast shutdown: sessions are ended, data is safe). False if none ran."""
    pgdata = data_dir / PGDATA_NAME
    with data_dir_lock(prepare_data_dir(data_dir)):
        if _postmaster_info(pgdata) is None:
            return False
        _run([str(_binary("pg_ctl")), "-D", str(pgdata), "-w", "-m", "fast", "stop"], _run_as(pgdata))
        _forget_pgserver_instance(pgdata)
        return True


def prepare_data_dir(data_dir: Path) -> Path:
    data_dir = expand_user(data_dir).resolve()
    try:
        data_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    except OSError as exc:
        raise ConfigError(f"cannot create the data directory {data_dir}: {exc.strerror}",
                          hint="set --data-dir / MAGENT_DATA_DIR to a writable directory") from None
    _tighten(data_dir)
    return data_dir


@contextlib.contextmanager
def data_dir_lock(data_dir: Path) -> Iterator[None]:
    """Exclusive lock across processes, held while a server is found or started."""
    with open(data_dir / LOCK_NAME, "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _tighten(data_dir: Path) -> None:
    data_dir.chmod(0o711 if os.geteuid() == 0 else 0o700)


# --- pgserver -------------------------------------------------------------------------------------------


def _start_with_pgserver(pgdata: Path) -> str:
    with warnings.catch_warnings():  # platformdirs warns when XDG_RUNTIME_DIR is unset; harmless here
        warnings.simplefilter("ignore")
        import pgserver

    _forget_pgserver_instance(pgdata, only_if_stopped=True)
    pgserver_log = logging.getLogger("pgserver")
    if not pgserver_log.isEnabledFor(logging.DEBUG):  # its errors dump the whole server log; the hint names it
        pgserver_log.setLevel(logging.CRITICAL)
    try:
        # cleanup_mode=None: keep the server running for the next command (stopped by `magent db stop`)
        server = pgserver.get_server(pgdata, cleanup_mode=None)
    except (subprocess.SubprocessError, OSError, AssertionError) as exc:
        raise _start_failed(pgdata, exc) from None
    return server.get_uri()


def _forget_pgserver_instance(pgdata: Path, only_if_stopped: bool = False) -> None:
    """pgserver caches one handle per data directory per process; drop it when its server is gone."""
    try:
        from pgserver import PostgresServer
    except ImportError:
        return
    instance = PostgresServer._instances.get(pgdata)
    if instance is None:
        return
    if only_if_stopped and _postmaster_info(pgdata) is not None:
        return
    PostgresServer._instances.pop(pgdata, None)
    atexit.unregister(instance._cleanup)


# --- initdb / pg_ctl on PATH ----------------------------------------------------------------------------


def _start_with_pg_ctl(pgdata: Path) -> str:
    run_as = _run_as(pgdata)
    if not (pgdata / "PG_VERSION").exists():
        pgdata.mkdir(mode=0o700, exist_ok=True)
        if run_as:
            shutil.chown(pgdata, run_as, run_as)
        _run([str(_binary("initdb")), "-D", str(pgdata), "--auth=trust", "--auth-local=trust",
              "--encoding=utf8", "-U", "postgres"], run_as)
    if _postmaster_info(pgdata) is None:
        socket_dir = _socket_dir(pgdata, run_as)
        _run([str(_binary("pg_ctl")), "-D", str(pgdata), "-w", "-t", str(_START_TIMEOUT_S),
              "-l", str(pgdata / "log"), "-o", f"-h '' -k {socket_dir}", "start"], run_as)
    info = _postmaster_info(pgdata)
    if info is None:
        raise _start_failed(pgdata, RuntimeError("the server did not start"))
    return _uri_from_info(info)


def _binary(name: str) -> Path:
    """pgserver's bundled binary when installed, else the one on PATH."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            from pgserver._commands import POSTGRES_BIN_PATH
        return POSTGRES_BIN_PATH / name
    except ImportError:
        found = shutil.which(name)
    if not found:
        raise ConfigError(
            f"no embedded Postgres available: pgserver is not installed and {name} is not on PATH",
            hint="set MAGENT_DATABASE_URL to a Postgres URL, or install pgserver (pip install pgserver) or Postgres",
        )
    return Path(found)


def _run_as(pgdata: Path) -> str | None:
    """Postgres refuses to run as root: when we are root, run it as the owner of the cluster."""
    if os.geteuid() != 0:
        return None
    if pgdata.exists() and pgdata.stat().st_uid != 0:
        return pwd.getpwuid(pgdata.stat().st_uid).pw_name
    for name in _ROOT_RUN_AS:
        with contextlib.suppress(KeyError):
            return pwd.getpwnam(name).pw_name
    raise ConfigError("the embedded Postgres cannot run as root and no 'postgres' system user exists",
                      hint="run magent as a normal user, or set MAGENT_DATABASE_URL")


def _socket_dir(pgdata: Path, run_as: str | None) -> Path:
    """The data directory itself, unless its path is too long for a Unix socket name."""
    if len(str(pgdata / ".s.PGSQL.5432")) <= _SOCKET_PATH_MAX:
        return pgdata
    digest = hashlib.sha256(str(pgdata).encode()).hexdigest()[:12]
    short = Path(tempfile.gettempdir()) / f"magent-pg-{os.geteuid()}-{digest}"
    short.mkdir(mode=0o700, exist_ok=True)
    if run_as:
        shutil.chown(short, run_as, run_as)
    return short


def _run(command: list[str], run_as: str | None) -> None:
    try:
        subprocess.run(command, check=True, capture_output=True, text=True, timeout=_START_TIMEOUT_S + 10,
                       user=run_as, cwd="/")
    except subprocess.CalledProcessError as exc:
        detail = (exc.stderr or exc.stdout or "").strip().splitlines()
        raise Unreachable(f"{Path(command[0]).name} failed: {detail[-1] if detail else exc}",
                          hint="see the server log in the data directory (postgres/log)") from None
    except (subprocess.TimeoutExpired, OSError) as exc:
        raise Unreachable(f"{Path(command[0]).name} failed: {exc}") from None


# --- postmaster.pid -------------------------------------------------------------------------------------


def _postmaster_info(pgdata: Path) -> dict[str, str] | None:
    """Socket dir and port of a live server, from postmaster.pid; None when no server runs there."""
    try:
        lines = (pgdata / "postmaster.pid").read_text().splitlines()
    except OSError:
        return None
    if len(lines) < 8 or not lines[0].strip().isdigit() or lines[7].strip() != "ready":
        return None
    try:
        os.kill(int(lines[0]), 0)
    except ProcessLookupError:
        return None
    except PermissionError:
        pass  # alive, owned by another user
    return {"socket_dir": lines[4].strip(), "port": lines[3].strip()}


def _uri_from_info(info: dict[str, str]) -> str:
    return f"postgresql://postgres:@/postgres?host={info['socket_dir']}&port={info['port']}"


def _start_failed(pgdata: Path, exc: BaseException) -> Unreachable:
    if isinstance(exc, subprocess.CalledProcessError):
        reason = f"{Path(str(exc.cmd[0])).name} exited with status {exc.returncode}"
    elif isinstance(exc, AssertionError):  # pgserver's own checks: their text is pgserver's internals
        reason = "the data directory is in a state pgserver does not handle"
    else:
        reason = str(exc)
    return Unreachable(f"cannot start the embedded Postgres in {pgdata}: {reason}",
                       hint="see postgres/log in the data directory, or set MAGENT_DATABASE_URL")
