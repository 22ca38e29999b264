"""JSON encoded once, fast: orjson for the answers that are large and read often (the wall map's).

DRF's JSONRenderer walks the answer with the standard library's encoder (about 15 ms for a wall
snapshot of 150 KB); orjson writes the same JSON in well under one. It also places text that
PostgreSQL has already written as JSON (`orjson.Fragment`: a route's coordinates) without parsing
it again. Lazy translations, decimals and other values orjson does not know are turned into text.
"""

from __future__ import annotations

from decimal import Decimal

import orjson
from django.utils.functional import Promise
from rest_framework.renderers import JSONRenderer

CONTENT_TYPE = "application/json"


def _default(value):
    if isinstance(value, Promise):  # gettext_lazy
        return str(value)
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, set | frozenset | tuple):
        return list(value)
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")


def dumps(data) -> bytes:
    """`data` as UTF-8 JSON (no spaces, non-ASCII kept as it is)."""
    return orjson.dumps(data, default=_default, option=orjson.OPT_NON_STR_KEYS)


class FastJSONRenderer(JSONRenderer):
    """DRF's JSON renderer with orjson underneath (same media type, same output as JSON)."""

    def render(self, data, accepted_media_type=None, renderer_context=None) -> bytes:
        if data is None:
            return b""
        return dumps(data)


def accepts_gzip(request) -> bool:
    """Whether the request's Accept-Encoding takes gzip (accepts_gzip_header)."""
    return accepts_gzip_header(request.headers.get("Accept-Encoding", ""))


def accepts_gzip_header(accept_encoding: str) -> bool:
    """Whether an Accept-Encoding takes gzip: named (or `*`) with a weight above 0 (RFC 9110
    12.5.3; a bare search for the word would also match `gzip;q=0`, "anything but gzip")."""
    weights: dict[str, float] = {}
    for item in accept_encoding.split(","):
        coding, *params = (part.strip().lower() for part in item.split(";"))
        weight = 1.0
        for param in params:
            name, _sep, value = param.partition("=")
            if name.strip() == "q":
                try:
                    weight = float(value)
                except ValueError:
                    weight = 0.0
        if coding:
            weights[coding] = weight
    return weights.get("gzip", weights.get("x-gzip", weights.get("*", 0.0))) > 0
