"""WARC archive of what a crawl fetched: where it lives, the request meta keys its components share."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy.engine import make_url

#: Request meta key set by the archive (and by a replay): ``(warc_file, offset)`` of the
#: response record, copied onto the article by :class:`~newscrawl.archive.location.ArchiveLocationMiddleware`.
META_WARC = "newscrawl_warc"
#: Request meta key of a replayed request: ``(path, offset)`` of the WARC record to answer it with.
META_REPLAY = "newscrawl_replay"

#: Folder name of the archive beside a SQLite file (or in the working directory).
ARCHIVE_FOLDER = "newscrawl-archive"


def default_archive_dir(database_url: str) -> Path:
    """Beside a SQLite file (one archive per database), else ``newscrawl-archive`` in the working directory."""
    url = make_url(database_url)
    if url.get_backend_name() == "sqlite" and url.database and url.database != ":memory:":
        return Path(url.database).resolve().parent / ARCHIVE_FOLDER
    return Path(ARCHIVE_FOLDER).resolve()


def record_path(archive_dir: Path, warc_file: str) -> Path:
    """The file an article's ``warc_file`` names: relative to the archive folder (a crawl's own
    files), or absolute (an imported file, read where it was)."""
    return archive_dir / warc_file
