"""Checks of raw request input that every entry point shares (issue 11: bad input answers 4xx,
never 500).

Where each class of bad input is caught, once:

- NUL characters (U+0000): PostgreSQL text cannot hold them, so a NUL reaching a query is a 500.
  `config.middleware.BadInputMiddleware` refuses them in the URL path, the query string (names and
  values), every header (cookies, `Authorization`, `X-GridLink-Member`) and url-encoded POST
  forms; the parsers of `config.parsers` refuse them in JSON bodies (strings and keys, at any
  depth) and multipart fields. Lone UTF-16 surrogates (`"\\ud800"` in JSON) cannot be stored
  either and are refused with them.
- JSON nested deeper than JSON_MAX_DEPTH: refused by `json_loads` before Python's parser would
  recurse into it (a thousand levels overflowed the stack: a 500). Every JSON body read from a
  request goes through `json_loads` (the DRF parser, and any view reading a body itself).
- LIKE wildcards: `like_escape` makes user text a literal in a raw SQL LIKE pattern (the
  gazetteer); the ORM's `contains` lookups escape by themselves.
- Whole numbers typed by people or other systems: `ascii_int` reads ASCII digits only.
  `str.isdigit` says yes to "²" (which `int()` refuses) and `int()` reads "١٢" (Arabic-Indic
  digits) or " 12_0 " as numbers: neither may decide what a parameter means.

Each refusal is an `InputRefused` (a DomainError: HTTP 400 `{"detail", "code"}` through
config/exceptions.py).
"""

import json
import re

from django.utils.translation import gettext_lazy as _

from config.errors import DomainError

NUL = "\x00"
JSON_MAX_DEPTH = 32

# JSON strings (to skip them when counting brackets), the brackets themselves, and the escapes that
# may decode to a NUL or a lone surrogate (after an even run of backslashes: "\\u0000" is text).
_SUSPECT_ESCAPE = re.compile(r"(?<!\\)(?:\\\\)*\\u(?:0000|[dD][89a-fA-F][0-9a-fA-F]{2})")
_ASCII_INT = re.compile(r"[+-]?[0-9]+")
_ASCII_DIGITS = re.compile(r"[0-9]+")
BIGINT_MAX = 2**63 - 1  # PostgreSQL's bigint: every id of ours (BigAutoField)


class InputRefused(DomainError):
    """Input no part of the system can take (HTTP 400)."""


def nul_refused() -> InputRefused:
    return InputRefused(_("The request contains a NUL character (U+0000), which is not allowed; remove it and "
                          "send again."), code="nul_character")


def _text_refused() -> InputRefused:
    return InputRefused(_("The request contains text that is not valid Unicode (a lone surrogate)."),
                        code="invalid_unicode")


def has_nul(value) -> bool:
    """Whether a NUL is anywhere in text, bytes, or nested lists, tuples, dicts (keys too) and
    QueryDicts of them."""
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, str | bytes):
            if NUL in item if isinstance(item, str) else b"\x00" in item:
                return True
        elif isinstance(item, dict):
            stack.extend(item.keys())
            if hasattr(item, "lists"):  # a QueryDict / MultiValueDict: every value of every key
                stack.extend(v for _key, values in item.lists() for v in values)
            else:
                stack.extend(item.values())
        elif isinstance(item, list | tuple):
            stack.extend(item)
    return False


def nul_check(value) -> None:
    """Refuse a NUL anywhere in `value` (see `has_nul`)."""
    if has_nul(value):
        raise nul_refused()


def json_too_deep(text: str, limit: int = JSON_MAX_DEPTH) -> bool:
    """Whether JSON text nests arrays and objects more than `limit` deep (brackets inside strings do
    not count). One pass, linear in the text whatever it holds (an unclosed string included), and
    read before parsing: Python's parser would recurse a thousand levels first."""
    if text.count("[") + text.count("{") <= limit:
        return False
    depth, in_string, escaped = 0, False, False
    for char in text:
        if in_string:
            if escaped:
                escaped = False
            elif char == "\\":
                escaped = True
            elif char == '"':
                in_string = False
        elif char == '"':
            in_string = True
        elif char in "[{":
            depth += 1
            if depth > limit:
                return True
        elif char in "]}":
            depth -= 1
    return False


def clean_text(value: str) -> bool:
    """Whether `value` holds neither a NUL nor a lone surrogate (text PostgreSQL can store)."""
    if NUL in value:
        return False
    if value.isascii():
        return True
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def strings_clean(value) -> bool:
    """Whether every string and key in decoded JSON is `clean_text`."""
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            if not clean_text(item):
                return False
        elif isinstance(item, dict):
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return True


def refuse_constant(name: str):
    """`json.loads(parse_constant=...)`: NaN and Infinity are not JSON numbers."""
    raise ValueError(f"{name} is not a JSON number")


def json_loads(text: str | bytes, *, max_depth: int = JSON_MAX_DEPTH):
    """JSON from a request: refused (InputRefused) when nested deeper than `max_depth`, when a
    string or key holds a NUL or a lone surrogate, or when it is not JSON (NaN and Infinity
    included). The depth is counted before parsing, so nothing deep ever reaches the parser."""
    if isinstance(text, bytes):
        try:
            text = text.decode("utf-8")
        except UnicodeDecodeError:
            raise InputRefused(_("The JSON body is not valid UTF-8."), code="parse_error") from None
    if json_too_deep(text, max_depth):
        raise InputRefused(_("The JSON body is nested too deeply (at most %(depth)d levels).") % {"depth": max_depth},
                           code="json_too_deep")
    try:
        value = json.loads(text, parse_constant=refuse_constant)
    except (ValueError, RecursionError) as exc:
        raise InputRefused(_("The body is not valid JSON: %(error)s") % {"error": exc}, code="parse_error") from None
    if _SUSPECT_ESCAPE.search(text) and not strings_clean(value):  # only escapes carry these into valid JSON
        raise nul_refused() if has_nul(value) else _text_refused()
    return value


def ascii_int(value, *, minimum: int | None = None, maximum: int | None = None, signed: bool = False) -> int | None:
    """A whole number written in ASCII digits (a sign only when `signed`; no spaces, no
    underscores), within [minimum, maximum] when given; None otherwise. Ints pass through (not
    bools)."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        number = value
    elif isinstance(value, str) and len(value) <= 20 and (_ASCII_INT if signed else _ASCII_DIGITS).fullmatch(value):
        number = int(value)
    else:
        return None
    if (minimum is not None and number < minimum) or (maximum is not None and number > maximum):
        return None
    return number


def like_escape(text: str) -> str:
    """`text` as a literal inside a LIKE/ILIKE pattern of raw SQL: its `%`, `_` and backslashes
    (PostgreSQL's default LIKE escape character) escaped. Django's `contains`/`startswith` lookups
    escape by themselves; raw SQL built with LIKE must call this on anything a user typed."""
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
