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


class Cluster:
    """A PostgreSQL cluster in ``workdir`` on a fixed loopback port: init once, start/stop at will."""

    def __init__(self, workdir: Path, bindir: Path | None = None) -> None:
        self.workdir = workdir
        self.bindir = bindir or _bindir()
        self.as_postgres = os.geteuid() == 0
        self.port = _free_port()
        self.data = workdir / "data"

    @property
    def url(self) -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/postgres"

    def init(self) -> Cluster:
        self.workdir.mkdir(parents=True, exist_ok=True)
        if self.as_postgres:
            shutil.chown(self.workdir, "postgres", "postgres")
        _run([str(self.bindir / "initdb"), "-D", str(self.data), "-U", "postgres", "--auth=trust",
              "-E", "UTF8", "--locale=C.UTF-8", "--no-sync"], self.as_postgres)
        return self

    def start(self) -> Cluster:
        options = f"-p {self.port} -k {self.workdir} -c listen_addresses=127.0.0.1 -c fsync=off"
        # -l keeps the postmaster from holding our stdout pipe open.
        _run([str(self.bindir / "pg_ctl"), "-D", str(self.data), "-l", str(self.workdir / "server.log"),
              "-w", "-o", options, "start"], self.as_postgres)
        return self

    def stop(self) -> None:
        kwargs: dict = {"user": "postgres", "group": "postgres"} if self.as_postgres else {}
        subprocess.run([str(self.bindir / "pg_ctl"), "-D", str(self.data), "-m", "immediate", "stop"],
                       capture_output=True, **kwargs)

    def destroy(self) -> None:
        self.stop()
        shutil.rmtree(self.workdir, ignore_errors=True)


@contextmanager
def throwaway_cluster() -> Iterator[str]:
    """Start a fresh cluster on a free loopback port; yield its SQLAlchemy URL; destroy it."""
    cluster = Cluster(Path(tempfile.mkdtemp(prefix="newscrawl-pg-"))).init().start()
    try:
        yield cluster.url
    finally:
        cluster.destroy()


def main(argv: list[str]) -> int:
    """``python -m tests.support.postgres start|stop DIR``: a cluster outliving this process (for CI)."""
    if len(argv) != 2 or argv[0] not in {"start", "stop"}:
        print("usage: python -m tests.support.postgres start|stop DIR", file=sys.stderr)
        return 2
    cluster = Cluster(Path(argv[1]))
    if argv[0] == "stop":
        cluster.destroy()
        return 0
    print(cluster.init().start().url)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
