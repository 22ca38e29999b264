"""The shapes of the wall API, for the OpenAPI schema and for reading the date of a replay.

The answers themselves are built as plain values by `wall.selectors` (the snapshot is loaded by
every wall map on connect and resync: no serializer pass over 692 members); these serializers
describe them field by field, and a test checks that the answers carry exactly these fields."""

from datetime import date

from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from rest_framework import serializers

from config.inputs import BIGINT_MAX
from dispatch.api import MemberMessageStatusSerializer, ReplacementSerializer
from incidents.serializers import CodeNameSerializer
from wall.selectors import local_today


def _lonlat(**kwargs) -> serializers.ListField:
    kwargs.setdefault("help_text", "[lon, lat], WGS 84")
    return serializers.ListField(child=serializers.FloatField(), min_length=2, max_length=2, **kwargs)


def _line(**kwargs) -> serializers.ListField:
    kwargs.setdefault("help_text", "[[lon, lat], ...], WGS 84")
    return serializers.ListField(child=_lonlat(), **kwargs)


class WallSubdistrictSerializer(CodeNameSerializer):
    bbox = serializers.ListField(child=serializers.FloatField(), min_length=4, max_length=4,
                                 help_text="[min lon, min lat, max lon, max lat]")


class OrderBaseSerializer(serializers.Serializer):
    """What the board and the replay both say of an order."""

    id = serializers.IntegerField()
    member = serializers.IntegerField()
    member_name = serializers.CharField()
    force = serializers.CharField()
    state = serializers.CharField()
    dispatched_at = serializers.DateTimeField()
    arrive_by = serializers.DateTimeField(allow_null=True)
    arrived_at = serializers.DateTimeField(allow_null=True)
    route = _line(allow_null=True, help_text="The road route from where the member set out, as seen at dispatch")


class WallOrderSerializer(OrderBaseSerializer):
    accepted_at = serializers.DateTimeField(allow_null=True)
    travel_seconds = serializers.FloatField(allow_null=True)
    eta = serializers.DateTimeField(allow_null=True, help_text="dispatched_at + travel_seconds while awaited")


class WallIncidentSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    number = serializers.CharField()
    status = serializers.CharField()
    status_label = serializers.CharField()
    category = CodeNameSerializer()
    channel = CodeNameSerializer()
    major = serializers.BooleanField()
    level = serializers.IntegerField()
    reported_at = serializers.DateTimeField()
    point = _lonlat(allow_null=True)
    address = serializers.CharField(allow_blank=True)
    grid = CodeNameSerializer(allow_null=True)
    summary = serializers.CharField(help_text="The description's first 60 characters")
    deadline = serializers.DateTimeField(allow_null=True,
                                         help_text="The earliest arrive_by of its dispatched or accepted orders")
    orders = WallOrderSerializer(many=True)


class WallShiftSerializer(serializers.Serializer):
    starts_at = serializers.DateTimeField()
    ends_at = serializers.DateTimeField()
    post = _lonlat(allow_null=True, help_text="The shift's post, if it has one")


class WallMemberSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    force = serializers.CharField()
    force_label = serializers.CharField()
    unit = serializers.CharField()
    status = serializers.CharField(help_text="on_duty, busy (holds a live order) or off_duty")
    point = _lonlat(allow_null=True)
    at = serializers.DateTimeField(allow_null=True, help_text="Time of the shared position; null for a duty post")
    stale = serializers.BooleanField()
    source = serializers.CharField(allow_null=True,  # type: ignore[assignment]  # a field named like a Field attribute
                                   help_text="live: a shared position; duty_post: none shared, drawn at the duty post")
    duty_post = _lonlat(allow_null=True, help_text="Where the member is drawn on duty without a shared position "
                                                   "(a shift without a post of its own)")
    shifts = WallShiftSerializer(many=True, help_text="The duty shifts that end after `now` and start before the "
                                                      "end of tomorrow, oldest first: the wall turns the member on "
                                                      "and off duty by them")


class WallGridSerializer(CodeNameSerializer):
    load = serializers.IntegerField(help_text="Open incidents in the grid")


class CountSerializer(CodeNameSerializer):
    count = serializers.IntegerField()


class WallCountsSerializer(serializers.Serializer):
    by_category = CountSerializer(many=True)
    by_channel = CountSerializer(many=True)
    today = serializers.IntegerField()
    open = serializers.IntegerField()
    overdue = serializers.IntegerField(help_text="Open incidents whose deadline has passed")


class WallAlarmSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    kind = serializers.CharField()
    kind_label = serializers.CharField()
    incident = serializers.IntegerField()
    number = serializers.CharField()
    due_at = serializers.DateTimeField(allow_null=True)
    raised_at = serializers.DateTimeField()
    state = serializers.CharField()
    note = serializers.CharField(allow_blank=True)
    snoozed_until = serializers.DateTimeField(allow_null=True)
    member = serializers.IntegerField(allow_null=True)
    member_name = serializers.CharField(allow_null=True)


