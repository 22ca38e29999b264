"""Who: the participating units, the 692 members of the linkage forces, their duty rosters and
their last known positions."""

import pgtrigger
from django.conf import settings
from django.contrib.gis.db import models
from django.contrib.postgres.constraints import ExclusionConstraint
from django.contrib.postgres.fields import ArrayField, DateTimeRangeField, RangeBoundary, RangeOperators
from django.contrib.postgres.indexes import BrinIndex
from django.db.models import F, Func, Q
from django.utils.translation import gettext_lazy as _

from audit.tracking import track_changes, track_links


class Force(models.TextChoices):
    """The linkage forces of mission.md (联动力量配备), by their code names."""

    COMMAND_ROOM = "command_room", _("command room")
    GRID_WORKER = "grid_worker", _("full-time grid worker")
    POLICE_CALL_CENTRE = "police_call_centre", _("police call-receiving centre")
    POLICE = "police", _("police officer")
    SAFETY_ENFORCEMENT = "safety_enforcement", _("safety enforcement squad")
    URBAN_MANAGEMENT = "urban_management", _("urban management")
    TRAFFIC_STATION = "traffic_station", _("traffic work station")
    LABOUR_INSPECTION = "labour_inspection", _("labour inspection squad")
    BUILDING_STATION = "building_station", _("building work station")
    GRID_LEADER = "grid_leader", _("grid leader")
    OFFICE_STAFF = "office_staff", _("sub-district office staff")
    STATION_STAFF = "station_staff", _("seconded station staff")
    PROPERTY_CONTACT = "property_contact", _("property-management contact")
    SITE_CONTACT = "site_contact", _("construction-site contact")
    ENTERPRISE_CONTACT = "enterprise_contact", _("enterprise contact")
    PARK_CONTACT = "park_contact", _("business-park building contact")


# The demo sub-district's strength per force (mission.md; the plan's 692).
FORCE_STRENGTH: dict[str, int] = {
    Force.COMMAND_ROOM: 14,
    Force.GRID_WORKER: 74,
    Force.POLICE_CALL_CENTRE: 6,
    Force.POLICE: 219,
    Force.SAFETY_ENFORCEMENT: 10,
    Force.URBAN_MANAGEMENT: 30,
    Force.TRAFFIC_STATION: 30,
    Force.LABOUR_INSPECTION: 6,
    Force.BUILDING_STATION: 16,
    Force.GRID_LEADER: 52,
    Force.OFFICE_STAFF: 50,
    Force.STATION_STAFF: 74,
    Force.PROPERTY_CONTACT: 20,
    Force.SITE_CONTACT: 50,
    Force.ENTERPRISE_CONTACT: 8,
    Force.PARK_CONTACT: 33,
}


class Role(models.TextChoices):
    """Roles a member holds besides their force."""

    GRID_LEADER = "grid_leader", _("grid leader")
    SECURITY_DIRECTOR = "security_director", _("security director")
    PRINCIPAL_LEADER = "principal_leader", _("principal leader")
    RESPONSIBLE_LEADER = "responsible_leader", _("responsible leader")
    UNIT_LEADER = "unit_leader", _("unit leader")
    SHIFT_LEADER = "shift_leader", _("shift leader")


class TravelMode(models.TextChoices):
    FOOT = "foot", _("on foot")
    EBIKE = "ebike", _("e-bike")
    CAR = "car", _("car")


