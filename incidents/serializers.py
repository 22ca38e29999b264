"""Serializers of the incident API.

Input serializers check shape and types only and turn codes and ids into rows, with messages that
name what was wrong (unknown category, unknown or inactive channel, malformed location, unknown
unit or member). Every rule of the domain (text lengths, phone and ID formats, where a point may
lie, who may do what) is the services' business.

Output: coordinates are EPSG:4326 longitude/latitude rounded to 6 decimals (about 0.1 m); the
incident list is a GeoJSON FeatureCollection (`geometry` null for a case without a point).
Timestamps are ISO 8601 in the server's time zone (Asia/Shanghai). The personal data of the public
— callers' and parties' names and phones, ID numbers — is only ever shown masked ("张*",
"138****5678"); the full values come from the reveal endpoints, which are logged in the timeline.
"""

import math
from typing import TYPE_CHECKING

from django.conf import settings
from django.contrib.gis.geos import Point
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers
from rest_framework_gis.fields import GeometryField
from rest_framework_gis.serializers import GeoFeatureModelSerializer

from config.errors import DomainError

if TYPE_CHECKING:
    from django_stubs_ext import StrOrPromise
from config.roles import COMMAND_ROLES, REVEAL_ROLES, has_role
from dispatch.models import DispatchOrder, Force, Member, TravelMode, Unit
from geo.datum import DATUM_HELP, DATUMS, WGS84, to_wgs84
from geo.models import Subdistrict
from incidents import api_support
from incidents.models import (
    CallbackTask,
    Category,
    Channel,
    FeedbackDelivery,
    Handover,
    Incident,
    IncidentEvent,
    IncidentPhoto,
    Party,
    Report,
)
from incidents.selectors import contact_reveal_allowed
from incidents.validators import deadline_check, deadline_help, reported_at_check, reported_at_help

COORDINATE_PRECISION = 6

GEOJSON_POINT_SCHEMA = {
    "type": "object",
    "description": "GeoJSON Point in WGS 84: coordinates [longitude, latitude].",
    "properties": {
        "type": {"type": "string", "enum": ["Point"]},
        "coordinates": {"type": "array", "items": {"type": "number"}, "minItems": 2, "maxItems": 2},
    },
    "required": ["type", "coordinates"],
}


def geometry_field(**kwargs) -> GeometryField:
    return GeometryField(precision=COORDINATE_PRECISION, read_only=True, **kwargs)


# --- input fields --------------------------------------------------------------------------------

class CodeRelatedField(serializers.SlugRelatedField):
    """A row named by its code."""

    def __init__(self, *, unknown: "StrOrPromise", invalid: "StrOrPromise", **kwargs):
        kwargs.setdefault("slug_field", "code")
        kwargs["error_messages"] = {"does_not_exist": unknown, "invalid": invalid, **kwargs.get("error_messages", {})}
        super().__init__(**kwargs)


def category_field(**kwargs) -> CodeRelatedField:
    return CodeRelatedField(
        queryset=Category.objects.all(), unknown=_("Unknown category “{value}”."),
        invalid=_("A category is given by its code."), **kwargs)


def channel_field(**kwargs) -> CodeRelatedField:
    return CodeRelatedField(
        queryset=Channel.objects.filter(active=True), unknown=_("Unknown or inactive channel “{value}”."),
        invalid=_("A channel is given by its code."), **kwargs)


def subdistrict_field(**kwargs) -> CodeRelatedField:
    return CodeRelatedField(
        queryset=Subdistrict.objects.defer("boundary"), unknown=_("Unknown sub-district “{value}”."),
        invalid=_("A sub-district is given by its code."), **kwargs)


def unit_field(**kwargs) -> serializers.PrimaryKeyRelatedField:
    return serializers.PrimaryKeyRelatedField(
        queryset=Unit.objects.all(),
        error_messages={"does_not_exist": _("Unknown unit {pk_value}."),
                        "incorrect_type": _("A unit is given by its id (a number)."),
                        "not_a_list": _("Give a list of unit ids.")},
        **kwargs)


def member_field(**kwargs) -> serializers.PrimaryKeyRelatedField:
    return serializers.PrimaryKeyRelatedField(
        queryset=Member.objects.all(),
        error_messages={"does_not_exist": _("Unknown member {pk_value}."),
                        "incorrect_type": _("A member is given by its id (a number)."),
                        "not_a_list": _("Give a list of member ids.")},
        **kwargs)


