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
_JSON_STRING = re.compile(r'"(?:[^"\\]|\\.)*"', re.DOTALL)
_NOT_BRACKET = re.compile(r"[^\[\]{}]+")
_SUSPECT_ESCAPE = re.compile(r"(?<!\\)(?:\\\\)*\\u(?:0000|[dD][89a-fA-F][0-9a-fA-F]{2})")
_ASCII_INT = re.compile(r"[+-]?[0-9]+")
_ASCII_DIGITS = re.compile(r"[0-9]+")


class InputRefused(DomainError):
    """Input no part of the system can take (HTTP 400)."""


def nul_refused() -> InputRefused:
    return InputRefused(_("The request contains a NUL character (U+0000), which is not allowed; remove it and "
                          "send again."), code="nul_character")


def _text_refused() -> InputRefused:
    return InputRefused(_("The request contains text that is not valid Unicode (a lone surrogate)."),
                        code="invalid_unicode")


def text_check(value: str) -> None:
    """Refuse a NUL or a lone surrogate in one piece of text."""
    if NUL in value:
        raise nul_refused()
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise _text_refused() from None


def has_nul(value) -> bool:
    """Whether a NUL is anywhere in text, bytes, or nested lists, tuples, dicts (keys too) and
    QueryDicts of them."""
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, str | bytes):
            if (NUL if isinstance(item, str) else b"\x00") in item:
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


def json_depth(text: str, *, limit: int = JSON_MAX_DEPTH) -> int:
    """The nesting depth of JSON text, counted up to `limit + 1` (a deeper text stops there)."""
    skeleton = _NOT_BRACKET.sub("", _JSON_STRING.sub("", text))
    depth = deepest = 0
    for char in skeleton:
        if char in "[{":
            depth += 1
            if depth > deepest:
                deepest = depth
                if deepest > limit:
                    break
        else:
            depth -= 1
    return deepest


def _strings_check(value) -> None:
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            text_check(item)
        elif isinstance(item, dict):
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)


def json_loads(text: str | bytes, *, max_depth: int = JSON_MAX_DEPTH):
    """JSON from a request: refused (InputRefused) when nested deeper than `max_depth`, when a
    string or key holds a NUL or a lone surrogate, or when it is not JSON (NaN and Infinity
    included). The depth is counted before parsing, so nothing deep ever reaches the parser."""
    if isinstance(text, bytes):
        try:
            text = text.decode("utf-8")
        except UnicodeDecodeError:
            raise InputRefused(_("The JSON body is not valid UTF-8."), code="parse_error") from None
    if json_depth(text, limit=max_depth) > max_depth:
        raise InputRefused(_("The JSON body is nested too deeply (at most %(depth)d levels).") % {"depth": max_depth},
                           code="json_too_deep")
    try:
        value = json.loads(text, parse_constant=_refuse_constant)
    except (ValueError, RecursionError) as exc:
        raise InputRefused(_("The body is not valid JSON: %(error)s") % {"error": exc}, code="parse_error") from None
    if _SUSPECT_ESCAPE.search(text):  # only escapes can carry a NUL or a surrogate into valid JSON
        _strings_check(value)
    return value


def _refuse_constant(name: str):
    raise ValueError(f"{name} is not a JSON number")


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


def is_ascii_digits(value: str) -> bool:
    """Whether `value` is one or more ASCII digits 0-9 (what `str.isdigit` is mistaken for)."""
    return bool(_ASCII_DIGITS.fullmatch(value))