@track_changes()
class Unit(models.Model):
    """A participating unit of the linkage organisation (联动组织体系)."""

    class Kind(models.TextChoices):
        COMMAND_ROOM = "command_room", _("command room")
        POLICE_STATION = "police_station", _("police station")
        GRID_SQUAD = "grid_squad", _("grid squad")
        SAFETY_ENFORCEMENT = "safety_enforcement", _("safety enforcement squad")
        TRAFFIC_STATION = "traffic_station", _("traffic work station")
        LABOUR_SECURITY = "labour_security", _("labour security squad")
        URBAN_MANAGEMENT = "urban_management", _("urban management squad")
        JUDICIAL_OFFICE = "judicial_office", _("judicial office")
        MARKET_SUPERVISION = "market_supervision", _("market supervision office")
        ENVIRONMENT_OFFICE = "environment_office", _("environmental protection office")
        FIRE_SQUAD = "fire_squad", _("fire squad")
        TRAFFIC_POLICE = "traffic_police", _("traffic police squad")
        TRANSPORT_OFFICE = "transport_office", _("transport office")
        ROAD_ADMINISTRATION = "road_administration", _("road administration squad")
        HOUSING_OFFICE = "housing_office", _("housing office")
        BUILDING_STATION = "building_station", _("building work station")
        SUBDISTRICT_OFFICE = "subdistrict_office", _("sub-district office")
        COMMUNITY = "community", _("village/community")
        PROPERTY_COMPANY = "property_company", _("property company")
        CONSTRUCTION_SITE = "construction_site", _("construction site")
        ENTERPRISE = "enterprise", _("enterprise")
        PARK = "park", _("business park")
        LEADERSHIP = "leadership", _("leading group")

    subdistrict = models.ForeignKey("geo.Subdistrict", on_delete=models.PROTECT, related_name="units")
    code = models.CharField(_("code"), max_length=32)
    name = models.CharField(_("name"), max_length=128)
    kind = models.CharField(_("kind"), max_length=32, choices=Kind.choices)
    community = models.ForeignKey(
        "geo.Community", on_delete=models.PROTECT, null=True, blank=True, related_name="units"
    )
    phone = models.CharField(_("duty phone"), max_length=32, blank=True)
    base = models.PointField(_("base"), srid=4326, null=True, blank=True)

    class Meta:
        verbose_name = _("unit")
        verbose_name_plural = _("units")
        ordering = ["code"]
        constraints = [models.UniqueConstraint(fields=["subdistrict", "code"], name="unit_code_unique")]

    def __str__(self) -> str:
        return self.name


@track_changes()
class Member(models.Model):
    """A person of the linkage forces. Home and duty post: Point, EPSG:4326."""

    subdistrict = models.ForeignKey("geo.Subdistrict", on_delete=models.PROTECT, related_name="members")
    unit = models.ForeignKey(Unit, on_delete=models.PROTECT, related_name="members")
    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="member"
    )
    code = models.CharField(_("staff number"), max_length=32)
    name = models.CharField(_("name"), max_length=32)
    force = models.CharField(_("force"), max_length=32, choices=Force.choices, db_index=True)
    roles = ArrayField(
        models.CharField(max_length=32, choices=Role.choices), default=list, blank=True, verbose_name=_("roles")
    )
    phone = models.CharField(_("phone"), max_length=20)
    grids = models.ManyToManyField("geo.Grid", blank=True, related_name="members", verbose_name=_("grids served"))
    travel_mode = models.CharField(_("travel mode"), max_length=8, choices=TravelMode.choices)
    home = models.PointField(_("home position"), srid=4326)
    duty_post = models.PointField(_("duty post"), srid=4326, null=True, blank=True)
    active = models.BooleanField(_("active"), default=True)

    class Meta:
        verbose_name = _("member")
        verbose_name_plural = _("members")
        ordering = ["code"]
        constraints = [
            models.UniqueConstraint(fields=["subdistrict", "code"], name="member_code_unique"),
            models.CheckConstraint(condition=Q(phone__regex=r"^[0-9+\-]{5,20}$"), name="member_phone_format"),
        ]
        triggers = [
            # The track has no foreign key in the database (see PositionFix): a member's fixes go
            # with the member, deleted after the member's rows are — so after any ingest that held
            # one of them (FOR KEY SHARE) has committed, and read with a snapshot that sees its fixes.
            pgtrigger.Trigger(
                name="member_track_cascade", level=pgtrigger.Statement, when=pgtrigger.After,
                operation=pgtrigger.Delete, referencing=pgtrigger.Referencing(old="gone"),
                func="DELETE FROM dispatch_positionfix f USING gone WHERE f.member_id = gone.id; RETURN NULL;",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.get_force_display()})"


@track_links(model_name="MemberGridEvent")
class MemberGrid(Member.grids.through):  # type: ignore[name-defined]  # the stubs cannot name an auto link model
    """The grids a member serves: a proxy of the link table so that its changes are on record."""

    class Meta:
        proxy = True
        verbose_name = _("grid served by a member")
        verbose_name_plural = _("grids served by members")