def _is_finite_number(value) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


@extend_schema_field(GEOJSON_POINT_SCHEMA)
class GeoJSONPointField(serializers.Field):
    """A GeoJSON Point `{"type": "Point", "coordinates": [lon, lat]}` in WGS 84 → Point(srid=4326).
    Only the shape is checked here; whether the point is a real place near the sub-district is
    the services' question."""

    default_error_messages = {
        "invalid": _("The location must be a GeoJSON Point with coordinates [longitude, latitude]: "
                     "two finite numbers in WGS 84."),
    }

    def to_internal_value(self, data) -> Point:
        if not isinstance(data, dict) or data.get("type") != "Point":
            self.fail("invalid")
        coordinates = data.get("coordinates")
        if not isinstance(coordinates, list | tuple) or len(coordinates) != 2 \
                or not all(_is_finite_number(c) for c in coordinates):
            self.fail("invalid")
        return Point(float(coordinates[0]), float(coordinates[1]), srid=4326)

    def to_representation(self, value):
        return {"type": "Point", "coordinates": [round(value.x, COORDINATE_PRECISION),
                                                 round(value.y, COORDINATE_PRECISION)]}


class FiniteFloatField(serializers.FloatField):
    default_error_messages = {"not_finite": _("A finite number is required.")}

    def to_internal_value(self, data) -> float:
        value = super().to_internal_value(data)
        if not math.isfinite(value):
            self.fail("not_finite")
        return value


def _text(**kwargs) -> serializers.CharField:
    """Free text: length and content are checked by the services, which store it as typed."""
    return serializers.CharField(required=False, allow_blank=True, trim_whitespace=False, default="", **kwargs)


def datum_field() -> serializers.ChoiceField:
    """The datum of the points of a request (geo.datum): optional, WGS84 by default."""
    return serializers.ChoiceField(choices=DATUMS, required=False, default=WGS84, help_text=DATUM_HELP)


def point_in_wgs84(point: Point | None, datum: str) -> Point | None:
    """The point given in `datum`, in WGS 84: intake converts at the edge, as the positions API does."""
    if point is None or datum == WGS84:
        return point
    return Point(*to_wgs84(point.x, point.y, datum), srid=4326)


class DatumMixin:
    """Converts `location` from the request's `datum` to WGS 84 once the fields are valid."""

    def validate(self, attrs):
        attrs = super().validate(attrs)
        attrs["location"] = point_in_wgs84(attrs.get("location"), attrs.get("datum", WGS84))
        return attrs


# --- input serializers ---------------------------------------------------------------------------

class IntakeInputSerializer(DatumMixin, serializers.Serializer):
    channel = channel_field()
    external_id = serializers.CharField(required=False, allow_null=True, allow_blank=True, default=None)
    category = category_field()
    description = serializers.CharField(allow_blank=True, trim_whitespace=False)
    location = GeoJSONPointField(required=False, allow_null=True, default=None)
    datum = datum_field()
    address = _text()
    caller_name = _text()
    caller_phone = _text()
    major = serializers.BooleanField(required=False, default=False)
    reported_at = serializers.DateTimeField(required=False, allow_null=True, default=None, help_text=reported_at_help())
    link_to = serializers.IntegerField(required=False, allow_null=True, default=None, min_value=1)
    subdistrict = subdistrict_field(required=False, allow_null=True, default=None)
    offices = unit_field(many=True, required=False, default=list)
    deadline = serializers.DateTimeField(required=False, allow_null=True, default=None, help_text=deadline_help())

    def validate(self, attrs):
        """The report's time and deadline within their bounds (incidents/validators.py) — for a new
        report: a retry of one already taken (its channel's external id) is answered with its case
        however long the sender waited."""
        attrs = super().validate(attrs)
        if attrs.get("external_id") and Report.objects.filter(channel=attrs["channel"],
                                                              external_id=attrs["external_id"]).exists():
            return attrs
        now = timezone.now()
        try:
            if attrs.get("reported_at") is not None:
                reported_at_check(attrs["reported_at"], now=now)
        except DomainError as exc:
            raise serializers.ValidationError({"reported_at": [exc.message]}) from None
        try:
            if attrs.get("deadline") is not None:
                deadline_check(attrs["deadline"], reported_at=attrs.get("reported_at") or now)
        except DomainError as exc:
            raise serializers.ValidationError({"deadline": [exc.message]}) from None
        return attrs


