"""The crawl lock: one per database, whatever the URL's spelling; exit 4 while another crawl holds it."""

from __future__ import annotations

import errno
import fcntl
import hashlib
import os
import stat
from collections.abc import Iterator, Sequence
from contextlib import AbstractContextManager, ExitStack, contextmanager, nullcontext, suppress
from datetime import datetime, timezone
from pathlib import Path

from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, SQLAlchemyError

from newscrawl.cli import EXIT_DATABASE, EXIT_LOCKED, CommandError
from newscrawl.db.engine import create_database_engine, safe_url
from newscrawl.exceptions import DatabaseUnavailable, first_line
from newscrawl.holder import current, printable

#: The advisory lock key (a signed 64-bit number). PostgreSQL scopes advisory locks to the
#: database they are taken in, so this one key means "a crawl of this database".
ADVISORY_KEY = int.from_bytes(hashlib.sha256(b"newscrawl crawl").digest()[:8], "big", signed=True)
#: Marks the lock's connection in ``pg_stat_activity`` (at most 63 bytes are kept).
APPLICATION_NAME = "newscrawl crawl"

_HOLDER_SQL = text(
    "SELECT a.application_name, l.pid FROM pg_locks l"
    " LEFT JOIN pg_stat_activity a ON a.pid = l.pid"
    " WHERE l.locktype = 'advisory' AND l.granted AND l.objsubid = 1"
    " AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())"
    " AND l.classid::bigint = :high AND l.objid::bigint = :low"
)


def _holder_line() -> str:
    started = datetime.now(timezone.utc).isoformat(timespec="seconds")
    return f"{current().describe()} since {started}"


def default_lock_path(database_url: str) -> Path | None:
    """The lock file for ``database_url``, or None when the database needs none or locks itself.

    SQLite: beside the file's real path (a symlinked path and its target share one lock);
    an in-memory database: none (no other process can reach it); PostgreSQL: none (an
    advisory lock in the database, see :func:`advisory_lock`); any other backend: a file
    named after the URL in this user's own state folder.
    """
    try:
        url = make_url(database_url)
    except ArgumentError:
        return None  # open_database has already refused it
    backend = url.get_backend_name()
    if backend == "sqlite":
        name = url.database
        if not name or name == ":memory:" or name.startswith("file:"):
            return None
        real = Path(name).resolve()
        return real.with_name(real.name + ".lock")
    if backend == "postgresql":
        return None
    digest = hashlib.sha256(database_url.encode()).hexdigest()[:16]
    return _private_folder() / f"{digest}.lock"


def _private_folder() -> Path:
    """``$XDG_RUNTIME_DIR/newscrawl`` or ``~/.cache/newscrawl``: made 0700, refused when others may write it."""
    base = os.environ.get("XDG_RUNTIME_DIR") or str(Path.home() / ".cache")
    folder = Path(base) / "newscrawl"
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    info = folder.lstat()
    if not stat.S_ISDIR(info.st_mode) or info.st_uid != os.geteuid() or info.st_mode & 0o022:
        raise CommandError(f"lock folder {folder} is not a private folder of this user; "
                           "fix it or pass --lock-file", EXIT_LOCKED)
    return folder


def _open_lock_file(path: Path) -> int:
    # O_NOFOLLOW: a symlink planted at the lock's name is never followed; O_NONBLOCK: a planted
    # FIFO does not hang the open.
    flags = os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC
    try:
        fd = os.open(path, flags, 0o644)
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            reason = "is a symbolic link; refusing to follow it (remove it)"
        else:
            reason = f"cannot be opened: {exc.strerror}"
        raise CommandError(f"lock file {printable(str(path))} {reason}; nothing was crawled", EXIT_LOCKED) from None
    if not stat.S_ISREG(os.fstat(fd).st_mode):
        os.close(fd)
        raise CommandError(f"lock file {printable(str(path))} is not a regular file (remove it); "
                           "nothing was crawled", EXIT_LOCKED)
    return fd