class TsTzRange(Func):
    function = "TSTZRANGE"
    output_field = DateTimeRangeField()


@track_changes()
class DutyShift(models.Model):
    """One member on duty from `starts_at` to `ends_at` (aware datetimes). Shifts of one member
    never overlap (exclusion constraint)."""

    member = models.ForeignKey(Member, on_delete=models.CASCADE, related_name="shifts")
    starts_at = models.DateTimeField(_("starts at"))
    ends_at = models.DateTimeField(_("ends at"))
    post = models.PointField(_("duty post"), srid=4326, null=True, blank=True)

    class Meta:
        verbose_name = _("duty shift")
        verbose_name_plural = _("duty shifts")
        ordering = ["starts_at"]
        indexes = [models.Index(fields=["starts_at", "ends_at"])]
        constraints = [
            models.CheckConstraint(condition=Q(ends_at__gt=F("starts_at")), name="shift_ends_after_start"),
            ExclusionConstraint(
                name="shift_no_overlap",
                expressions=[
                    ("member", RangeOperators.EQUAL),
                    (TsTzRange("starts_at", "ends_at", RangeBoundary()), RangeOperators.OVERLAPS),
                ],
            ),
        ]

    def __str__(self) -> str:
        return f"{self.member} {self.starts_at:%Y-%m-%d %H:%M}–{self.ends_at:%H:%M}"


class MemberPosition(models.Model):
    """A member's last known position, WGS 84 (GCJ-02 input is converted before it is stored).
    Point: EPSG:4326; accuracy in metres. One row per member, kept apart from Member so that
    frequent position updates do not rewrite the member row. Its pages keep 30 % free (fillfactor
    70, migration 0016) so that a member's new row version fits beside the old one: an update that
    keeps the point (the member did not move, dispatch.positions) is HOT, the GiST index untouched."""

    member = models.OneToOneField(Member, on_delete=models.CASCADE, primary_key=True, related_name="position")
    point = models.PointField(_("position"), srid=4326)
    recorded_at = models.DateTimeField(_("recorded at"))
    accuracy_m = models.FloatField(_("accuracy (m)"), null=True, blank=True)

    class Meta:
        verbose_name = _("last known position")
        verbose_name_plural = _("last known positions")
        constraints = [
            models.CheckConstraint(
                condition=Q(accuracy_m__isnull=True) | Q(accuracy_m__gte=0), name="position_accuracy_nonneg"
            ),
        ]


class PositionFix(models.Model):
    """One position a responder's phone reported (the track), WGS 84 after any GCJ-02 conversion.
    Append-only, one fix per member and time (unique); the member's latest fix is mirrored in
    MemberPosition. Replay of a past day reads the tracks from here (BRIN on the time: rows arrive
    roughly in time order).

    In the database the table is partitioned by local day on `recorded_at` (migration 0015,
    dispatch/track_partitions.py): its primary key there is (id, recorded_at) — ids still come from
    one sequence, so `id` stays the model's primary key — and nothing may reference a fix. Reads
    that bound `recorded_at` touch only their days' partitions. No index on the member alone: the
    unique (member, recorded_at) serves reads by member.

    No foreign key on `member` in the database (`db_constraint=False`, migration 0016): PostgreSQL
    checks a deferred foreign key once per inserted row at commit — a quarter of a 1,000-fix batch's
    time at a city's scale. The ingest (dispatch.positions.positions_ingest) makes the same check
    once per batch instead: one statement finds the batch's members and locks them FOR KEY SHARE
    (the lock the foreign key's check takes) and the whole batch is refused if one is missing; the
    lock holds a concurrent deletion of those members until the batch is committed. On the member's
    side Django's delete collector still cascades (on_delete), and a statement trigger on the member
    table (Member's `member_track_cascade`) deletes the fixes of deleted members once their rows are
    gone — so a batch committed between the collector's delete of the fixes and its delete of the
    member leaves none behind. Whatever writes fixes another way than the ingest checks the member
    itself (the benchmarks' bulk SQL writes fixes of members it just made)."""

    member = models.ForeignKey(Member, on_delete=models.CASCADE, related_name="fixes", db_index=False,
                               db_constraint=False)
    recorded_at = models.DateTimeField(_("recorded at"))
    point = models.PointField(_("position"), srid=4326, spatial_index=False)
    accuracy_m = models.FloatField(_("accuracy (m)"), null=True, blank=True)
    received_at = models.DateTimeField(_("received at"))

    class Meta:
        verbose_name = _("position fix")
        verbose_name_plural = _("position fixes")
        indexes = [
            BrinIndex(fields=["recorded_at"], name="position_fix_time_brin"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(accuracy_m__isnull=True) | Q(accuracy_m__gte=0), name="position_fix_accuracy_nonneg"
            ),
            # One fix per member and time: a replayed batch adds nothing (the ingest's ON CONFLICT
            # DO NOTHING); also the (member, time) index the replay and the tracks read through.
            models.UniqueConstraint(fields=["member", "recorded_at"], name="position_fix_member_time"),
        ]


