"""Open311 GeoReport v2 (/open311/v2/) for external systems (the district linkage centre, and any
client that speaks the standard), in both of the spec's formats: the URL's suffix decides, `.xml`
(the spec's default) or `.json`, whatever the Accept header says.

- Services are the incident categories; `group` is the statistic group. Every service has metadata:
  `services/{code}.{fmt}` defines the attribute `major` (a singlevaluelist, true/false), posted as
  `attribute[major]`; a category that is major by default stays major.
- A request is an incident: `service_request_id` is our case number ("YYYYMMDD-NNNN"), returned at
  once by POST (no token step). Open311 "open" is every open status of both flows; "closed" is
  closed or merged into another case. `jurisdiction_id` is a sub-district code (default: the first).
- Reads need no key, as the spec says. A key-less read answers every case of the jurisdiction with
  the public fields only (`request_data(public=True)`): no description or status notes (free text
  can hold names, phones and flat numbers), the community instead of the address, and the point
  rounded to 0.001° (about 100 m). A keyed read answers the cases the key's user may see, by the
  rule of /api/v1/incidents/ (`incidents_visible_to`; an external system's key: the cases its
  channels brought in), with the exact point, the address and the description. Key-less reads are
  throttled per client address (OPEN311_KEYLESS_RATE).
- POST needs a key: `api_key` (a DRF token; query string or form field), the `Authorization:
  Token ...` header or a session, of an integration user or a staff role. It creates through
  `incident_intake` on the channel `channel` (default: the key's own channel, else the district
  centre's dispatch orders). The sender's own id (`external_id` or the `Idempotency-Key` header)
  makes a retried POST answer the same request (201 the first time, 200 after). Form-encoded as the
  spec says; multipart and a JSON object are accepted too. All of its input is read in one place,
  `RequestCreateSerializer`.
- Errors: the spec's list, `[{"code": <HTTP status>, "description": "..."}]` in JSON and
  `<errors><error><code/><description/></error></errors>` in XML, with that HTTP status.

No personal data leaves through Open311, keyed or not: no caller or party names, phones or ID numbers.
"""

import re
from datetime import UTC, timedelta
from xml.etree.ElementTree import Element, SubElement, tostring  # noqa: S405 - we write XML, never parse it

from django.conf import settings
from django.contrib.gis.geos import Point
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.openapi import AutoSchema
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import serializers, status
from rest_framework.authentication import SessionAuthentication, TokenAuthentication
from rest_framework.exceptions import AuthenticationFailed, NotFound, ValidationError
from rest_framework.negotiation import DefaultContentNegotiation
from rest_framework.permissions import SAFE_METHODS
from rest_framework.renderers import BaseRenderer, JSONRenderer
from rest_framework.response import Response
from rest_framework.throttling import AnonRateThrottle
from rest_framework.views import APIView

from config.auth import client_ip
from config.exceptions import api_exception_handler
from config.parsers import CheckedFormParser, CheckedJSONParser, CheckedMultiPartParser
from config.permissions import HasRole
from config.roles import STAFF_ROLES, UserRole
from geo.selectors import subdistrict_get
from geo.tenancy import subdistrict_for
from incidents import api_support, services
from incidents.models import Category, Incident
from incidents.serializers import FiniteFloatField, category_field, channel_field, datum_field, point_in_wgs84

OPEN311_ROLES = (*STAFF_ROLES, UserRole.INTEGRATION)
MAX_CALLER_NAME = 64
MAX_CODE = 64  # a jurisdiction, service or request code in a path or a query
OPEN311_DEFAULT_DAYS = 90
# Key-less reads show points on a 0.001° lattice: about 111 m north-south, 96 m east-west at 30° N.
PUBLIC_DECIMALS = 3
EXACT_DECIMALS = 6


# --- formats: the URL's suffix; XML written with ElementTree ---------------------------------------

# GeoReport v2's element names: a list element and the name of each of its items.
XML_ITEMS = {"services": "service", "service_requests": "request", "errors": "error",
             "attributes": "attribute", "values": "value"}
