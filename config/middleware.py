"""Our middleware.

Language choice: Simplified Chinese unless the user chose English with the switch. Pages ignore
the browser's Accept-Language (a command room's browsers are often English builds, and the room
works in Chinese); the language switch sets a cookie that wins. API clients, which have no switch,
may still ask for English with Accept-Language.

Bad input: a NUL character anywhere a lookup could take it from — the URL path, the query string
(names and values), a header (cookies, tokens, `X-GridLink-Member`) or a url-encoded POST form — is
refused with 400 before any view runs (PostgreSQL text cannot hold it: it was a 500). Bodies of
other kinds are checked by the API's parsers (config/parsers.py); see config/inputs.py."""

from xml.etree.ElementTree import Element, SubElement, tostring  # noqa: S405 - we write XML, never parse it

from django.conf import settings
from django.http import HttpResponse, JsonResponse
from django.utils import translation
from django.utils.deprecation import MiddlewareMixin
from django.utils.translation import gettext, trans_real

from config.inputs import NUL, has_nul, nul_refused

API_PREFIXES = ("/api/", "/open311/")
OPEN311_PREFIX = "/open311/"


def request_language(path: str, cookie: str | None, accept_language: str) -> str:
    """The language of an answer: the one chosen on the pages (its cookie), else for the APIs the
    client's Accept-Language, else the forces' language (LANGUAGE_CODE)."""
    supported = {code for code, _ in settings.LANGUAGES}
    if cookie in supported:
        return cookie
    if path.startswith(API_PREFIXES):
        for code, _quality in trans_real.parse_accept_lang_header(accept_language):
            if code == "*":
                break
            try:
                return translation.get_supported_language_variant(code)
            except LookupError:
                continue
    return settings.LANGUAGE_CODE


def refusal(path: str, status: int, message: str, code: str) -> HttpResponse:
    """A refused request in the shape of the API it was meant for: `{"detail", "code"}`
    (config/exceptions.py) under /api/, Open311's error list under /open311/ (`<errors>` for .xml),
    plain text for pages."""
    if path.startswith(OPEN311_PREFIX):
        if path.endswith(".xml"):  # GeoReport v2's <errors>
            root = Element("errors")
            error_element = SubElement(root, "error")
            SubElement(error_element, "code").text = str(status)
            SubElement(error_element, "description").text = message
            body = '<?xml version="1.0" encoding="utf-8"?>\n' + tostring(root, encoding="unicode")
            return HttpResponse(body.encode(), status=status, content_type="application/xml; charset=utf-8")
        return JsonResponse([{"code": status, "description": message}], status=status, safe=False)
    if path.startswith(API_PREFIXES):
        return JsonResponse({"detail": message, "code": code}, status=status)
    return HttpResponse(message, status=status, content_type="text/plain; charset=utf-8")


def overloaded(path: str) -> HttpResponse:
    """503 with Retry-After, in the active language: the server cannot take the request now
    (config/admission.py; a database pool out of connections, config/exceptions.py)."""
    message = gettext("The server is busy. Try again in a few seconds.")
    response = refusal(path, 503, message, "overloaded")
    response["Retry-After"] = str(settings.HTTP_RETRY_AFTER_SECONDS)
    response["Cache-Control"] = "no-store"
    return response


class LanguageMiddleware(MiddlewareMixin):
    def process_request(self, request):
        translation.activate(request_language(request.path, request.COOKIES.get(settings.LANGUAGE_COOKIE_NAME),
                                              request.headers.get("accept-language", "")))
        request.LANGUAGE_CODE = translation.get_language()

    def process_response(self, request, response):
        response.headers.setdefault("Content-Language", translation.get_language())
        return response



def _nul_in_request(request) -> bool:
    if NUL in request.path_info or NUL in request.path:
        return True
    if any(NUL in value for key, value in request.META.items()
           if isinstance(value, str) and (key.startswith("HTTP_") or key in ("CONTENT_TYPE", "CONTENT_LENGTH"))):
        return True
    if has_nul(request.GET):
        return True
    # A url-encoded form is read here (Django keeps the parsed form for the view); multipart bodies
    # are left to the parsers, which check them field by field without reading uploads twice.
    return (request.method == "POST" and request.content_type == "application/x-www-form-urlencoded"
            and has_nul(request.POST))


class BadInputMiddleware(MiddlewareMixin):
    """400 for a NUL character in the path, query, headers or a url-encoded form. The answer has
    the shape of the API it was meant for: `{"detail", "code"}` (config/exceptions.py) under /api/,
    Open311's error list under /open311/, plain text for pages. After LanguageMiddleware: the
    message is translated."""

    def process_request(self, request):
        if not _nul_in_request(request):
            return None
        error = nul_refused()
        return refusal(request.path_info, 400, str(error.message), error.code)
