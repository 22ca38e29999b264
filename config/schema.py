"""The OpenAPI document's refusals, declared in one place (a drf-spectacular postprocessing hook).

Every view may refuse: a body or query that does not validate (400), a login missing (401 with a
token-first API such as Open311, 403 elsewhere: DRF answers 403 when session authentication comes
first) or a role that may not (403), a named record that does not exist or that the user may not
see (404: row-level scoping answers 404, never 403), a move the flow refuses now (409), an
`Idempotency-Key` used for another request (422), and any may find the server busy (503 with
Retry-After, config/admission.py). The views declare their successes; this hook adds
the refusals each operation can answer, by its method and parameters, with the body that
config/exceptions.py gives them (`Error`: `{"detail", "code"}`; a serializer's field errors:
`ValidationError`), so that a client generated from the document, and the schema-driven fuzz run
(tests/config/test_fuzz_api.py), know every answer. An operation that declares a status itself keeps its
own declaration. Open311 answers its errors in its own shape (a list of `Open311Error`).

Also here: a GeoJSON Feature's `geometry` is null where the serializer's geometry field allows null
(a case waiting for a location), which drf-spectacular's GIS extension does not say. This module is
imported by config/urls.py, so that the extension is registered before any schema is generated."""

from typing import Any, cast

from drf_spectacular.contrib.rest_framework_gis import GeoFeatureModelSerializerExtension
from drf_spectacular.plumbing import build_array_type, build_basic_type, build_object_type
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse
from rest_framework import serializers

ERROR = "Error"
VALIDATION_ERROR = "ValidationError"
OPEN311_ERROR = "Open311Error"  # one error; incidents/open311.py may declare it (Open311ErrorSerializer)

COMPONENTS = {
    ERROR: build_object_type(
        description="A refusal. `detail`: why, in the user's language; `code`: the reason for programs "
                    "(`invalid`, `refused`, `forbidden`, `not_found`, `wrong_member`, "
                    "`idempotency_key_reused`, …). DRF's own refusals (not logged in, no permission, no "
                    "such record, a malformed body) carry `detail` only.",
        properties={"detail": build_basic_type(OpenApiTypes.STR), "code": build_basic_type(OpenApiTypes.STR)},
        required=["detail"],
    ),
    VALIDATION_ERROR: {
        "type": "object",
        "description": "Input that does not validate: each field by name with its messages (a list, or one "
                       "message; an object for a nested field, a list of objects for a list of them; "
                       "`non_field_errors` for the whole input).",
        "additionalProperties": {"anyOf": [build_basic_type(OpenApiTypes.STR),
                                           build_array_type(cast(dict[str, Any], build_basic_type(OpenApiTypes.STR))),
                                           {"type": "object"}, build_array_type({"type": "object"})]},
    },
    OPEN311_ERROR: build_object_type(
        properties={"code": build_basic_type(OpenApiTypes.INT), "description": build_basic_type(OpenApiTypes.STR)},
        required=["code", "description"],
    ),
}


class ErrorSerializer(serializers.Serializer):
    """The `Error` component, for a view that declares a refusal the hook does not add:
    `responses={200: ..., 429: error_response("Too soon: ...")}`. The hook's schema is the document's."""

    detail = serializers.CharField()
    code = serializers.CharField(required=False)

    class Meta:
        ref_name = ERROR


def error_response(description: str) -> OpenApiResponse:
    return OpenApiResponse(ErrorSerializer, description=description)


DESCRIPTIONS = {
    400: "Bad input: a field or query value that does not validate, or a refusal of the input by the service.",
    401: "Not logged in, or a wrong key or token.",
    403: "Not logged in, or the user's role may not do this.",
    404: "No such record, or one the user may not see.",
    409: "Refused now: the case's flow does not allow this move, or the phone's member is another one.",
    422: "This Idempotency-Key was used for another request.",
    503: "The server is busy (config/admission.py): try again after the seconds of Retry-After.",
}
UNSAFE = ("post", "put", "patch", "delete")
SESSION_SCHEME = "cookieAuth"  # drf-spectacular's name for SessionAuthentication
# Query parameters that name a record: an unknown one answers 404.
NAMING_QUERY_PARAMETERS = {"subdistrict"}