class TransitionInputSerializer(serializers.Serializer):
    action = serializers.CharField()
    text = _text()
    unit = unit_field(required=False, allow_null=True, default=None)
    members = member_field(many=True, required=False, default=list)
    method = serializers.CharField(required=False, allow_blank=True, default="")
    position = GeoJSONPointField(
        required=False, allow_null=True, default=None,
        help_text="`arrive` only: where the arriving responder is now (WGS 84); checked against the scene.")
    off_duty_override = member_field(
        many=True, required=False, default=list,
        help_text="`dispatch` only: members among `members` to dispatch although they are off duty "
                  "(without this an off-duty member is refused).")
    reason = serializers.CharField(
        required=False, allow_blank=True, default="", trim_whitespace=False,
        help_text="`complete` by the command room or a dispatcher: why the command room completes the named "
                  "`unit`'s part on the office's behalf (required then; shown in the timeline).")
    # Checked by the service (incidents/photos.py), which names the photo at fault: here only files.
    photos = serializers.ListField(
        child=serializers.FileField(allow_empty_file=True, use_url=False), required=False, default=list,
        help_text="`report_on_site` only, multipart/form-data: up to 3 photos (JPEG, PNG or WebP; each at most "
                  "PHOTO_MAX_BYTES, 8 MiB by default), the field repeated once per photo.")


class MergeInputSerializer(serializers.Serializer):
    into = serializers.IntegerField(min_value=1, help_text="Id of the case that keeps the reports.")


class LocateInputSerializer(DatumMixin, serializers.Serializer):
    location = GeoJSONPointField()
    datum = datum_field()


class CategoryInputSerializer(serializers.Serializer):
    category = category_field()


class PartyInputSerializer(serializers.Serializer):
    name = serializers.CharField(allow_blank=True, trim_whitespace=False)
    phone = _text()
    id_number = _text()
    role = serializers.CharField(required=False, default=Party.Role.PARTY)


class CallbackCompleteInputSerializer(serializers.Serializer):
    state = serializers.CharField()
    satisfaction = serializers.CharField(required=False, allow_blank=True, default="")
    note = _text()
    reopen = serializers.BooleanField(required=False, default=False)


class PointQuerySerializer(serializers.Serializer):
    lon = FiniteFloatField(min_value=-180, max_value=180)
    lat = FiniteFloatField(min_value=-90, max_value=90)
    datum = datum_field()

    def validate(self, attrs):
        attrs["lon"], attrs["lat"] = to_wgs84(attrs["lon"], attrs["lat"], attrs.get("datum", WGS84))
        return attrs


class DuplicateQuerySerializer(PointQuerySerializer):
    category = category_field(required=False, allow_null=True, default=None)


# --- output: small pieces ------------------------------------------------------------------------

class CodeNameSerializer(serializers.Serializer):
    code = serializers.CharField()
    name = serializers.CharField()


class IdNameSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()


class CategorySerializer(serializers.ModelSerializer):
    scope_display = serializers.CharField(source="get_scope_display")
    statistic_group_display = serializers.CharField(source="get_statistic_group_display")

    class Meta:
        model = Category
        fields = ["code", "name", "name_en", "scope", "scope_display", "is_police", "statistic_group",
                  "statistic_group_display", "major_by_default"]


class ChannelSerializer(serializers.ModelSerializer):
    kind_display = serializers.CharField(source="get_kind_display")

    class Meta:
        model = Channel
        fields = ["code", "name", "kind", "kind_display", "phone"]


class UnitSerializer(serializers.ModelSerializer):
    kind_display = serializers.CharField(source="get_kind_display")

    class Meta:
        model = Unit
        fields = ["id", "code", "name", "kind", "kind_display"]


class SuggestionSerializer(serializers.Serializer):
    """One (category, score) pair of `category_suggest`."""

    code = serializers.CharField()
    name = serializers.CharField()
    score = serializers.IntegerField()

    def to_representation(self, instance):
        category, score = instance
        return {"code": category.code, "name": category.name, "score": score}


class DuplicateSerializer(serializers.ModelSerializer):
    """A likely duplicate offered at intake."""

    category = serializers.CharField(source="category.code")
    category_name = serializers.CharField(source="category.name")
    status_display = serializers.CharField(source="get_status_display")

    class Meta:
        model = Incident
        fields = ["id", "number", "category", "category_name", "status", "status_display", "reported_at",
                  "address_text", "description"]