# Characters XML 1.0 cannot carry at all (control characters but tab and newlines, lone surrogates,
# U+FFFE/U+FFFF): replaced, so that a description typed by the public never breaks the document.
_NOT_XML = re.compile("[^\t\n\r\u0020-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def _xml_fill(element: Element, value) -> None:
    if value is None:
        return  # an empty element, as the spec's examples show absent values
    if isinstance(value, dict):
        for key, item in value.items():
            _xml_fill(SubElement(element, key), item)
    elif isinstance(value, list | tuple):
        name = XML_ITEMS.get(element.tag, "item")
        for item in value:
            _xml_fill(SubElement(element, name), item)
    elif isinstance(value, bool):
        element.text = "true" if value else "false"
    else:
        element.text = _NOT_XML.sub("\ufffd", str(value))


class Open311XMLRenderer(BaseRenderer):
    """The view's data as GeoReport v2 XML: the root is the view's `xml_root` (`services`,
    `service_requests`, `service_definition`), or `errors` for an error; list items get the spec's
    names (XML_ITEMS). ElementTree escapes every text."""

    media_type = "application/xml"
    format = "xml"
    charset = "utf-8"

    def render(self, data, accepted_media_type=None, renderer_context=None) -> bytes:
        context = renderer_context or {}
        response = context.get("response")
        failed = response is not None and response.status_code >= 400
        root = Element("errors" if failed else getattr(context.get("view"), "xml_root", "response"))
        _xml_fill(root, data)
        return tostring(root, encoding="utf-8", xml_declaration=True)


class FormatSuffixNegotiation(DefaultContentNegotiation):
    """Open311 names the format in the URL (`requests.xml`): that suffix chooses the renderer,
    whatever the Accept header asks for. An unknown suffix is 404 (answered in JSON)."""

    def select_renderer(self, request, renderers, format_suffix=None):
        for renderer in renderers:
            if renderer.format == format_suffix:
                return renderer, renderer.media_type
        raise NotFound(_("Unknown format: use .xml or .json."))


# --- plumbing: auth, access, throttle, errors ----------------------------------------------------

API_KEY = re.compile(r"[0-9A-Za-z]{1,128}")


class ApiKeyAuthentication(TokenAuthentication):
    """Open311's `api_key` (query string or form field) holding a DRF token key. A key that cannot
    be one (wrong characters, a NUL byte) is refused before the database sees it."""

    def authenticate(self, request):
        key = request.query_params.get("api_key")
        if not key and request.method == "POST":
            data = request.data
            key = data.get("api_key") if hasattr(data, "get") else None
        if not key:
            return None
        if not isinstance(key, str) or not API_KEY.fullmatch(key):
            raise AuthenticationFailed(_("Invalid api_key."))
        return self.authenticate_credentials(key)


class ApiKeyScheme(OpenApiAuthenticationExtension):
    target_class = ApiKeyAuthentication
    name = "open311ApiKey"

    def get_security_definition(self, auto_schema):
        return {"type": "apiKey", "in": "query", "name": "api_key"}


class Open311Access(HasRole):
    """Reads are open to anyone (the spec asks no key; what a read shows depends on the key, see
    the module docstring); writing needs a user of `allowed_roles`."""

    def has_permission(self, request, view) -> bool:
        return request.method in SAFE_METHODS or super().has_permission(request, view)


class KeylessReadThrottle(AnonRateThrottle):
    """Key-less reads, per client address (`config.auth.client_ip`, which trusts X-Forwarded-For
    only behind TRUSTED_PROXY_COUNT proxies): OPEN311_KEYLESS_RATE. Keyed reads are not counted."""

    scope = "open311_keyless"

    def get_rate(self) -> str:
        return settings.OPEN311_KEYLESS_RATE

    def get_ident(self, request) -> str:
        return client_ip(request) or ""


def _describe(data) -> str:
    """One readable line out of DRF's error data (`{"detail": ...}` or `{field: [messages]}`)."""
    if isinstance(data, dict):
        if "detail" in data and len(data) <= 2:
            return str(data["detail"])
        return "; ".join(f"{field}: {_describe(value)}" for field, value in data.items())
    if isinstance(data, list | tuple):
        return " ".join(_describe(item) for item in data)
    return str(data)


def open311_exception_handler(exc, context):
    """The project's mapping (config/exceptions.py), reshaped as Open311's error list."""
    response = api_exception_handler(exc, context)
    if response is not None:
        response.data = [{"code": response.status_code, "description": _describe(response.data)}]
    return response


class Open311Schema(AutoSchema):
    """The format is the path's `fmt` only: DRF's `?format=` override does not apply here."""

    def _get_format_parameters(self):
        return []


class Open311View(APIView):
    schema = Open311Schema()
    authentication_classes = [ApiKeyAuthentication, TokenAuthentication, SessionAuthentication]
    permission_classes = [Open311Access]
    throttle_classes = [KeylessReadThrottle]
    allowed_roles = OPEN311_ROLES
    parser_classes = [CheckedFormParser, CheckedMultiPartParser, CheckedJSONParser]
    renderer_classes = [JSONRenderer, Open311XMLRenderer]
    content_negotiation_class = FormatSuffixNegotiation
    metadata_class = None  # OPTIONS: 405, like any method the spec does not have
    xml_root = "response"

    def get_exception_handler(self):
        return open311_exception_handler

    def get_format_suffix(self, **kwargs):
        return kwargs.get("fmt")


def _iso(value) -> str | None:
    return timezone.localtime(value).isoformat(timespec="seconds") if value else None


def _subdistrict(value: str | None, user=None):
    """The jurisdiction: for a key, one of the sub-districts it is bound to (its tenancy: another is
    unknown to it); for the public's reads, any."""
    if user is not None and user.is_authenticated:
        subdistrict = subdistrict_for(user, value or None)
    else:
        subdistrict = subdistrict_get(code=value or None)
    if subdistrict is None:
        raise NotFound(_("Unknown jurisdiction_id."))
    return subdistrict


def _path_code(value: str, message: str) -> str:
    """A code from the URL path: one that cannot exist (NUL byte, too long) is simply not found."""
    if "\x00" in value or len(value) > MAX_CODE:
        raise NotFound(message)
    return value


def request_data(incident: Incident, *, public: bool) -> dict:
    """One incident as an Open311 service request: with `public`, the fields for a key-less read
    (no free text, the community for the address, the point rounded to about 100 m)."""
    point = incident.location
    decimals = PUBLIC_DECIMALS if public else EXACT_DECIMALS
    if public:
        address = incident.community.name if incident.community else ""
    else:
        address = incident.address_text or (incident.place.name if incident.place else "")
    return {
        "service_request_id": incident.number,
        "status": "closed" if incident.status in api_support.CLOSED_STATUSES else "open",
        "status_notes": None if public else api_support.open311_status_notes(incident),
        "service_name": incident.category.display_name(),
        "service_code": incident.category.code,
        "description": None if public else incident.description,
        "agency_responsible": api_support.open311_agency(incident),
        "service_notice": "",
        "requested_datetime": _iso(incident.reported_at),
        "updated_datetime": _iso(incident.updated_at),
        "expected_datetime": _iso(incident.deadline),
        "address": address,
        "address_id": None,
        "zipcode": None,
        "lat": round(point.y, decimals) if point else None,
        "long": round(point.x, decimals) if point else None,
        "media_url": None,
    }


def service_data(category: Category, keywords: list[str]) -> dict:
    return {"service_code": category.code, "service_name": category.display_name(),
            "description": category.get_scope_display(), "metadata": True, "type": "realtime",
            "keywords": ",".join(keywords), "group": category.get_statistic_group_display()}


def service_definition(category: Category) -> dict:
    """The service's attributes: `major`, posted as `attribute[major]` (true/false)."""
    major = {
        "variable": True, "code": "major", "datatype": "singlevaluelist", "required": False,
        "datatype_description": (_("Cases of this service are always major.") if category.major_by_default
                                 else _("Default: not major.")),
        "order": 1, "description": _("A major incident: the leaders are told at once."),
        "values": [{"key": "true", "name": _("yes")}, {"key": "false", "name": _("no")}],
    }
    return {"service_code": category.code, "attributes": [major]}


# --- input: the query of the reads, and the POST (read in one place) -----------------------------

class JurisdictionQuerySerializer(serializers.Serializer):
    jurisdiction_id = serializers.CharField(required=False, allow_blank=True, default="", max_length=MAX_CODE)


class RequestCreateSerializer(serializers.Serializer):
    """Everything a POST carries, in the spec's names (form fields; a JSON object alike). `location`
    (WGS 84) is made here from lat/long; `major` comes from the attribute `attribute[major]`."""

    jurisdiction_id = serializers.CharField(required=False, allow_blank=True, default="", max_length=MAX_CODE)
    service_code = category_field(error_messages={"does_not_exist": gettext_lazy("Unknown service_code “{value}”.")})
    lat = FiniteFloatField(required=False, allow_null=True, default=None, min_value=-90, max_value=90)
    long = FiniteFloatField(required=False, allow_null=True, default=None, min_value=-180, max_value=180)
    address_string = serializers.CharField(required=False, allow_blank=True, default="")
    description = serializers.CharField(allow_blank=True, trim_whitespace=False)
    first_name = serializers.CharField(required=False, allow_blank=True, default="")
    last_name = serializers.CharField(required=False, allow_blank=True, default="")
    phone = serializers.CharField(required=False, allow_blank=True, default="")
    email = serializers.CharField(required=False, allow_blank=True, default="")  # accepted, not stored
    channel = channel_field(required=False, allow_null=True, default=None)
    external_id = serializers.CharField(required=False, allow_blank=True, default="")
    datum = datum_field()  # an extension: lat/long in GCJ-02 or BD-09 are converted to WGS 84 here

    def get_fields(self):
        fields = super().get_fields()
        # GeoReport's attributes are posted as `attribute[code]`, a name no Python attribute can have.
        fields["attribute[major]"] = serializers.BooleanField(
            source="major", required=False, default=False,
            help_text="The service attribute `major` (services/{code}): true or false.")
        return fields

    def validate(self, attrs):
        if (attrs["lat"] is None) != (attrs["long"] is None):
            raise ValidationError({"lat": [gettext_lazy("Give both lat and long, or neither.")]})
        point = Point(attrs["long"], attrs["lat"], srid=4326) if attrs["lat"] is not None else None
        attrs["location"] = point_in_wgs84(point, attrs["datum"])
        return attrs


class RequestListQuerySerializer(JurisdictionQuerySerializer):
    service_request_id = serializers.CharField(required=False, allow_blank=True, default="", max_length=4000)
    service_code = serializers.CharField(required=False, allow_blank=True, default="", max_length=4000)
    status = serializers.CharField(required=False, allow_blank=True, default="", max_length=64)
    start_date = serializers.CharField(required=False, allow_blank=True, default="", max_length=64)
    end_date = serializers.CharField(required=False, allow_blank=True, default="", max_length=64)

    def _date(self, value: str):
        if not value:
            return None
        try:
            parsed = parse_datetime(value)
            if parsed is not None and not timezone.is_aware(parsed):
                parsed = timezone.make_aware(parsed)
            if parsed is not None:
                parsed = parsed.astimezone(UTC)  # year 0 or 10000 in UTC: refused here
        except (ValueError, OverflowError):  # well-formed but impossible, e.g. month 13
            parsed = None
        if parsed is None:
            raise ValidationError(gettext_lazy("A date in W3C format is required, e.g. 2026-03-01T08:00:00+08:00."))
        return parsed

    def validate_start_date(self, value):
        return self._date(value)

    def validate_end_date(self, value):
        return self._date(value)

    def validate_status(self, value):
        statuses = {s.strip() for s in value.split(",") if s.strip()}
        if statuses - {"open", "closed"}:
            raise ValidationError(gettext_lazy("status is open, closed or both."))
        return statuses

    def validate(self, attrs):
        start, end = attrs["start_date"], attrs["end_date"]
        if start and end and start > end:
            raise ValidationError({"end_date": [gettext_lazy("end_date is before start_date.")]})
        return attrs


def _csv(value: str) -> list[str]:
    return [v.strip() for v in value.split(",") if v.strip()]


def _valid(serializer_class, data) -> dict:
    serializer = serializer_class(data=data)
    serializer.is_valid(raise_exception=True)
    return serializer.validated_data


# --- the OpenAPI description (both formats: every renderer's media type gets these schemas) -------

class Open311ServiceSerializer(serializers.Serializer):
    service_code = serializers.CharField()
    service_name = serializers.CharField()
    description = serializers.CharField()
    metadata = serializers.BooleanField()
    type = serializers.ChoiceField(choices=["realtime", "batch", "blackbox"])
    keywords = serializers.CharField()
    group = serializers.CharField()


class Open311AttributeValueSerializer(serializers.Serializer):
    key = serializers.CharField()
    name = serializers.CharField()


class Open311AttributeSerializer(serializers.Serializer):
    variable = serializers.BooleanField()
    code = serializers.CharField()
    datatype = serializers.ChoiceField(
        choices=["string", "number", "datetime", "text", "singlevaluelist", "multivaluelist"])
    required = serializers.BooleanField()  # type: ignore[assignment]  # a field named like a Field attribute
    datatype_description = serializers.CharField(allow_null=True)
    order = serializers.IntegerField()
    description = serializers.CharField()
    values = Open311AttributeValueSerializer(many=True)


class Open311ServiceDefinitionSerializer(serializers.Serializer):
    service_code = serializers.CharField()
    attributes = Open311AttributeSerializer(many=True)


class Open311RequestSerializer(serializers.Serializer):
    service_request_id = serializers.CharField()
    status = serializers.ChoiceField(choices=["open", "closed"])
    status_notes = serializers.CharField(allow_null=True, help_text="null in a key-less read.")
    service_name = serializers.CharField()
    service_code = serializers.CharField()
    description = serializers.CharField(allow_null=True, help_text="null in a key-less read.")
    agency_responsible = serializers.CharField()
    service_notice = serializers.CharField()
    requested_datetime = serializers.DateTimeField()
    updated_datetime = serializers.DateTimeField()
    expected_datetime = serializers.DateTimeField(allow_null=True)
    address = serializers.CharField(help_text="Key-less: the community only.")
    address_id = serializers.CharField(allow_null=True)
    zipcode = serializers.CharField(allow_null=True)
    lat = serializers.FloatField(allow_null=True, help_text="Key-less: rounded to 0.001°.")
    long = serializers.FloatField(allow_null=True, help_text="Key-less: rounded to 0.001°.")
    media_url = serializers.CharField(allow_null=True)


class Open311RequestCreatedSerializer(serializers.Serializer):
    service_request_id = serializers.CharField()
    service_notice = serializers.CharField()
    account_id = serializers.CharField(allow_null=True)


class Open311ErrorSerializer(serializers.Serializer):
    code = serializers.IntegerField(help_text="The HTTP status.")
    description = serializers.CharField()


ERRORS = OpenApiResponse(Open311ErrorSerializer(many=True),
                         description="GeoReport v2 errors: a JSON list, or <errors><error> in XML.")
FMT = OpenApiParameter("fmt", OpenApiTypes.STR, OpenApiParameter.PATH, enum=["xml", "json"],
                       description="The format: xml (GeoReport v2's default) or json.")
JURISDICTION = OpenApiParameter("jurisdiction_id", OpenApiTypes.STR, description="A sub-district code.")
API_KEY_PARAMETER = OpenApiParameter(
    "api_key", OpenApiTypes.STR,
    description="Optional for reads: without it the public fields only; with it what the key's user may see.")


def _read_errors(*codes: int) -> dict:
    return {code: ERRORS for code in (400, 401, 404, 429, *codes)}


# --- views ---------------------------------------------------------------------------------------

class ServiceListView(Open311View):
    xml_root = "services"

    @extend_schema(tags=["open311"], operation_id="open311_services", summary="Open311 services (the incident categories)",
                   parameters=[FMT, JURISDICTION], responses={200: Open311ServiceSerializer(many=True), **_read_errors()})
    def get(self, request, fmt: str):
        q = _valid(JurisdictionQuerySerializer, request.query_params)
        if q["jurisdiction_id"]:
            _subdistrict(q["jurisdiction_id"], request.user)
        keywords = api_support.category_keywords()
        return Response([service_data(c, keywords.get(c.pk, [])) for c in api_support.category_list()])


class ServiceDefinitionView(Open311View):
    xml_root = "service_definition"

    @extend_schema(tags=["open311"], operation_id="open311_service_definition",
                   summary="Open311 service definition (the attributes of a service)",
                   parameters=[FMT, JURISDICTION], responses={200: Open311ServiceDefinitionSerializer, **_read_errors()})
    def get(self, request, service_code: str, fmt: str):
        q = _valid(JurisdictionQuerySerializer, request.query_params)
        if q["jurisdiction_id"]:
            _subdistrict(q["jurisdiction_id"], request.user)
        code = _path_code(service_code, _("Unknown service_code."))
        category = api_support.category_list().filter(code=code).first()
        if category is None:
            raise NotFound(_("Unknown service_code."))
        return Response(service_definition(category))


class RequestListView(Open311View):
    xml_root = "service_requests"

    @extend_schema(
        tags=["open311"], operation_id="open311_requests_list", summary="Open311 service requests (newest first, at most 1000)",
        description="Without start_date and end_date: the last 90 days. Without a key: every case, public fields only.",
        parameters=[FMT, JURISDICTION, API_KEY_PARAMETER, *(OpenApiParameter(name, OpenApiTypes.STR) for name in (
            "service_request_id", "service_code", "status", "start_date", "end_date"))],
        responses={200: Open311RequestSerializer(many=True), **_read_errors()},
    )
    def get(self, request, fmt: str):
        q = _valid(RequestListQuerySerializer, request.query_params)
        start, end = q["start_date"], q["end_date"]
        if start is None and end is None:
            start = timezone.now() - timedelta(days=OPEN311_DEFAULT_DAYS)
        incidents = api_support.open311_request_list(
            user=request.user, subdistrict=_subdistrict(q["jurisdiction_id"], request.user), service_codes=_csv(q["service_code"]),
            statuses=q["status"], start=start, end=end, numbers=_csv(q["service_request_id"]))
        public = not request.user.is_authenticated
        return Response([request_data(i, public=public) for i in incidents])

    @extend_schema(
        tags=["open311"], operation_id="open311_requests_create", summary="Create an Open311 service request (an incident)",
        description="201 with `[{service_request_id, service_notice, account_id}]`; 200 with the same answer when "
                    "`external_id` / the `Idempotency-Key` header was sent before. Needs a key.",
        parameters=[FMT, OpenApiParameter("Idempotency-Key", OpenApiTypes.STR, OpenApiParameter.HEADER)],
        request=RequestCreateSerializer,
        responses={201: Open311RequestCreatedSerializer(many=True), 200: Open311RequestCreatedSerializer(many=True),
                   **{code: ERRORS for code in (400, 401, 403, 404, 409, 415)}},
    )
    def post(self, request, fmt: str):
        data = _valid(RequestCreateSerializer, request.data)
        channel = data["channel"] or api_support.default_intake_channel(user=request.user)
        if channel is None:
            raise ValidationError({"channel": [_("No district order channel is set up; name a channel.")]})
        first, last = data["first_name"].strip(), data["last_name"].strip()
        # Chinese names are written family name first, without a space.
        caller_name = f"{last}{first}" if not (first.isascii() and last.isascii()) else f"{first} {last}".strip()
        result = services.incident_intake(
            channel=channel, category=data["service_code"], description=data["description"], actor=request.user,
            location=data["location"], address_text=data["address_string"], major=data["major"],
            external_id=data["external_id"] or request.headers.get("Idempotency-Key") or None,
            caller_name=caller_name[:MAX_CALLER_NAME], caller_phone=data["phone"],
            subdistrict=_subdistrict(data["jurisdiction_id"], request.user) if data["jurisdiction_id"] else None,
        )
        notice = "" if result.created else _("This request was received before.")
        return Response([{"service_request_id": result.incident.number, "service_notice": notice,
                          "account_id": None}],
                        status=status.HTTP_201_CREATED if result.created else status.HTTP_200_OK)


class RequestDetailView(Open311View):
    xml_root = "service_requests"

    @extend_schema(tags=["open311"], operation_id="open311_request", summary="One Open311 service request (a list of one)",
                   parameters=[FMT, JURISDICTION, API_KEY_PARAMETER],
                   responses={200: Open311RequestSerializer(many=True), **_read_errors()})
    def get(self, request, service_request_id: str, fmt: str):
        q = _valid(JurisdictionQuerySerializer, request.query_params)
        number = _path_code(service_request_id, _("No such service request."))
        incident = api_support.open311_request_get(user=request.user, number=number)
        if incident is None or (q["jurisdiction_id"] and incident.subdistrict.code != q["jurisdiction_id"]):
            raise NotFound(_("No such service request."))
        return Response([request_data(incident, public=not request.user.is_authenticated)])
