"""Canonical article URLs, so one article reached through many URL spellings is stored once."""

from __future__ import annotations

from functools import cache
from typing import TYPE_CHECKING
from urllib.parse import SplitResult, parse_qsl, quote, unquote, urlencode, urlsplit, urlunsplit

if TYPE_CHECKING:
    import tldextract

_DEFAULT_PORTS = {"http": 80, "https": 443}
# RFC 3986 pchar minus "/" (handled by splitting): a decoded apostrophe stays raw, a curly
# quote becomes %E2%80%99, so every spelling of a path re-encodes to one string.
_PATH_SAFE = "-._~!$&'()*+,;=:@"
_TRACKING_PARAMS = {"fbclid", "gclid"}
#: Platforms that give every publication its own subdomain but are not on the Public Suffix
#: List (github.io, blogspot.com, netlify.app… are): each tenant is a site of its own.
SHARED_HOSTS = ("substack.com", "wordpress.com", "ghost.io", "tumblr.com", "medium.com", "beehiiv.com")


def _netloc(split: SplitResult) -> str:
    """Return the lower-cased host with any non-default port.

    User info (``user:pass@``) is dropped: credentials never belong in a stored article URL.
    """
    host = split.hostname or ""
    if ":" in host:  # an IPv6 literal lost its brackets in .hostname
        host = f"[{host}]"
    try:
        port = split.port
    except ValueError:  # a non-numeric port: keep what was written rather than fail
        return split.netloc.rpartition("@")[2].lower()
    netloc = host
    if port is not None and port != _DEFAULT_PORTS.get(split.scheme.lower()):
        netloc += f":{port}"
    return netloc


def _canonical_path(path: str) -> str:
    """Percent-decode the path (UTF-8) and re-encode it one way; "" becomes "/"."""
    # Segment by segment, so an encoded "%2F" inside a segment is not turned into a separator.
    segments = (
        quote(unquote(segment, errors="surrogateescape"), safe=_PATH_SAFE, errors="surrogateescape")
        for segment in path.split("/")
    )
    return "/".join(segments) or "/"


def _canonical_query(query: str) -> str:
    """Sort the query's parameters and drop the tracking ones."""
    params = [
        (key, value)
        for key, value in parse_qsl(query, keep_blank_values=True)
        if not key.lower().startswith("utm_") and key.lower() not in _TRACKING_PARAMS
    ]
    return urlencode(sorted(params))


def canonicalize_url(url: str, keep_query: bool = False) -> str:
    """Return the canonical form of ``url``: no fragment, no query unless ``keep_query``."""
    split = urlsplit(url.strip())
    return urlunsplit(
        (
            split.scheme.lower(),
            _netloc(split),
            _canonical_path(split.path),
            _canonical_query(split.query) if keep_query else "",
            "",
        )
    )


def split_http_url(url: str) -> SplitResult | None:
    """The parts of an absolute http(s) URL with a host and a valid port, else None."""
    try:
        split = urlsplit(url.strip())
        split.port  # noqa: B018 (raises ValueError for a port out of range)
    except ValueError:  # e.g. an unbalanced "[" in the host
        return None
    if split.scheme.lower() not in _DEFAULT_PORTS or not split.hostname:
        return None
    return split


def is_http_url(url: str) -> bool:
    """Tell whether ``url`` is an absolute http(s) URL with a host."""
    return split_http_url(url) is not None


def url_path(url: str) -> str:
    """Return the percent-decoded path of ``url`` ("/" when empty)."""
    return unquote(urlsplit(url.strip()).path) or "/"


@cache
def _public_suffixes() -> tldextract.TLDExtract:
    # Imported on first use (~0.1 s): only the generic spider asks for registrable domains.
    import tldextract

    # The list bundled with tldextract only: no network fetch, no cache file written.
    return tldextract.TLDExtract(
        suffix_list_urls=(), cache_dir=None, include_psl_private_domains=True, extra_suffixes=SHARED_HOSTS
    )


def registrable_domain(host: str) -> str:
    """The site ``host`` belongs to: its registrable domain by the Public Suffix List, private
    suffixes and :data:`SHARED_HOSTS` included (``www.bbc.co.uk`` -> ``bbc.co.uk``,
    ``alice.substack.com`` stays itself); the host itself when it has no public suffix (an IP
    address, ``localhost``)."""
    host = host.lower().rstrip(".")
    return _public_suffixes()(host).top_domain_under_public_suffix or host


def rebase(url: str, origin_of: str) -> str:
    """``url``'s path and query on the scheme and host of ``origin_of`` (a feed on a mirror)."""
    target, origin = urlsplit(url), urlsplit(origin_of)
    return urlunsplit((origin.scheme, origin.netloc, target.path, target.query, ""))