class PartySerializer(serializers.ModelSerializer):
    """A person involved: name, phone and ID number masked (the full ones via the reveal endpoints)."""

    name = serializers.CharField(source="name_masked", help_text="Masked (张*).")
    phone = serializers.CharField(source="phone_masked", help_text="Masked (138****5678).")
    role_display = serializers.CharField(source="get_role_display")
    id_number_masked = serializers.CharField()

    class Meta:
        model = Party
        fields = ["id", "name", "phone", "role", "role_display", "id_number_masked", "registered_at"]


class EventSerializer(serializers.ModelSerializer):
    """One timeline entry. `from` and `to` are the statuses before and after (blank when the
    status did not change)."""

    kind_display = serializers.CharField(source="get_kind_display")
    actor = serializers.CharField(source="actor.username", default=None, allow_null=True)
    actor_member = serializers.CharField(source="actor_member.name", default=None, allow_null=True)
    data = serializers.DictField(source="data_masked", help_text="Names and phones of the public masked.")  # type: ignore[assignment]  # a field named like Serializer.data

    class Meta:
        model = IncidentEvent
        fields = ["id", "kind", "kind_display", "at", "actor", "actor_member", "note", "data"]

    def get_fields(self):
        # `from` and `to` are Python keywords, so they cannot be declared in the class body.
        fields = super().get_fields()
        fields["from"] = serializers.CharField(source="from_status")
        fields["to"] = serializers.CharField(source="to_status")
        return fields


class ReportSerializer(serializers.ModelSerializer):
    channel = serializers.CharField(source="channel.code")
    channel_name = serializers.CharField(source="channel.name")
    caller_name = serializers.CharField(source="caller_name_masked", help_text="Masked.")
    caller_phone = serializers.CharField(source="caller_phone_masked", help_text="Masked.")

    class Meta:
        model = Report
        fields = ["id", "channel", "channel_name", "external_id", "caller_name", "caller_phone", "description",
                  "address_text", "received_at"]


class HandoverSerializer(serializers.ModelSerializer):
    unit = IdNameSerializer()
    kind_display = serializers.CharField(source="get_kind_display")
    state_display = serializers.CharField(source="get_state_display")

    class Meta:
        model = Handover
        fields = ["id", "unit", "kind", "kind_display", "state", "state_display", "lead", "reason", "return_reason",
                  "accept_by", "deadline", "created_at", "decided_at", "completed_at", "result", "on_behalf_reason"]


class OrderSerializer(serializers.ModelSerializer):
    member = IdNameSerializer()
    force = serializers.CharField(source="member.force")
    force_display = serializers.CharField(source="member.get_force_display")
    unit = serializers.CharField(source="member.unit.name")
    method_display = serializers.CharField(source="get_method_display")
    state_display = serializers.CharField(source="get_state_display")

    class Meta:
        model = DispatchOrder
        fields = ["id", "member", "force", "force_display", "unit", "method", "method_display", "state",
                  "state_display", "dispatched_at", "accepted_at", "arrived_at", "arrive_by", "stood_down_at",
                  "stand_down_reason", "replaces"]


class CallbackSerializer(serializers.ModelSerializer):
    """A call-back. Name and phone masked, always: the desk that makes the calls reveals the number
    of the one it is calling (`callbacks` of the case's logged reveal)."""

    incident = serializers.IntegerField(source="incident_id")
    number = serializers.CharField(source="incident.number")
    state_display = serializers.CharField(source="get_state_display")
    name = serializers.CharField(source="name_masked")
    phone = serializers.CharField(source="phone_masked")

    class Meta:
        model = CallbackTask
        fields = ["id", "incident", "number", "name", "phone", "state", "state_display", "satisfaction", "note",
                  "created_at", "done_at"]


class DeliverySerializer(serializers.ModelSerializer):
    state_display = serializers.CharField(source="get_state_display")

    class Meta:
        model = FeedbackDelivery
        fields = ["id", "state", "state_display", "attempts", "next_attempt_at", "delivered_at", "created_at"]


def photo_url(photo_id: int, size: str) -> str:
    """Where a photo is served (to those who may see its case): GET /api/v1/photos/{id}/?size=…"""
    return f"{reverse('incidents:photo', args=[photo_id])}?size={size}"