@contextmanager
def crawl_lock(path: Path) -> Iterator[None]:
    """An exclusive, non-blocking lock on the file ``path``; :class:`CommandError` (exit 4) when held.

    The file says who holds it. It is rewritten only when it is a plain file of this user
    with one link: someone else's file (or a hard link to one) is locked but left as it is.
    """
    fd = _open_lock_file(path)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(fd, 512, 0).decode("utf-8", "replace").strip() or "unknown"
            raise CommandError(f"another crawl is running (lock {printable(str(path))} held by "
                               f"{printable(holder)}); exiting", EXIT_LOCKED) from None
        info = os.fstat(fd)
        if info.st_uid == os.geteuid() and info.st_nlink == 1:
            os.ftruncate(fd, 0)
            os.pwrite(fd, _holder_line().encode(), 0)
        yield
    finally:
        os.close(fd)


def spider_advisory_key(spider: str) -> int:
    """The advisory lock key of crawls of ``spider`` (a signed 64-bit number)."""
    return int.from_bytes(hashlib.sha256(f"newscrawl crawl {spider}".encode()).digest()[:8], "big", signed=True)


@contextmanager
def advisory_lock(database_url: str, spiders: Sequence[str] = ()) -> Iterator[None]:
    """PostgreSQL: ``pg_try_advisory_lock`` on a connection of its own, held for the crawl.

    One lock per spider in ``spiders`` (so cron on two machines never crawls one spider twice at
    once, while different spiders may run side by side); with no spider, one lock for the whole
    database. Advisory locks belong to the database they are taken in, so every spelling of its
    URL (``localhost`` or ``127.0.0.1``, a socket, another user) meets the same lock. Any
    user who may connect can take one; no privilege is needed. The connection's
    ``application_name`` says who holds it (``pg_stat_activity`` shows it to every user).
    """
    keys = {spider: spider_advisory_key(spider) for spider in spiders} or {"": ADVISORY_KEY}
    taken: list[int] = []
    holder = None
    try:
        engine = create_database_engine(database_url)
        connection = engine.connect().execution_options(isolation_level="AUTOCOMMIT")
        name = f"{APPLICATION_NAME} {current().describe()}"[:63]
        connection.execute(text("SELECT set_config('application_name', :name, false)"), {"name": name})
        for spider, key in keys.items():
            if connection.execute(text("SELECT pg_try_advisory_lock(:key)"), {"key": key}).scalar():
                taken.append(key)
            else:
                holder = (spider, _advisory_holder(connection, key))
                break
    except (DatabaseUnavailable, SQLAlchemyError) as exc:
        raise CommandError(f"cannot take the crawl lock in {safe_url(database_url)}: {first_line(exc)}",
                           EXIT_DATABASE) from None
    try:
        if holder is not None:
            of = f" of {printable(holder[0])}" if holder[0] else ""
            raise CommandError(f"another crawl is running (advisory lock{of} in {safe_url(database_url)} held "
                               f"by {holder[1]}); exiting", EXIT_LOCKED)
        yield
    finally:
        with suppress(SQLAlchemyError):  # a lost connection took its session's locks with it
            for key in taken:
                connection.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": key})
        connection.close()
        engine.dispose()  # closes the pooled connection itself


def _advisory_holder(connection: object, key: int = ADVISORY_KEY) -> str:
    unsigned = key & 0xFFFF_FFFF_FFFF_FFFF
    row = connection.execute(_HOLDER_SQL, {"high": unsigned >> 32, "low": unsigned & 0xFFFF_FFFF}).first()  # type: ignore[attr-defined]
    if row is None:
        return "a session that just ended"
    name, backend = row
    return printable(f"{name or 'a session'} (server process {backend})")


def database_lock(
    database_url: str, lock_file: str | None = None, spiders: Sequence[str] = ()
) -> AbstractContextManager[None]:
    """The lock a crawl of ``database_url`` takes: ``lock_file`` if given, else the database's own.

    On PostgreSQL the per-spider advisory locks are taken in any case, ``lock_file`` or not:
    a lock file is local to one machine, and cron on another would not see it.
    """
    postgresql = make_url(database_url).get_backend_name() == "postgresql"
    if lock_file and postgresql:
        return _both(crawl_lock(Path(lock_file)), advisory_lock(database_url, spiders))
    if lock_file:
        return crawl_lock(Path(lock_file))
    if postgresql:
        return advisory_lock(database_url, spiders)
    path = default_lock_path(database_url)
    return crawl_lock(path) if path is not None else nullcontext()


@contextmanager
def _both(first: AbstractContextManager[None], second: AbstractContextManager[None]) -> Iterator[None]:
    with ExitStack() as stack:
        stack.enter_context(first)
        stack.enter_context(second)
        yield
