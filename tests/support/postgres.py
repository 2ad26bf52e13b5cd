"""A throwaway PostgreSQL cluster for the test suite (initdb + pg_ctl as the postgres user)."""

from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


def _bindir() -> Path:
    explicit = os.environ.get("NEWSCRAWL_PG_BINDIR")
    if explicit:
        return Path(explicit)
    found = shutil.which("pg_ctl")
    if found:
        return Path(found).parent
    candidates = sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"))
    if not candidates:
        raise RuntimeError(
            "PostgreSQL server binaries not found: install postgresql or set NEWSCRAWL_PG_BINDIR "
            "(or NEWSCRAWL_TEST_PG_URL to use a running server)"
        )
    return Path(candidates[-1]).parent


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _run(args: list[str], as_postgres: bool) -> None:
    kwargs: dict = {"check": True, "capture_output": True, "text": True}
    if as_postgres:
        # initdb and postgres refuse to run as root.
        kwargs.update(user="postgres", group="postgres")
    try:
        subprocess.run(args, **kwargs)
    except subprocess.CalledProcessError as exc:
        raise RuntimeError(f"{args[0]} failed: {exc.stderr or exc.stdout}") from exc


def _start(bindir: Path, workdir: Path, as_postgres: bool) -> str:
    """initdb + start a cluster in ``workdir`` on a free loopback port; return its URL."""
    data, port = workdir / "data", _free_port()
    _run([str(bindir / "initdb"), "-D", str(data), "-U", "postgres", "--auth=trust",
          "-E", "UTF8", "--locale=C.UTF-8", "--no-sync"], as_postgres)
    options = f"-p {port} -k {workdir} -c listen_addresses=127.0.0.1 -c fsync=off"
    # -l keeps the postmaster from holding our stdout pipe open.
    _run([str(bindir / "pg_ctl"), "-D", str(data), "-l", str(workdir / "server.log"),
          "-w", "-o", options, "start"], as_postgres)
    return f"postgresql+psycopg://postgres@127.0.0.1:{port}/postgres"


def _stop(bindir: Path, workdir: Path, as_postgres: bool) -> None:
    subprocess.run([str(bindir / "pg_ctl"), "-D", str(workdir / "data"), "-m", "immediate", "stop"],
                   capture_output=True, **({"user": "postgres", "group": "postgres"} if as_postgres else {}))
    shutil.rmtree(workdir, ignore_errors=True)


@contextmanager
def throwaway_cluster() -> Iterator[str]:
    """Start a fresh cluster on a free loopback port; yield its SQLAlchemy URL; destroy it."""
    bindir = _bindir()
    as_postgres = os.geteuid() == 0
    workdir = Path(tempfile.mkdtemp(prefix="newscrawl-pg-"))
    if as_postgres:
        shutil.chown(workdir, "postgres", "postgres")
    url = _start(bindir, workdir, as_postgres)
    try:
        yield url
    finally:
        _stop(bindir, workdir, as_postgres)


def main(argv: list[str]) -> int:
    """``python -m tests.support.postgres start|stop DIR``: a cluster outliving this process (for CI)."""
    if len(argv) != 2 or argv[0] not in {"start", "stop"}:
        print("usage: python -m tests.support.postgres start|stop DIR", file=sys.stderr)
        return 2
    workdir = Path(argv[1])
    as_postgres = os.geteuid() == 0
    bindir = _bindir()
    if argv[0] == "stop":
        _stop(bindir, workdir, as_postgres)
        return 0
    workdir.mkdir(parents=True, exist_ok=True)
    if as_postgres:
        shutil.chown(workdir, "postgres", "postgres")
    print(_start(bindir, workdir, as_postgres))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
