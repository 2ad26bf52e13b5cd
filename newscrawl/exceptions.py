"""Typed drop reasons (each class name becomes an ``item_dropped_reasons_count/<Name>`` stat) and errors."""

from scrapy.exceptions import DropItem


class ArticleDropped(DropItem):
    """Base class of every reason newscrawl drops an article."""


class ExpiredArticle(ArticleDropped):
    """The site replaced the article's body with an expiry notice."""


class MissingField(ArticleDropped):
    """A required field (url, title, body or published date) is absent."""


class EmptyBody(ArticleDropped):
    """Nothing of the body is left after boilerplate removal."""


class UnparseableDate(ArticleDropped):
    """The page gives a publication date that cannot be read."""


class ImplausibleDate(ArticleDropped):
    """The publication date lies in the future or before the earliest accepted year."""


class DuplicateUrl(ArticleDropped):
    """The canonical URL was already processed in this run."""


class DuplicateContent(ArticleDropped):
    """An article with the same title and body was already processed in this run."""


class StoreFailed(ArticleDropped):
    """The store can neither write nor spool articles (e.g. a full disk): the crawl is stopping."""


class DatabaseUnavailable(RuntimeError):
    """The configured database cannot be reached or migrated."""


class SpoolWriteError(RuntimeError):
    """A spool file cannot be written (a full disk, a read-only one); the message names the folder and why."""


class Mojibake(ArticleDropped):
    """The text holds U+FFFD or UTF-8 read as Latin-1/Windows-1252 ("Ã©", "â€™"): a wrong charset."""



def first_line(exc: BaseException) -> str:
    """The first non-blank line of an error's message, ``""`` when it has none (pure).

    For a SQLAlchemy error that is the database driver's own message (``exc.orig``), without
    the SQL statement and parameters SQLAlchemy appends on later lines.
    """
    return first_text_line(str(getattr(exc, "orig", None) or exc))


def first_text_line(text: str) -> str:
    """The first non-blank line of ``text``, stripped; ``""`` when it has none (pure)."""
    return next((line.strip() for line in text.splitlines() if line.strip()), "")