class OrderQuerySet(models.QuerySet["DispatchOrder"]):
    """The one definition of which orders are live (`dispatch/flows.py` holds the states)."""

    def live(self) -> "OrderQuerySet":
        """On the way: dispatched or accepted, not yet arrived. The SLA clock watches these, a
        stand-down ends them."""
        return self.filter(state__in=DispatchOrder.LIVE_STATES)

    def current(self) -> "OrderQuerySet":
        """Not ended: on the way or on the scene (live + arrived). What a member's load counts,
        what lets a responder act on the case, and what the one-per-member index holds."""
        return self.filter(state__in=DispatchOrder.CURRENT_STATES)


class DispatchOrder(models.Model):
    """A linkage order (联动指令) to one member for one incident; its states and moves are the
    table in `dispatch/flows.py`. At most one current order per member and incident (partial
    unique index): two dispatchers acting at once cannot send the same member twice."""

    class Method(models.TextChoices):
        RADIO = "radio", _("walkie-talkie")
        WECHAT = "wechat", _("WeChat group")
        PHONE = "phone", _("phone")
        APP = "app", _("the app")

    class State(models.TextChoices):
        DISPATCHED = "dispatched", _("dispatched")
        ACCEPTED = "accepted", _("accepted")
        DECLINED = "declined", _("declined")
        ARRIVED = "arrived", _("arrived")
        STOOD_DOWN = "stood_down", _("stood down")

    # The state sets of `dispatch/flows.py`, here so that every app may name them with the model.
    LIVE_STATES = (State.DISPATCHED, State.ACCEPTED)
    CURRENT_STATES = (State.DISPATCHED, State.ACCEPTED, State.ARRIVED)
    ENDED_STATES = (State.DECLINED, State.STOOD_DOWN)
    # A member stood down from a case still sees it this long (the member app's "finished" list):
    # then it is no longer theirs.
    STOOD_DOWN_VISIBLE_HOURS = 24

    incident = models.ForeignKey("incidents.Incident", on_delete=models.PROTECT, related_name="orders")
    member = models.ForeignKey(Member, on_delete=models.PROTECT, related_name="orders")
    method = models.CharField(_("instruction method"), max_length=16, choices=Method.choices)
    state = models.CharField(_("state"), max_length=16, choices=State.choices, default=State.DISPATCHED)
    dispatched_at = models.DateTimeField(_("dispatched at"))
    dispatched_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    arrive_by = models.DateTimeField(_("arrive by"), null=True, blank=True, db_index=True)
    accepted_at = models.DateTimeField(_("accepted at"), null=True, blank=True)
    arrived_at = models.DateTimeField(_("arrived at"), null=True, blank=True)
    declined_at = models.DateTimeField(_("declined at"), null=True, blank=True)
    decline_reason = models.CharField(_("decline reason"), max_length=500, blank=True)
    rule = models.ForeignKey(
        "dispatch.ResponsibilityRule", on_delete=models.SET_NULL, null=True, blank=True, related_name="+",
        verbose_name=_("responsibility rule"),
    )
    reason = models.CharField(_("why proposed"), max_length=500, blank=True)
    level = models.PositiveSmallIntegerField(_("escalation level"), default=0)
    off_duty_override = models.BooleanField(_("chosen although off duty"), default=False)
    travel_seconds = models.FloatField(_("estimated travel time (s)"), null=True, blank=True)
    # Where the member set out from (live position, duty post or home) and the fastest road route
    # from there to the scene, both as the recommendation saw them at dispatch (WGS 84).
    origin = models.PointField(_("set out from"), srid=4326, null=True, blank=True, spatial_index=False)
    route = models.LineStringField(_("route"), srid=4326, null=True, blank=True, spatial_index=False)
    arrival_distance_m = models.FloatField(_("distance at arrival (m)"), null=True, blank=True)
    arrival_flagged = models.BooleanField(_("arrived far from the scene"), default=False)
    # Set by the SLA clock when arrive_by passed without an arrival: the escalation is raised once.
    overdue_escalated_at = models.DateTimeField(_("overdue escalated at"), null=True, blank=True)
    # "Until acknowledged": how far the SLA clock went with an order not accepted yet (0 nothing,
    # 1 sent again, 2 sent outbound, 3 raised to the member's unit leaders), each step once.
    confirm_step = models.PositiveSmallIntegerField(_("confirmation step"), default=0)
    confirm_step_at = models.DateTimeField(_("confirmation step at"), null=True, blank=True)
    # Stood down (no longer needed: the case was resolved, transferred, closed or merged, or the
    # dispatcher called this member off): never watched by the SLA clock again.
    stood_down_at = models.DateTimeField(_("stood down at"), null=True, blank=True)
    stand_down_reason = models.CharField(_("stand-down reason"), max_length=500, blank=True)
    stood_down_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    # The declined or late order this one was sent to replace (the replacement proposal).
    replaces = models.ForeignKey(
        "self", on_delete=models.PROTECT, null=True, blank=True, related_name="replacements",
        verbose_name=_("replaces"),
    )

    objects = OrderQuerySet.as_manager()

    class Meta:
        verbose_name = _("dispatch order")
        verbose_name_plural = _("dispatch orders")
        ordering = ["dispatched_at", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["incident", "member"], condition=~Q(state__in=["declined", "stood_down"]),
                name="dispatch_order_one_live_per_member",
            ),
            models.CheckConstraint(
                condition=~Q(state="arrived") | Q(arrived_at__isnull=False), name="dispatch_order_arrived_has_time"
            ),
            models.CheckConstraint(
                condition=~Q(state="stood_down") | (Q(stood_down_at__isnull=False) & ~Q(stand_down_reason="")),
                name="dispatch_order_stood_down_has_time_and_reason",
            ),
            models.CheckConstraint(
                condition=~Q(state="declined") | Q(declined_at__isnull=False), name="dispatch_order_declined_has_time"
            ),
        ]
        indexes = [
            # The governance reports (reports/ranking.py, compliance, assessment): a sub-district's
            # members' orders of one month, without reading their whole history.
            models.Index(fields=["member", "dispatched_at"], name="dispatch_order_member_time"),
            # The SLA clock's claim: live orders whose deadline passed and were not escalated yet.
            models.Index(
                fields=["arrive_by"], name="dispatch_order_sla_due",
                condition=Q(state__in=["dispatched", "accepted"], overdue_escalated_at__isnull=True,
                            arrive_by__isnull=False),
            ),
            # The clock's claim of orders not accepted yet whose next confirmation step may be due.
            models.Index(
                fields=["dispatched_at"], name="dispatch_order_confirm_due",
                condition=Q(state="dispatched", confirm_step__lt=3),
            ),
        ]


