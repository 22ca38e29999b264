"""Open311 GeoReport v2 (/open311/v2/), JSON only, for external systems (the district linkage
centre and others speaking the standard).

- Services are the incident categories; `group` is the statistic group; no metadata.
- A request is an incident: `service_request_id` is our case number ("YYYYMMDD-NNNN"), returned at
  once by POST (no token step). Open311 "open" is every open status of both flows; "closed" is
  closed or merged into another case. `jurisdiction_id` is a sub-district code (default: the first).
- POST creates through `incident_intake` on the channel `channel` (default: the district centre's
  dispatch orders). The sender's own id (`external_id` or the `Idempotency-Key` header) makes a
  retried POST answer the same request (201 the first time, 200 after).
- Auth: `api_key` (a DRF token; query string or form field) or the `Authorization: Token ...`
  header or a session. Reading and writing requests needs an integration user or a staff role
  (the service checks intake roles); services.json is public (categories only).
- Errors: `[{"code": <HTTP status>, "description": "..."}]` with that HTTP status.

No personal data leaves through Open311: no caller or party names, phones or ID numbers.
"""

from datetime import timedelta

from django.contrib.gis.geos import Point
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers, status
from rest_framework.authentication import SessionAuthentication, TokenAuthentication
from rest_framework.exceptions import NotFound, ParseError, ValidationError
from rest_framework.parsers import FormParser, JSONParser, MultiPartParser
from rest_framework.permissions import AllowAny
from rest_framework.renderers import JSONRenderer
from rest_framework.response import Response
from rest_framework.views import APIView

from config.exceptions import api_exception_handler
from config.permissions import HasRole
from config.roles import STAFF_ROLES, UserRole
from geo.selectors import subdistrict_get
from incidents import api_support, services
from incidents.models import Incident
from incidents.serializers import FiniteFloatField, category_field, channel_field

OPEN311_ROLES = (*STAFF_ROLES, UserRole.INTEGRATION)
MAX_CALLER_NAME = 64
OPEN311_DEFAULT_DAYS = 90


# --- plumbing: auth, errors, format --------------------------------------------------------------

class ApiKeyAuthentication(TokenAuthentication):
    """Open311's `api_key` (query string or form field) holding a DRF token key."""

    def authenticate(self, request):
        key = request.query_params.get("api_key")
        if not key and request.method == "POST":
            data = request.data
            key = data.get("api_key") if hasattr(data, "get") else None
        if not key:
            return None
        return self.authenticate_credentials(str(key))


class ApiKeyScheme(OpenApiAuthenticationExtension):
    target_class = ApiKeyAuthentication
    name = "open311ApiKey"

    def get_security_definition(self, auto_schema):
        return {"type": "apiKey", "in": "query", "name": "api_key"}


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


class Open311View(APIView):
    authentication_classes = [ApiKeyAuthentication, TokenAuthentication, SessionAuthentication]
    permission_classes = [HasRole]
    allowed_roles = OPEN311_ROLES
    parser_classes = [FormParser, MultiPartParser, JSONParser]
    renderer_classes = [JSONRenderer]

    def get_exception_handler(self):
        return open311_exception_handler

    def initial(self, request, *args, **kwargs):
        # The format suffix comes first: an .xml client learns that before anything else.
        if kwargs.get("fmt") != "json":
            raise ParseError(_("Only the JSON format is supported: use the .json endpoints."))
        super().initial(request, *args, **kwargs)


def _iso(value) -> str | None:
    return timezone.localtime(value).isoformat(timespec="seconds") if value else None


def _subdistrict(value: str | None):
    subdistrict = subdistrict_get(code=value or None)
    if subdistrict is None:
        raise NotFound(_("Unknown jurisdiction_id."))
    return subdistrict


def request_json(incident: Incident) -> dict:
    """One incident as an Open311 service request."""
    point = incident.location
    return {
        "service_request_id": incident.number,
        "status": "closed" if incident.status in api_support.CLOSED_STATUSES else "open",
        "status_notes": api_support.open311_status_notes(incident),
        "service_name": incident.category.display_name(),
        "service_code": incident.category.code,
        "description": incident.description,
        "agency_responsible": api_support.open311_agency(incident),
        "service_notice": "",
        "requested_datetime": _iso(incident.reported_at),
        "updated_datetime": _iso(incident.updated_at),
        "expected_datetime": _iso(incident.deadline),
        "address": incident.address_text or (incident.place.name if incident.place else ""),
        "address_id": None,
        "zipcode": None,
        "lat": round(point.y, 6) if point else None,
        "long": round(point.x, 6) if point else None,
        "media_url": None,
    }


# --- serializers (input) -------------------------------------------------------------------------

class RequestCreateSerializer(serializers.Serializer):
    jurisdiction_id = serializers.CharField(required=False, allow_blank=True, default="")
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

    def validate(self, attrs):
        if (attrs["lat"] is None) != (attrs["long"] is None):
            raise ValidationError({"lat": [gettext_lazy("Give both lat and long, or neither.")]})
        return attrs