def _ref(name: str) -> dict:
    return {"$ref": f"#/components/schemas/{name}"}


def _content(schema: dict, media_types) -> dict:
    return {media_type: {"schema": schema} for media_type in media_types}


def _statuses(method: str, operation: dict) -> set[int]:
    parameters = operation.get("parameters", [])
    in_path = any(p["in"] == "path" for p in parameters)
    in_query = [p["name"] for p in parameters if p["in"] == "query"]
    statuses = set()
    security = operation.get("security") or [{}]
    if {} not in security:  # a login required
        statuses.add(403)
        # DRF answers 401 only when the first authentication is a token's (it names a scheme to
        # retry with); behind a session cookie first, a missing or wrong login is a 403.
        if SESSION_SCHEME not in security[0]:
            statuses.add(401)
    if method in UNSAFE or in_query:
        statuses.add(400)
    if in_path or NAMING_QUERY_PARAMETERS.intersection(in_query):
        statuses.add(404)
    if method in UNSAFE:
        statuses |= {403, 409}
    if any(p["in"] == "header" and p["name"] == "Idempotency-Key" for p in parameters):
        statuses.add(422)
    statuses.add(503)  # every request may find the server busy
    return statuses


def _media_types(operation: dict) -> list[str]:
    """The media types of the operation's own answers (JSON unless it answers only in others)."""
    found = [media_type for response in operation.get("responses", {}).values()
             for media_type in response.get("content", {}) if media_type != "*/*"]
    textual = [m for m in dict.fromkeys(found) if m.endswith(("json", "xml"))]
    return textual or ["application/json"]


def declare_error_responses(result, generator, request, public):
    """drf-spectacular postprocessing hook: see the module docstring."""
    schemas = result.setdefault("components", {}).setdefault("schemas", {})
    schemas.update({name: COMPONENTS[name] for name in (ERROR, VALIDATION_ERROR)})  # ErrorSerializer's too
    schemas.setdefault(OPEN311_ERROR, COMPONENTS[OPEN311_ERROR])
    for path, item in result.get("paths", {}).items():
        open311 = path.startswith("/open311/")
        for method, operation in item.items():
            if method not in ("get", "head", "post", "put", "patch", "delete", "options"):
                continue
            responses = operation.setdefault("responses", {})
            media_types = _media_types(operation) if open311 else ["application/json"]
            for status in sorted(_statuses(method, operation)):
                if str(status) in responses:
                    continue
                if open311:
                    schema = {**build_array_type(_ref(OPEN311_ERROR)), "minItems": 1}
                elif status == 400:
                    schema = {"anyOf": [_ref(ERROR), _ref(VALIDATION_ERROR)]}
                else:
                    schema = _ref(ERROR)
                responses[str(status)] = {"description": DESCRIPTIONS[status],
                                          "content": _content(schema, media_types)}
                if status == 503:
                    responses[str(status)]["headers"] = {"Retry-After": {
                        "schema": {"type": "integer"}, "description": "Seconds to wait before trying again."}}
    return result


class NullableGeometryFeatureExtension(GeoFeatureModelSerializerExtension):
    """A Feature's geometry is nullable where its serializer field allows null."""

    priority = 1  # before drf-spectacular's own extension for GeoFeatureModelSerializer

    def map_geo_feature_model_serializer(self, serializer, base_schema):
        schema = super().map_geo_feature_model_serializer(serializer, base_schema)
        if serializer.fields[serializer.Meta.geo_field].allow_null:
            schema["properties"]["geometry"]["nullable"] = True
        return schema