@track_changes()
class ResponsibilityRule(models.Model):
    """Who is proposed for what (the plan's 联动处置要求 and 处置规范), as data editable in admin.

    A rule applies to an incident when its filters match (category scope or codes, police-type,
    major only, a road class near the point, before the evening cut-off); it then proposes
    members of its target (a force, the grid's own staff, the community's security director, the
    place's contact, a unit kind, the leaders) with its arrival deadline. `level` is the
    escalation ring: 0 at first, higher rings are added when a dispatcher raises the level."""

    class Target(models.TextChoices):
        FORCE = "force", _("members of a force on duty")
        GRID_STAFF = "grid_staff", _("the grid's own staff of a force")
        SECURITY_DIRECTOR = "security_director", _("the community's security director")
        PLACE_CONTACT = "place_contact", _("the contact of the place involved")
        UNIT_KIND = "unit_kind", _("members of a kind of unit")
        LEADERS = "leaders", _("the sub-district's principal and responsible leaders")
        NEIGHBOUR_GRID_STAFF = "neighbour_grid_staff", _("staff of the neighbouring grids")
        UNIT_RESERVE = "unit_reserve", _("the unit's reserve")

    code = models.CharField(_("code"), max_length=48, unique=True)
    name = models.CharField(_("name"), max_length=128)
    active = models.BooleanField(_("active"), default=True)
    priority = models.PositiveSmallIntegerField(_("priority"), default=100)
    scopes = ArrayField(models.CharField(max_length=32), default=list, blank=True, verbose_name=_("category scopes"))
    category_codes = ArrayField(models.CharField(max_length=32), default=list, blank=True,
                                verbose_name=_("category codes"))
    police_type = models.BooleanField(_("police-type cases"), null=True, blank=True)
    major_only = models.BooleanField(_("major incidents only"), default=False)
    road_classes = ArrayField(models.CharField(max_length=16), default=list, blank=True,
                              verbose_name=_("near roads of class"))
    road_within_m = models.PositiveSmallIntegerField(_("road distance (m)"), default=30)
    until_time = models.TimeField(_("only dispatched before"), null=True, blank=True)
    target = models.CharField(_("who"), max_length=32, choices=Target.choices)
    force = models.CharField(_("force"), max_length=32, choices=Force.choices, blank=True)
    role = models.CharField(_("role"), max_length=32, choices=Role.choices, blank=True)
    unit_kind = models.CharField(_("unit kind"), max_length=32, choices=Unit.Kind.choices, blank=True)
    count = models.PositiveSmallIntegerField(_("how many to propose"), default=1)
    deadline_minutes = models.PositiveSmallIntegerField(
        _("arrival deadline (minutes)"), null=True, blank=True,
        help_text=_("Empty: “at once”, the configured short deadline."),
    )
    level = models.PositiveSmallIntegerField(_("escalation level"), default=0)
    note = models.CharField(_("note"), max_length=256, blank=True)

    class Meta:
        verbose_name = _("responsibility rule")
        verbose_name_plural = _("responsibility rules")
        ordering = ["level", "priority", "code"]

    def __str__(self) -> str:
        return self.name


