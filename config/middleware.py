"""Language choice: Simplified Chinese unless the user chose English with the switch.

Pages ignore the browser's Accept-Language (a command room's browsers are often English builds,
and the room works in Chinese); the language switch sets a cookie that wins. API clients, which
have no switch, may still ask for English with Accept-Language."""

from django.conf import settings
from django.utils import translation
from django.utils.deprecation import MiddlewareMixin

API_PREFIXES = ("/api/", "/open311/")


class LanguageMiddleware(MiddlewareMixin):
    def process_request(self, request):
        chosen = request.COOKIES.get(settings.LANGUAGE_COOKIE_NAME)
        supported = {code for code, _ in settings.LANGUAGES}
        if chosen not in supported:
            chosen = None
            if request.path.startswith(API_PREFIXES):
                chosen = translation.get_language_from_request(request)
        translation.activate(chosen or settings.LANGUAGE_CODE)
        request.LANGUAGE_CODE = translation.get_language()

    def process_response(self, request, response):
        response.headers.setdefault("Content-Language", translation.get_language())
        return response