class PhotoSerializer(serializers.ModelSerializer):
    """An on-site photo: `url` opens the large rendition, `thumb_url` the thumbnail. Where it was
    taken (EXIF: `exif_location`, and `distance_m` from the case's point) only for the command roles,
    null for everybody else. Context: `request`."""

    url = serializers.SerializerMethodField()
    thumb_url = serializers.SerializerMethodField()
    exif_location = serializers.SerializerMethodField(help_text="[lon, lat] (WGS 84) from the photo's EXIF GPS; "
                                                                "null without one, or for a non-command role.")
    distance_m = serializers.SerializerMethodField(help_text="Metres between exif_location and the case's point.")
    uploaded_by_name = serializers.CharField()
    event = serializers.IntegerField(source="event_id", help_text="The report's timeline event.")

    class Meta:
        model = IncidentPhoto
        fields = ["id", "url", "thumb_url", "taken_at", "exif_location", "distance_m", "uploaded_by_name", "event",
                  "width", "height"]

    def _command(self) -> bool:
        request = self.context.get("request")
        return request is not None and has_role(request.user, *COMMAND_ROLES)

    def get_url(self, photo) -> str:
        return photo_url(photo.pk, "large")

    def get_thumb_url(self, photo) -> str:
        return photo_url(photo.pk, "thumb")

    @extend_schema_field({"type": "array", "items": {"type": "number"}, "nullable": True})
    def get_exif_location(self, photo):
        point = photo.exif_location
        if point is None or not self._command():
            return None
        return [round(point.x, COORDINATE_PRECISION), round(point.y, COORDINATE_PRECISION)]

    @extend_schema_field({"type": "number", "nullable": True})
    def get_distance_m(self, photo):
        distance = photo.distance_from_case_m if self._command() else None
        return None if distance is None else round(distance)


class ActionSerializer(serializers.Serializer):
    """One button of the UI: an action the flow allows now and the user may make."""

    action = serializers.CharField()
    label = serializers.CharField()  # type: ignore[assignment]  # a field named like a Field attribute
    requires = serializers.ListField(child=serializers.CharField())
    choices = serializers.DictField(
        child=serializers.ListField(child=serializers.DictField()),
        help_text="Allowed values of required fields that are a choice (e.g. `method`).")

    def to_representation(self, t):
        choices = {}
        if "method" in t.requires:
            choices["method"] = [{"value": v, "label": str(label)} for v, label in DispatchOrder.Method.choices]
        return {"action": t.action, "label": str(t.label), "requires": list(t.requires), "choices": choices}


# --- output: incidents ---------------------------------------------------------------------------

class IncidentFeatureSerializer(GeoFeatureModelSerializer):
    """A case on the map: a GeoJSON Feature (geometry null without a point)."""

    location = geometry_field(allow_null=True)
    status_display = serializers.CharField(source="get_status_display", read_only=True)
    category = serializers.CharField(source="category.code", read_only=True)
    category_name = serializers.CharField(source="category.name", read_only=True)
    channel = serializers.CharField(source="channel.code", read_only=True)
    channel_name = serializers.CharField(source="channel.name", read_only=True)
    grid = serializers.CharField(source="grid.code", default=None, read_only=True, allow_null=True)
    community = serializers.CharField(source="community.name", default=None, read_only=True, allow_null=True)

    class Meta:
        model = Incident
        geo_field = "location"
        fields = ["id", "number", "status", "status_display", "flow", "major", "category", "category_name",
                  "channel", "channel_name", "description", "address_text", "grid", "community",
                  "outside_jurisdiction", "reported_at", "updated_at", "deadline"]


class IncidentSummarySerializer(serializers.ModelSerializer):
    location = GeoJSONPointField(read_only=True)
    status_display = serializers.CharField(source="get_status_display")
    flow_display = serializers.CharField(source="get_flow_display")
    category = CodeNameSerializer()
    channel = CodeNameSerializer()
    subdistrict = CodeNameSerializer()
    grid = CodeNameSerializer(allow_null=True)
    community = CodeNameSerializer(allow_null=True)

    class Meta:
        model = Incident
        fields = ["id", "number", "status", "status_display", "flow", "flow_display", "major", "category",
                  "channel", "external_id", "description", "address_text", "location", "subdistrict", "grid",
                  "community", "outside_jurisdiction", "reported_at", "created_at", "updated_at", "deadline"]