class WallEventSerializer(serializers.Serializer):
    """An event as the wall socket sends it (incidents.events.event_payload)."""

    id = serializers.IntegerField()
    incident = serializers.IntegerField()
    number = serializers.CharField()
    kind = serializers.CharField()
    status = serializers.CharField(help_text="The incident's status now")
    at = serializers.DateTimeField()
    note = serializers.CharField(allow_blank=True)
    data = serializers.DictField()  # type: ignore[assignment]  # a field named like Serializer.data

    def get_fields(self):
        # `from` and `to` are Python keywords, so they cannot be declared in the class body.
        fields = super().get_fields()
        fields["from"] = serializers.CharField(allow_blank=True)
        fields["to"] = serializers.CharField(allow_blank=True)
        return fields


class WallTimelineEventSerializer(WallEventSerializer):
    actor = serializers.CharField(allow_null=True)


class WallStateSerializer(serializers.Serializer):
    subdistrict = WallSubdistrictSerializer()
    now = serializers.DateTimeField()
    last_event = serializers.IntegerField(help_text="Resume the wall socket from here")
    incidents = WallIncidentSerializer(many=True)
    members = WallMemberSerializer(many=True)
    grids = WallGridSerializer(many=True)
    counts = WallCountsSerializer()
    alarms = WallAlarmSerializer(many=True)
    events = WallEventSerializer(many=True, help_text="The latest events, newest first")


class WallCardOrderSerializer(WallOrderSerializer):
    told_at = serializers.DateTimeField(allow_null=True, help_text="When the order's message was written to the "
                                                                   "member (null: none)")
    seen_at = serializers.DateTimeField(allow_null=True, help_text="When the member read it in the app")


class WallPhotoSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    event = serializers.IntegerField(help_text="The report's timeline event (its data.photos lists the photo)")
    thumb_url = serializers.CharField()
    url = serializers.CharField(help_text="The large rendition")


class WallIncidentCardSerializer(WallIncidentSerializer):
    orders = WallCardOrderSerializer(many=True)
    description = serializers.CharField()
    timeline = WallTimelineEventSerializer(many=True)
    photos = WallPhotoSerializer(many=True, help_text="The on-site photos sent with the reports, oldest first")
    replacements = ReplacementSerializer(many=True, help_text="Who to send in place of a declined or late "
                                                              "responder (as on the incident page).")
    messages = MemberMessageStatusSerializer(many=True, help_text="Every message of the case and whether it "
                                             "reached its member (as on the incident page).")


class ReplayIncidentSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    number = serializers.CharField()
    category = CodeNameSerializer()
    channel = CodeNameSerializer()
    major = serializers.BooleanField()
    point = _lonlat(allow_null=True)
    reported_at = serializers.DateTimeField()
    summary = serializers.CharField()
    statuses = serializers.ListField(child=serializers.ListField(child=serializers.CharField(), min_length=2,
                                                                 max_length=2),
                                     help_text="[[iso time, status], ...] in order")


class ReplayOrderSerializer(OrderBaseSerializer):
    incident = serializers.IntegerField()


class ReplaySerializer(serializers.Serializer):
    date = serializers.DateField()
    start = serializers.DateTimeField()
    end = serializers.DateTimeField()
    incidents = ReplayIncidentSerializer(many=True)
    orders = ReplayOrderSerializer(many=True)
    tracks = serializers.DictField(
        child=serializers.ListField(child=serializers.ListField(child=serializers.JSONField())),
        help_text='{"<member id>": [[iso time, lon, lat], ...]}: at most one point per member per 15 s')


# The earliest day a replay may ask for: no record is older (a day of year 7 was answered with the
# local mean time of 1901's tz database, an offset with seconds that no client parses).
REPLAY_EARLIEST = date(2000, 1, 1)


AFTER_INVALID = _("“after” is the id of the newest event the wall has applied: a whole number.")


class StateQuerySerializer(serializers.Serializer):
    after = serializers.IntegerField(
        min_value=0, max_value=BIGINT_MAX, default=0,
        help_text="The newest event the wall has applied: the snapshot is not older than it. Default 0.",
        error_messages={"invalid": AFTER_INVALID, "min_value": AFTER_INVALID, "max_value": AFTER_INVALID},
    )


class ReplayQuerySerializer(serializers.Serializer):
    date = serializers.DateField(
        input_formats=["%Y-%m-%d"],
        error_messages={"required": _("Choose the day to replay."),
                        "null": _("Choose the day to replay."),
                        "invalid": _("Give the day as YYYY-MM-DD, for example 2026-11-03.")},
    )

    def validate_date(self, value):
        if value < REPLAY_EARLIEST:
            raise serializers.ValidationError(
                _("There is nothing to replay before %(day)s: choose a later day.") % {"day": REPLAY_EARLIEST})
        if value > local_today(timezone.now()):
            raise serializers.ValidationError(_("That day has not come yet: choose today or an earlier day."))
        return value