class Alarm(models.Model):
    """An escalation raised by the SLA clock, exactly once per (order, kind) or (incident, kind):
    shown on the command room's wall map and sent to the member's unit leader. The command room
    acknowledges it with a note or snoozes it."""

    class Kind(models.TextChoices):
        ARRIVAL_OVERDUE = "arrival_overdue", _("arrival overdue")
        MAJOR_INCIDENT = "major_incident", _("major incident")
        HANDOVER_ACCEPT_OVERDUE = "handover_accept_overdue", _("hand-over not accepted in time")
        HANDOVER_REPORT_OVERDUE = "handover_report_overdue", _("office's result overdue")

    class State(models.TextChoices):
        OPEN = "open", _("open")
        SNOOZED = "snoozed", _("snoozed")
        ACKNOWLEDGED = "acknowledged", _("acknowledged")

    subdistrict = models.ForeignKey("geo.Subdistrict", on_delete=models.PROTECT, related_name="alarms")
    incident = models.ForeignKey("incidents.Incident", on_delete=models.PROTECT, related_name="alarms")
    order = models.ForeignKey(DispatchOrder, on_delete=models.PROTECT, null=True, blank=True, related_name="alarms")
    handover = models.ForeignKey("incidents.Handover", on_delete=models.PROTECT, null=True, blank=True,
                                 related_name="alarms")
    kind = models.CharField(_("kind"), max_length=32, choices=Kind.choices)
    state = models.CharField(_("state"), max_length=16, choices=State.choices, default=State.OPEN)
    due_at = models.DateTimeField(_("deadline"), null=True, blank=True)
    raised_at = models.DateTimeField(_("raised at"))
    notified = ArrayField(models.BigIntegerField(), default=list, blank=True, verbose_name=_("members notified"))
    snoozed_until = models.DateTimeField(_("snoozed until"), null=True, blank=True)
    acknowledged_at = models.DateTimeField(_("acknowledged at"), null=True, blank=True)
    acknowledged_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    note = models.TextField(_("note"), max_length=2000, blank=True)
    # The ladder: an arrival-overdue alarm still open (not acknowledged, not snoozed) at
    # `escalate_after` raises the case's level once; `escalated_at` is the SLA clock's mark.
    escalate_after = models.DateTimeField(_("raise the level after"), null=True, blank=True)
    escalated_at = models.DateTimeField(_("level raised at"), null=True, blank=True)
    # Until acknowledged: an overdue-arrival alarm the unit leaders told of do not acknowledge is sent
    # to them again (1), sent outbound (2), raised to the command room (3), each step waiting from
    # `ack_step_at` — when the alarm was raised, its last step taken, or it was opened again after a
    # snooze (settings.ALARM_ACK_*_MINUTES); the SLA clock's marks (dispatch/sla.py).
    ack_step = models.PositiveSmallIntegerField(_("acknowledgement step"), default=0)
    ack_step_at = models.DateTimeField(_("acknowledgement step at"), null=True, blank=True)

    class Meta:
        verbose_name = _("alarm")
        verbose_name_plural = _("alarms")
        ordering = ["-raised_at", "-id"]
        indexes = [
            models.Index(fields=["subdistrict", "state"]),
            # The SLA clock's claims: snoozed alarms to reopen, open ones waiting to raise the level.
            models.Index(fields=["snoozed_until"], name="alarm_snoozed_due", condition=Q(state="snoozed")),
            models.Index(fields=["escalate_after"], name="alarm_escalation_due",
                         condition=Q(state="open", escalated_at__isnull=True, escalate_after__isnull=False)),
            # The clock's claim of overdue-arrival alarms whose next acknowledgement step may be due.
            models.Index(fields=["ack_step_at"], name="alarm_ack_due",
                         condition=Q(state="open", kind="arrival_overdue", ack_step__lt=3)),
        ]
        constraints = [
            models.UniqueConstraint(fields=["order", "kind"], condition=Q(order__isnull=False),
                                    name="alarm_once_per_order"),
            models.UniqueConstraint(fields=["handover", "kind"], condition=Q(handover__isnull=False),
                                    name="alarm_once_per_handover"),
            models.UniqueConstraint(fields=["incident", "kind"], condition=Q(order__isnull=True, handover__isnull=True),
                                    name="alarm_once_per_incident"),
            models.CheckConstraint(condition=~Q(state="snoozed") | Q(snoozed_until__isnull=False),
                                   name="alarm_snoozed_has_time"),
            models.CheckConstraint(condition=~Q(state="acknowledged") | Q(acknowledged_at__isnull=False),
                                   name="alarm_acknowledged_has_time"),
        ]