class IntakeResponseSerializer(IncidentSummarySerializer):
    """The case a report went into, whether it was created, likely duplicates and suggested
    categories. Context: `created`, `duplicates`, `suggestions`."""

    created = serializers.SerializerMethodField()
    duplicates = serializers.SerializerMethodField()
    suggested_categories = serializers.SerializerMethodField()

    class Meta(IncidentSummarySerializer.Meta):
        fields = [*IncidentSummarySerializer.Meta.fields, "created", "duplicates", "suggested_categories"]

    def get_created(self, obj) -> bool:
        return bool(self.context["created"])

    @extend_schema_field(DuplicateSerializer(many=True))
    def get_duplicates(self, obj):
        return DuplicateSerializer(self.context["duplicates"], many=True).data

    @extend_schema_field(SuggestionSerializer(many=True))
    def get_suggested_categories(self, obj):
        return SuggestionSerializer(self.context["suggestions"], many=True).data


class IncidentDetailSerializer(IncidentSummarySerializer):
    """One case with its timeline, reports, people, hand-overs, orders, call-backs, result
    deliveries and the `actions` the requesting user may take now. Context: `request`."""

    place = IdNameSerializer(allow_null=True)
    merged_into = serializers.SerializerMethodField()
    events = EventSerializer(many=True)
    reports = ReportSerializer(many=True)
    parties = PartySerializer(many=True)
    handovers = HandoverSerializer(many=True)
    orders = OrderSerializer(many=True)
    callbacks = CallbackSerializer(many=True)
    deliveries = DeliverySerializer(many=True)
    photos = serializers.SerializerMethodField()
    actions = serializers.SerializerMethodField()
    caller_name = serializers.CharField(source="caller_name_masked", help_text="Masked.")
    caller_phone = serializers.CharField(source="caller_phone_masked", help_text="Masked.")
    may_reveal = serializers.SerializerMethodField(
        help_text="What the user may reveal: `contacts` (callers' and parties' names and phones, "
                  "POST incidents/{id}/reveal/) and `id_numbers` (POST parties/{id}/reveal/).")

    class Meta(IncidentSummarySerializer.Meta):
        fields = [*IncidentSummarySerializer.Meta.fields, "place", "caller_name", "caller_phone", "resolved_at",
                  "closed_at", "reopen_count", "merged_into", "events", "reports", "parties", "handovers",
                  "orders", "callbacks", "deliveries", "photos", "actions", "may_reveal"]

    @extend_schema_field({"type": "object", "properties": {"contacts": {"type": "boolean"},
                                                           "id_numbers": {"type": "boolean"}}})
    def get_may_reveal(self, obj):
        user = self.context["request"].user
        return {"contacts": contact_reveal_allowed(user=user, incident=obj),
                "id_numbers": has_role(user, *REVEAL_ROLES)}

    @extend_schema_field(PhotoSerializer(many=True))
    def get_photos(self, obj):
        return PhotoSerializer(obj.photo_list, many=True, context=self.context).data

    @extend_schema_field({"type": "object", "nullable": True,
                          "properties": {"id": {"type": "integer"}, "number": {"type": "string"}}})
    def get_merged_into(self, obj):
        return {"id": obj.merged_into_id, "number": obj.merged_into.number} if obj.merged_into_id else None

    @extend_schema_field(ActionSerializer(many=True))
    def get_actions(self, obj):
        user = self.context["request"].user
        return ActionSerializer(api_support.transitions_permitted(user=user, incident=obj), many=True).data


# --- output: geo helpers -------------------------------------------------------------------------

class AddressMatchSerializer(serializers.Serializer):
    """One gazetteer match with the grid its point falls in. Instance: (AddressMatch, Grid | None)."""

    id = serializers.IntegerField()
    text = serializers.CharField()
    lon = serializers.FloatField()
    lat = serializers.FloatField()
    place = IdNameSerializer(allow_null=True)
    grid = serializers.CharField(allow_null=True)
    score = serializers.FloatField()

    def to_representation(self, instance):
        match, grid = instance
        point = match.address.location
        place = match.address.place
        return {"id": match.address.pk, "text": match.address.text,
                "lon": round(point.x, COORDINATE_PRECISION), "lat": round(point.y, COORDINATE_PRECISION),
                "place": {"id": place.pk, "name": place.name} if place else None,
                "grid": grid.code if grid else None, "score": round(match.score, 3)}


