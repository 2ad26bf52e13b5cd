"""JSON codec for requests kept in Redis (scrapy-redis' default is pickle: code from the network)."""

from __future__ import annotations

import base64
import json
from typing import Any

_BYTES = "$b"
_PAIRS = "$d"


def _plain(value: Any) -> Any:
    if isinstance(value, bytes):
        return {_BYTES: base64.b64encode(value).decode("ascii")}
    if isinstance(value, dict):
        if all(isinstance(key, str) and not key.startswith("$") for key in value):
            return {key: _plain(item) for key, item in value.items()}
        return {_PAIRS: [[_plain(key), _plain(item)] for key, item in value.items()]}
    if isinstance(value, (list, tuple)):
        return [_plain(item) for item in value]
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    raise TypeError(f"cannot put a {type(value).__name__} in a queued request: {value!r}")


def _restore(value: Any) -> Any:
    if isinstance(value, list):
        return [_restore(item) for item in value]
    if isinstance(value, dict):
        if _BYTES in value and len(value) == 1:
            return base64.b64decode(value[_BYTES])
        if _PAIRS in value and len(value) == 1:
            return {_restore(key): _restore(item) for key, item in value[_PAIRS]}
        return {key: _restore(item) for key, item in value.items()}
    return value


def dumps(obj: Any) -> str:
    """``Request.to_dict()`` output as JSON text; bytes (headers, bodies) base64-wrapped."""
    return json.dumps(_plain(obj), separators=(",", ":"))


def loads(text: str | bytes) -> Any:
    """The inverse of :func:`dumps`."""
    return _restore(json.loads(text))