class MemberMessage(models.Model):
    """One message to one member — a new order, a stand-down, an overdue reminder, an alarm, a
    major-incident call, a change of the grids they serve (`version`: the grid version published) —
    written in the same transaction as what it tells of (`dispatch/notify.py`),
    published after commit to the member's live group (`dispatch/live.py`), and, unless read in the
    app within the grace (`deliver_after`), sent once through the outbound gateway by the notifier
    (`dispatch/notifier.py`). One message per event and recipient: the unique constraints below.

    Outbound states: pending (also while failed and retrying: `attempts`, `last_error`,
    `next_attempt_at`), sent, skipped because read in the app first, skipped because there is
    nobody to send to (no phone, member no longer active)."""

    class Kind(models.TextChoices):
        ORDER = "order", _("new order")
        STAND_DOWN = "stand_down", _("stand-down")
        REMINDER = "reminder", _("overdue reminder")
        ALARM = "alarm", _("alarm")
        MAJOR = "major", _("major incident call")
        RESEND = "resend", _("order sent again")
        GRID = "grid", _("grid assignment changed")
        RANKING = "ranking", _("monthly ranking published")

    class State(models.TextChoices):
        PENDING = "pending", _("pending")
        SENT = "sent", _("sent")
        SKIPPED_READ = "skipped_read", _("not sent: read in the app")
        SKIPPED_OFF = "skipped_off", _("not sent: nobody to send to")

    subdistrict = models.ForeignKey("geo.Subdistrict", on_delete=models.PROTECT, related_name="+")
    member = models.ForeignKey(Member, on_delete=models.PROTECT, related_name="messages", verbose_name=_("member"))
    incident = models.ForeignKey("incidents.Incident", on_delete=models.PROTECT, null=True, blank=True,
                                 related_name="+", verbose_name=_("incident"))
    order = models.ForeignKey(DispatchOrder, on_delete=models.PROTECT, null=True, blank=True, related_name="messages",
                              verbose_name=_("dispatch order"))
    alarm = models.ForeignKey(Alarm, on_delete=models.PROTECT, null=True, blank=True, related_name="messages",
                              verbose_name=_("alarm"))
    # A `grid` message: the grid version whose publication changed the member's grids.
    version = models.ForeignKey("geo.BoundaryVersion", on_delete=models.PROTECT, null=True, blank=True,
                                related_name="+", verbose_name=_("grid version"))
    kind = models.CharField(_("kind"), max_length=16, choices=Kind.choices)
    # The n-th message of its kind for its order (or alarm) and member (0 for the kinds sent once): an
    # order not accepted is sent again (`resend`) by the SLA clock and by the dispatcher's "remind";
    # an alarm not acknowledged is sent again to the leaders (`alarm`, steps 1 and 2) by the clock.
    step = models.PositiveSmallIntegerField(_("step"), default=0)
    title = models.CharField(_("title"), max_length=128)
    body = models.TextField(_("text"), max_length=1000)
    created_at = models.DateTimeField(_("created at"))
    read_at = models.DateTimeField(_("read in the app at"), null=True, blank=True)
    # The outbound delivery (SMS or messaging-app gateway).
    deliver_after = models.DateTimeField(_("send outbound after"))
    state = models.CharField(_("outbound state"), max_length=16, choices=State.choices, default=State.PENDING)
    attempts = models.PositiveSmallIntegerField(_("attempts"), default=0)
    next_attempt_at = models.DateTimeField(_("next attempt at"))
    sent_at = models.DateTimeField(_("sent at"), null=True, blank=True)
    last_error = models.CharField(_("last error"), max_length=500, blank=True)
    gateway_id = models.CharField(_("gateway's id"), max_length=128, blank=True)

    class Meta:
        verbose_name = _("message to a member")
        verbose_name_plural = _("messages to members")
        ordering = ["-created_at", "-id"]
        indexes = [
            # The notifier's claim: pending messages by their next attempt.
            models.Index(fields=["next_attempt_at"], name="member_message_due", condition=Q(state="pending")),
            # The member's socket: their messages, newest first.
            models.Index(fields=["member", "created_at"], name="member_message_inbox"),
        ]
        constraints = [
            models.UniqueConstraint(fields=["member", "kind", "order", "step"],
                                    condition=Q(order__isnull=False, alarm__isnull=True),
                                    name="member_message_once_per_order"),
            # `step`: an alarm not acknowledged is sent again to the leaders (steps 1, 2 of its ladder).
            models.UniqueConstraint(fields=["member", "kind", "alarm", "step"], condition=Q(alarm__isnull=False),
                                    name="member_message_once_per_alarm"),
            models.UniqueConstraint(fields=["member", "kind", "version"], condition=Q(version__isnull=False),
                                    name="member_message_once_per_version"),
            models.CheckConstraint(condition=~Q(state="sent") | Q(sent_at__isnull=False),
                                   name="member_message_sent_has_time"),
        ]

    def __str__(self) -> str:
        return f"{self.member_id}: {self.title}"


class MessageAttempt(models.Model):
    """One call of the outbound gateway for a message (or its line in the outbox log)."""

    message = models.ForeignKey(MemberMessage, on_delete=models.CASCADE, related_name="attempt_log")
    at = models.DateTimeField(_("at"))
    http_status = models.PositiveSmallIntegerField(_("HTTP status"), null=True, blank=True)
    error = models.CharField(_("error"), max_length=500, blank=True)
    ok = models.BooleanField(_("acknowledged"), default=False)

    class Meta:
        verbose_name = _("message attempt")
        verbose_name_plural = _("message attempts")
        ordering = ["at", "id"]