class LocationSerializer(serializers.Serializer):
    """Where a point lies (geo.gazetteer.Location)."""

    subdistrict = CodeNameSerializer(allow_null=True)
    grid = CodeNameSerializer(allow_null=True)
    community = CodeNameSerializer(allow_null=True)
    outside = serializers.BooleanField()
    distance_outside_m = serializers.FloatField(
        allow_null=True, help_text="Metres outside the sub-district: 0 inside, null when there is none to measure from.")

    def to_representation(self, instance):
        out = super().to_representation(instance)
        distance = instance.distance_outside_m
        out["distance_outside_m"] = round(distance, 1) if math.isfinite(distance) else None
        return out


class ReturnCountSerializer(serializers.Serializer):
    unit = serializers.IntegerField(source="unit_id")
    unit_name = serializers.CharField(source="unit__name")
    received = serializers.IntegerField()
    returned = serializers.IntegerField()


class RevealSerializer(serializers.Serializer):
    id_number = serializers.CharField()


class ContactsRevealInputSerializer(serializers.Serializer):
    caller = serializers.BooleanField(required=False, default=False,
                                      help_text="The callers: the case's and each report's.")
    parties = serializers.ListField(child=serializers.IntegerField(min_value=1), required=False, default=list,
                                    max_length=50, help_text="Ids of people involved in the case.")
    callbacks = serializers.ListField(child=serializers.IntegerField(min_value=1), required=False, default=list,
                                      max_length=50, help_text="Ids of the case's call-backs (the person to call).")

    def validate(self, attrs):
        if not attrs["caller"] and not attrs["parties"] and not attrs["callbacks"]:
            raise serializers.ValidationError({"caller": [_("Say what to reveal: the caller or people involved.")]})
        return attrs


class RevealedReportSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    caller_name = serializers.CharField()
    caller_phone = serializers.CharField()


class RevealedCallerSerializer(serializers.Serializer):
    name = serializers.CharField()
    phone = serializers.CharField()
    reports = RevealedReportSerializer(many=True)


class RevealedPartySerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    phone = serializers.CharField()


class ContactsRevealedSerializer(serializers.Serializer):
    """The full names and phones asked for (incidents.services.ContactsRevealed)."""

    caller = RevealedCallerSerializer(allow_null=True)
    parties = RevealedPartySerializer(many=True)
    callbacks = RevealedPartySerializer(many=True)



# --- recommendation (dispatch.recommend) ---------------------------------------------------------

class RecommendationQuerySerializer(serializers.Serializer):
    at = serializers.DateTimeField(required=False, allow_null=True, default=None,
                                   help_text="What-if: the instant to recommend for (ISO 8601); default now.")
    level = serializers.IntegerField(required=False, allow_null=True, default=None, min_value=0, max_value=9,
                                     help_text="Escalation level (rings of rules); default the case's.")


class GridRefSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    code = serializers.CharField()
    name = serializers.CharField()
    community = IdNameSerializer()


class RuleRefSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    code = serializers.CharField()
    name = serializers.CharField()
    level = serializers.IntegerField()


class CandidatePositionSerializer(serializers.Serializer):
    source = serializers.ChoiceField(choices=["live", "duty_post", "home"],  # type: ignore[assignment]  # a field named like a Field attribute
                                     help_text="What the member is ranked from.")
    stale = serializers.BooleanField(help_text="A shared position was there but too old.")
    recorded_at = serializers.DateTimeField(allow_null=True)
    point = serializers.ListField(child=serializers.FloatField(), help_text="[longitude, latitude], WGS 84.")