class RequestListQuerySerializer(serializers.Serializer):
    jurisdiction_id = serializers.CharField(required=False, allow_blank=True, default="")
    service_request_id = serializers.CharField(required=False, allow_blank=True, default="")
    service_code = serializers.CharField(required=False, allow_blank=True, default="")
    status = serializers.CharField(required=False, allow_blank=True, default="")
    start_date = serializers.CharField(required=False, allow_blank=True, default="")
    end_date = serializers.CharField(required=False, allow_blank=True, default="")

    def _date(self, value: str):
        if not value:
            return None
        parsed = parse_datetime(value)
        if parsed is None:
            raise ValidationError(gettext_lazy("A date in W3C format is required, e.g. 2026-03-01T08:00:00+08:00."))
        return parsed if timezone.is_aware(parsed) else timezone.make_aware(parsed)

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


# --- views ---------------------------------------------------------------------------------------

FMT = OpenApiParameter("fmt", OpenApiTypes.STR, OpenApiParameter.PATH, enum=["json"])


class ServiceListView(Open311View):
    authentication_classes: list = []
    permission_classes = [AllowAny]

    @extend_schema(tags=["open311"], operation_id="open311_services", summary="Open311 services (the incident categories)", parameters=[FMT],
                   responses=OpenApiTypes.OBJECT)
    def get(self, request, fmt: str):
        keywords = api_support.category_keywords()
        return Response([
            {"service_code": c.code, "service_name": c.display_name(), "description": c.get_scope_display(),
             "metadata": False, "type": "realtime", "keywords": ",".join(keywords.get(c.pk, [])),
             "group": c.get_statistic_group_display()}
            for c in api_support.category_list()
        ])


class RequestListView(Open311View):
    @extend_schema(
        tags=["open311"], operation_id="open311_requests_list", summary="Open311 service requests (newest first, at most 1000)",
        description="Without start_date and end_date: the last 90 days.",
        parameters=[FMT, *(OpenApiParameter(name, OpenApiTypes.STR) for name in (
            "jurisdiction_id", "service_request_id", "service_code", "status", "start_date", "end_date", "api_key"))],
        responses=OpenApiTypes.OBJECT,
    )
    def get(self, request, fmt: str):
        serializer = RequestListQuerySerializer(data=request.query_params)
        serializer.is_valid(raise_exception=True)
        q = serializer.validated_data
        start, end = q["start_date"], q["end_date"]
        if start is None and end is None:
            start = timezone.now() - timedelta(days=OPEN311_DEFAULT_DAYS)
        incidents = api_support.open311_request_list(
            subdistrict=_subdistrict(q["jurisdiction_id"]), service_codes=_csv(q["service_code"]),
            statuses=q["status"], start=start, end=end, numbers=_csv(q["service_request_id"]))
        return Response([request_json(i) for i in incidents])

    @extend_schema(
        tags=["open311"], operation_id="open311_requests_create", summary="Create an Open311 service request (an incident)",
        description="201 with `[{service_request_id, service_notice, account_id}]`; 200 with the same answer when "
                    "`external_id` / the `Idempotency-Key` header was sent before.",
        parameters=[FMT, OpenApiParameter("Idempotency-Key", OpenApiTypes.STR, OpenApiParameter.HEADER)],
        request=RequestCreateSerializer, responses={201: OpenApiTypes.OBJECT, 200: OpenApiTypes.OBJECT},
    )
    def post(self, request, fmt: str):
        serializer = RequestCreateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        channel = data["channel"] or api_support.default_intake_channel()
        if channel is None:
            raise ValidationError({"channel": [_("No district order channel is set up; name a channel.")]})
        first, last = data["first_name"].strip(), data["last_name"].strip()
        # Chinese names are written family name first, without a space.
        caller_name = f"{last}{first}" if not (first.isascii() and last.isascii()) else f"{first} {last}".strip()
        point = Point(data["long"], data["lat"], srid=4326) if data["lat"] is not None else None
        result = services.incident_intake(
            channel=channel, category=data["service_code"], description=data["description"], actor=request.user,
            location=point, address_text=data["address_string"],
            external_id=data["external_id"] or request.headers.get("Idempotency-Key") or None,
            caller_name=caller_name[:MAX_CALLER_NAME], caller_phone=data["phone"],
            subdistrict=_subdistrict(data["jurisdiction_id"]) if data["jurisdiction_id"] else None,
        )
        notice = "" if result.created else _("This request was received before.")
        return Response([{"service_request_id": result.incident.number, "service_notice": notice,
                          "account_id": None}],
                        status=status.HTTP_201_CREATED if result.created else status.HTTP_200_OK)


class RequestDetailView(Open311View):
    @extend_schema(tags=["open311"], operation_id="open311_request", summary="One Open311 service request (a list of one)",
                   parameters=[FMT, OpenApiParameter("jurisdiction_id", OpenApiTypes.STR)],
                   responses=OpenApiTypes.OBJECT)
    def get(self, request, service_request_id: str, fmt: str):
        incident = api_support.open311_request_get(number=service_request_id)
        if incident is None:
            raise NotFound(_("No such service request."))
        return Response([request_json(incident)])

