"""The API's body parsers (REST_FRAMEWORK["DEFAULT_PARSER_CLASSES"]): DRF's, with the input
checks of config/inputs.py. A view that names its own `parser_classes` names these.

- JSON: at most DATA_UPLOAD_MAX_MEMORY_SIZE bytes (413 beyond), nested at most JSON_MAX_DEPTH (32) levels, counted before parsing; no NUL or lone
  surrogate in any string or key; no NaN or Infinity.
- Forms and multipart: no NUL in a field's name or value, nor in an uploaded file's name.

Each refusal is a 400 `{"detail", "code"}` (config/exceptions.py)."""

from django.conf import settings
from django.utils.translation import gettext as _
from rest_framework.parsers import DataAndFiles, FormParser, JSONParser, MultiPartParser

from config.inputs import InputRefused, json_loads, nul_check


class CheckedJSONParser(JSONParser):
    def parse(self, stream, media_type=None, parser_context=None):
        encoding = (parser_context or {}).get("encoding", settings.DEFAULT_CHARSET)
        # A JSON body is read whole before it is parsed: no bigger than Django takes a form body.
        limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
        raw = stream.read(limit + 1) if (limit and stream is not None) else (stream.read() if stream else b"")
        if limit and len(raw) > limit:
            raise InputRefused(_("The body is larger than %(size)d bytes.") % {"size": limit},
                               code="body_too_large", http_status=413)
        if encoding.lower().replace("_", "-") not in ("utf-8", "utf8"):
            raw = raw.decode(encoding, errors="replace")
        return json_loads(raw)


class CheckedFormParser(FormParser):
    def parse(self, stream, media_type=None, parser_context=None):
        data = super().parse(stream, media_type, parser_context)
        nul_check(data)
        return data


class CheckedMultiPartParser(MultiPartParser):
    def parse(self, stream, media_type=None, parser_context=None):
        parsed: DataAndFiles = super().parse(stream, media_type, parser_context)
        nul_check(parsed.data)
        nul_check([[name, *(f.name or "" for f in parsed.files.getlist(name))] for name in parsed.files])
        return parsed