class CandidateSerializer(serializers.Serializer):
    """One member who could go (dispatch.recommend.Candidate)."""

    member = serializers.DictField(help_text="{id, code, name, phone}")
    force = serializers.CharField()
    force_display = serializers.CharField()
    unit = IdNameSerializer()
    unit_kind = serializers.CharField()
    travel_mode = serializers.CharField()
    travel_mode_display = serializers.CharField()
    rule = RuleRefSerializer(allow_null=True)
    rules = serializers.ListField(child=serializers.CharField(), help_text="Codes of every rule naming the member.")
    relation = serializers.CharField(help_text="own_grid, backup_grid, neighbour_grid, community, place, department, "
                                               "reserve, unit, force, leaders or chosen.")
    level = serializers.IntegerField()
    reason = serializers.CharField()
    reasons = serializers.ListField(child=serializers.CharField())
    proposed = serializers.BooleanField(help_text="Pre-selected: on duty, under the load limit, among the rule's "
                                                  "fastest.")
    available = serializers.BooleanField()
    on_duty = serializers.BooleanField()
    load = serializers.IntegerField()
    load_limit = serializers.IntegerField()
    position = CandidatePositionSerializer()
    straight_m = serializers.FloatField()
    travel_seconds = serializers.FloatField(allow_null=True)
    deadline_minutes = serializers.IntegerField(allow_null=True, help_text="Null: no deadline binds them (21:30).")
    arrive_by = serializers.DateTimeField(allow_null=True)
    reachable = serializers.BooleanField(help_text="The travel time is within the deadline.")
    route = serializers.ListField(child=serializers.ListField(child=serializers.FloatField()), allow_null=True,
                                 help_text="The fastest route as [longitude, latitude] points (first candidates).")


class RecommendationSerializer(serializers.Serializer):
    """The responders proposed for a case (dispatch.recommend.Recommendation). Built by hand in
    `to_representation`: the fields above are for the OpenAPI schema."""

    incident = serializers.IntegerField()
    at = serializers.DateTimeField()
    level = serializers.IntegerField()
    at_once_minutes = serializers.IntegerField()
    point = serializers.ListField(child=serializers.FloatField())
    grid = GridRefSerializer(allow_null=True)
    community = IdNameSerializer(allow_null=True)
    backup_grids = GridRefSerializer(many=True)
    neighbour_grids = GridRefSerializer(many=True)
    outside = serializers.BooleanField()
    notes = serializers.ListField(child=serializers.CharField())
    rules = RuleRefSerializer(many=True)
    already_dispatched = serializers.ListField(child=serializers.IntegerField())
    candidates = CandidateSerializer(many=True)

    def to_representation(self, rec):
        forces, modes = dict(Force.choices), dict(TravelMode.choices)
        at_field = serializers.DateTimeField()

        def grid(g):
            return None if g is None else {"id": g.id, "code": g.code, "name": g.name,
                                           "community": {"id": g.community_id, "name": g.community_name}}

        def rule(r):
            return None if r is None else {"id": r.pk, "code": r.code, "name": r.name, "level": r.level}

        def candidate(c):
            return {
                "member": {"id": c.member_id, "code": c.code, "name": c.name, "phone": c.phone},
                "force": c.force, "force_display": str(forces.get(c.force, c.force)),
                "unit": {"id": c.unit_id, "name": c.unit_name}, "unit_kind": c.unit_kind,
                "travel_mode": c.mode, "travel_mode_display": str(modes.get(c.mode, c.mode)),
                "rule": rule(c.rule), "rules": [r.code for r in c.rules], "relation": c.relation, "level": c.level,
                "reason": c.reason, "reasons": c.reasons, "proposed": c.proposed, "available": c.available,
                "on_duty": c.on_duty, "load": c.load, "load_limit": c.load_limit,
                "position": {"source": c.position_source, "stale": c.position_stale,
                             "recorded_at": at_field.to_representation(c.position_recorded_at)
                             if c.position_recorded_at else None, "point": list(c.origin)},
                "straight_m": c.straight_m, "travel_seconds": c.travel_seconds,
                "deadline_minutes": c.deadline_minutes, "arrive_by": at_field.to_representation(c.arrive_by),
                "reachable": c.reachable, "route": [list(p) for p in c.route] if c.route else None,
            }

        return {
            "incident": rec.incident_id, "at": at_field.to_representation(rec.at), "level": rec.level,
            "at_once_minutes": settings.DISPATCH_AT_ONCE_MINUTES,
            "point": [round(rec.point[0], COORDINATE_PRECISION), round(rec.point[1], COORDINATE_PRECISION)],
            "grid": grid(rec.grid),
            "community": {"id": rec.grid.community_id, "name": rec.grid.community_name} if rec.grid else None,
            "backup_grids": [grid(g) for g in rec.backup_grids],
            "neighbour_grids": [grid(g) for g in rec.neighbour_grids],
            "outside": rec.outside, "notes": [str(n) for n in rec.notes], "rules": [rule(r) for r in rec.rules],
            "already_dispatched": rec.already_dispatched,
            "candidates": [candidate(c) for c in rec.candidates],
        }
