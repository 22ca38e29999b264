"""What: the incident categories (联动处置范围), the channels (两单四线), incidents and their
append-only timeline.

The two flows (联动处置流程): an on-site case (现场处置) goes from a channel to a linkage order,
responders on site, an on-site report, a result fed back to the channel, and closure. An off-site
case (非现场处置) — a joint-consultation assignment, or an on-site case not settled on site — is
assigned to offices, handled, reported complete, fed back to the responsible office and the party,
and closed. The state machines live in `incidents/flows.py` (intake issue); the statuses are here so
that the database can hold its invariants.
"""

import math
from functools import cached_property
from typing import Protocol

from django.conf import settings
from django.contrib.gis.db import models
from django.contrib.postgres.indexes import GistIndex
from django.db.models import F, Q
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _

from audit.tracking import track_changes, track_secret

# Personal data of the public (callers, the people involved): names and phones are shown masked to
# everybody, everywhere (API, pages, wall, apps, timeline data); the full values only through the
# reveal, allowed by role (`incidents.selectors.contact_reveal_allowed`) and written to the timeline.

def mask_name(name: str) -> str:
    """A name with all but its first character hidden ("张**"; "J***" for "John")."""
    name = (name or "").strip()
    return f"{name[0]}{'*' * max(len(name) - 1, 1)}" if name else ""


def mask_phone(phone: str) -> str:
    """A phone with its middle hidden ("138****5678"); short numbers keep their last 4 digits."""
    n = phone or ""
    if len(n) >= 11:
        return f"{n[:3]}{'*' * (len(n) - 7)}{n[-4:]}"
    return f"{'*' * max(len(n) - 4, 0)}{n[-4:]}" if n else ""


class _WithCaller(Protocol):
    @property
    def caller_name(self) -> str: ...

    @property
    def caller_phone(self) -> str: ...


class CallerMasked:
    """`caller_name_masked` and `caller_phone_masked` of a record with a caller (a case, a report)."""

    @property
    def caller_name_masked(self: _WithCaller) -> str:
        return mask_name(self.caller_name)

    @property
    def caller_phone_masked(self: _WithCaller) -> str:
        return mask_phone(self.caller_phone)


@track_changes()
class Category(models.Model):
    """An incident category of the linkage scope, police-type or not, with its statistic group."""

    class Scope(models.TextChoices):
        NON_POLICE = "non_police", _("non-police incident")
        FIRE = "fire", _("fire")
        TRAFFIC = "traffic", _("traffic accident")
        WORK_SAFETY = "work_safety", _("work-safety accident")
        DEPARTMENT_ASSIST = "department_assist", _("department assistance")
        POLICE = "police", _("police-type incident")

    class StatisticGroup(models.TextChoices):
        PETITION = "petition", _("petition")
        LABOUR = "labour", _("labour")
        FIRE = "fire", _("fire")
        PUBLIC_ORDER = "public_order", _("public order")
        TRAFFIC = "traffic", _("traffic")
        OTHER = "other", _("other")

    code = models.CharField(_("code"), max_length=32, unique=True)
    name = models.CharField(_("name (Chinese)"), max_length=64)
    name_en = models.CharField(_("name (English)"), max_length=64)
    scope = models.CharField(_("scope"), max_length=32, choices=Scope.choices)
    is_police = models.BooleanField(_("police-type"), default=False)
    statistic_group = models.CharField(_("statistic group"), max_length=16, choices=StatisticGroup.choices)
    major_by_default = models.BooleanField(_("major by default"), default=False)
    sort_order = models.PositiveSmallIntegerField(_("order"), default=0)

    class Meta:
        verbose_name = _("category")
        verbose_name_plural = _("categories")
        ordering = ["sort_order", "code"]
        constraints = [
            models.CheckConstraint(condition=Q(is_police=False) | Q(scope="police"), name="category_police_scope"),
        ]

    def __str__(self) -> str:
        return self.name

    def display_name(self, language: str | None = None) -> str:
        """The category's name in `language` (default: the active one). Categories carry their own
        Chinese and English names, not the message catalogue's: the Chinese name for zh*, else the
        English name, or the Chinese one when it has none."""
        language = language or get_language() or settings.LANGUAGE_CODE
        if language.lower().startswith("zh"):
            return self.name
        return self.name_en or self.name


# The signing secret is never copied into the trail: only that it changed (and who changed it).
@track_changes(track_secret("callback_secret"), exclude=["callback_secret"])
class Channel(models.Model):
    """A way in (两单四线): the district centre's dispatch orders, the joint-consultation
    assignment forms, and the four linkage hotlines."""

    class Kind(models.TextChoices):
        DISTRICT_ORDER = "district_order", _("district linkage centre dispatch order")
        JOINT_ASSIGNMENT = "joint_assignment", _("joint-consultation assignment form")
        HOTLINE = "hotline", _("linkage hotline")

    code = models.CharField(_("code"), max_length=32, unique=True)
    name = models.CharField(_("name"), max_length=64)
    kind = models.CharField(_("kind"), max_length=32, choices=Kind.choices)
    phone = models.CharField(_("hotline number"), max_length=20, blank=True)
    callback_url = models.URLField(_("result callback URL"), blank=True)
    # The key of the HMAC-SHA256 signature on every callback (header X-GridLink-Signature), so the
    # receiving system can verify that a result came from us. Generated, never in the repository.
    callback_secret = models.CharField(_("callback signing secret"), max_length=128, blank=True)
    # The external system that speaks for this channel (a user of the `integration` group): its API
    # key reads the cases the channel brought in (`incidents.selectors.incidents_visible_to`), through
    # Open311 and /api/v1/ alike. Set by `manage.py issue_token USERNAME --channel CODE` or the admin.
    client = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="client_channels",
        verbose_name=_("external system"), limit_choices_to={"groups__name": "integration"},
    )
    active = models.BooleanField(_("active"), default=True)
    sort_order = models.PositiveSmallIntegerField(_("order"), default=0)

    class Meta:
        verbose_name = _("channel")
        verbose_name_plural = _("channels")
        ordering = ["sort_order", "code"]
        constraints = [
            models.CheckConstraint(condition=~Q(kind="hotline") | ~Q(phone=""), name="channel_hotline_has_number"),
        ]

    def __str__(self) -> str:
        return self.name


class Flow(models.TextChoices):
    ON_SITE = "on_site", _("on-site handling")
    OFF_SITE = "off_site", _("off-site handling")


class Status(models.TextChoices):
    """Every status of both flows (the allowed moves are in the state machines)."""

    NEEDS_LOCATION = "needs_location", _("needs location")
    NEW = "new", _("new")
    DISPATCHED = "dispatched", _("dispatched")
    ARRIVED = "arrived", _("arrived")
    REPORTED = "reported", _("reported on site")
    RESOLVED = "resolved", _("resolved")
    TRANSFERRED = "transferred", _("transferred")
    ASSIGNED = "assigned", _("assigned")
    IN_PROGRESS = "in_progress", _("in progress")
    COMPLETED = "completed", _("completed by the office")
    REPORTED_TO_COMMAND = "reported_to_command", _("reported to the command room")
    FED_BACK = "fed_back", _("fed back")
    CLOSED = "closed", _("closed")
    MERGED = "merged", _("merged into another case")


class Incident(CallerMasked, models.Model):
    """One incident, whatever channel it came by. Location: Point, EPSG:4326.

    `grid`, `community` and the grid's version are fixed at intake: an incident keeps the grid it
    fell in when it was taken. A point is required except while the case waits in the
    "needs location" queue."""

    subdistrict = models.ForeignKey("geo.Subdistrict", on_delete=models.PROTECT, related_name="incidents")
    number = models.CharField(_("case number"), max_length=32, unique=True)
    channel = models.ForeignKey(Channel, on_delete=models.PROTECT, related_name="incidents")
    external_id = models.CharField(_("external id"), max_length=64, null=True, blank=True)
    category = models.ForeignKey(Category, on_delete=models.PROTECT, related_name="incidents")
    flow = models.CharField(_("flow"), max_length=16, choices=Flow.choices, default=Flow.ON_SITE)
    status = models.CharField(_("status"), max_length=32, choices=Status.choices, default=Status.NEW)
    major = models.BooleanField(_("major incident"), default=False)
    description = models.TextField(_("description"), max_length=4000)
    address_text = models.CharField(_("address"), max_length=256, blank=True)
    location = models.PointField(_("location"), srid=4326, null=True, blank=True)
    grid = models.ForeignKey("geo.Grid", on_delete=models.PROTECT, null=True, blank=True, related_name="incidents")
    community = models.ForeignKey(
        "geo.Community", on_delete=models.PROTECT, null=True, blank=True, related_name="incidents"
    )
    place = models.ForeignKey("geo.Place", on_delete=models.SET_NULL, null=True, blank=True, related_name="incidents")
    caller_name = models.CharField(_("caller name"), max_length=64, blank=True)
    caller_phone = models.CharField(_("caller phone"), max_length=20, blank=True)
    reported_at = models.DateTimeField(_("reported at"), db_index=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)
    resolved_at = models.DateTimeField(_("resolved at"), null=True, blank=True)
    closed_at = models.DateTimeField(_("closed at"), null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    merged_into = models.ForeignKey(
        "self", on_delete=models.PROTECT, null=True, blank=True, related_name="merged_cases",
        verbose_name=_("merged into"),
    )
    outside_jurisdiction = models.BooleanField(_("outside jurisdiction"), default=False)
    deadline = models.DateTimeField(_("deadline"), null=True, blank=True, db_index=True)
    reopen_count = models.PositiveSmallIntegerField(_("times reopened"), default=0)
    level = models.PositiveSmallIntegerField(_("escalation level"), default=0)
    # Set by the SLA clock once the leaders were told of a major incident.
    major_notified_at = models.DateTimeField(_("leaders notified at"), null=True, blank=True)

    class Meta:
        verbose_name = _("incident")
        verbose_name_plural = _("incidents")
        ordering = ["-reported_at"]
        indexes = [
            models.Index(fields=["subdistrict", "status"]), models.Index(fields=["grid", "reported_at"]),
            # The governance reports (reports/agenda.py, trends.py): a sub-district's cases of a period.
            models.Index(fields=["subdistrict", "reported_at"], name="incident_subdistrict_time"),
            # The district map's case tiles (geo/tiles.py): the open cases in a tile's box, not the
            # history's millions of closed ones there (geo.tiles.DONE_STATUSES). As an expression:
            # Django's PostGIS schema editor drops the condition of a one-geometry-field index.
            GistIndex(F("location"), name="incident_open_location",
                      condition=~Q(status__in=["closed", "merged"])),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["channel", "external_id"], condition=Q(external_id__isnull=False),
                name="incident_channel_external_id_unique",
            ),
            # A point, except: while the case waits in the needs-location queue; off-site cases
            # (an assignment form names offices, not places); and a case that ended without ever
            # being placed — merged into another, or closed as invalid (never resolved on site).
            models.CheckConstraint(
                condition=Q(location__isnull=False) | Q(status="needs_location") | Q(flow="off_site")
                | Q(status="merged") | Q(status="closed", resolved_at__isnull=True),
                name="incident_has_point",
            ),
            models.CheckConstraint(
                condition=Q(status="closed", closed_at__isnull=False) | (~Q(status="closed") & Q(closed_at__isnull=True)),
                name="incident_closed_at_iff_closed",
            ),
            models.CheckConstraint(
                condition=Q(closed_at__isnull=True) | Q(closed_at__gte=models.F("reported_at")),
                name="incident_closed_after_reported",
            ),
            models.CheckConstraint(
                condition=~Q(description=""), name="incident_description_not_empty"
            ),
            models.CheckConstraint(
                condition=Q(status="merged", merged_into__isnull=False) | (~Q(status="merged") & Q(merged_into__isnull=True)),
                name="incident_merged_iff_merged_into",
            ),
        ]

    def __str__(self) -> str:
        return self.number

    # A responder on the scene asks the command room to transfer the case (`request_transfer`);
    # the request stays open until the case is transferred, resolved or closed, or leaves the
    # scene's statuses. Read from the timeline (prefetched by `incidents.selectors.incident_detail`).
    TRANSFER_REQUEST_ENDED_BY = frozenset({"transfer", "resolve", "cancel", "close"})

    @cached_property
    def transfer_request_open(self) -> "IncidentEvent | None":
        """The newest `transfer_requested` event not followed by a transfer, resolution or closure
        of the case; None when there is none or the case is no longer arrived / reported on site."""
        if self.status not in (Status.ARRIVED, Status.REPORTED):
            return None
        request = None
        for event in self.events.all():
            if event.kind == IncidentEvent.Kind.TRANSFER_REQUESTED:
                request = event
            elif (event.data or {}).get("action") in self.TRANSFER_REQUEST_ENDED_BY:
                request = None
        return request

    @cached_property
    def photo_list(self) -> list["IncidentPhoto"]:
        """The case's on-site photos, oldest report first, with who uploaded them (one query)."""
        photos = list(self.photos.select_related("uploaded_by", "member").order_by("event_id", "position"))
        for photo in photos:
            photo.incident = self  # for distance_from_case_m, without a query per photo
        return photos


class IncidentEvent(models.Model):
    """One entry of an incident's timeline: append-only (a trigger refuses UPDATE and DELETE).
    Its id is the sequence that live clients resume from."""

    class Kind(models.TextChoices):
        CREATED = "created", _("created")
        STATUS_CHANGED = "status_changed", _("status changed")
        NOTE = "note", _("note")
        DISPATCHED = "dispatched", _("responder dispatched")
        ARRIVED = "arrived", _("responder arrived")
        LOCATED = "located", _("location set")
        ESCALATED = "escalated", _("escalated")
        REPORT_LINKED = "report_linked", _("report linked")
        CATEGORY_CHANGED = "category_changed", _("category changed")
        PARTY_REGISTERED = "party_registered", _("party registered")
        PARTY_REVEALED = "party_revealed", _("ID number revealed")
        TRANSFER_ACCEPTED = "transfer_accepted", _("transfer accepted")
        TRANSFER_RETURNED = "transfer_returned", _("transfer returned")
        FEEDBACK_DELIVERED = "feedback_delivered", _("result delivered to the source")
        FEEDBACK_FAILED = "feedback_failed", _("result delivery failed")
        CALLBACK_DONE = "callback_done", _("call-back done")
        ORDER_ACCEPTED = "order_accepted", _("order accepted")
        ORDER_DECLINED = "order_declined", _("order declined")
        ORDER_STOOD_DOWN = "order_stood_down", _("responder stood down")
        PART_COMPLETED = "part_completed", _("office's part completed")
        PROGRESS = "progress", _("progress reported")
        LEVEL_RAISED = "level_raised", _("escalation level raised")
        ALARM = "alarm", _("alarm raised")
        ALARM_HANDLED = "alarm_handled", _("alarm handled")
        TRANSFER_REQUESTED = "transfer_requested", _("transfer requested")
        PERSONAL_DATA_REVEALED = "personal_data_revealed", _("caller or party details revealed")

    # Audit entries, not news: in the case's timeline, never on the live stream (the wall's ticker,
    # the sockets, their resume).
    QUIET_KINDS = frozenset({Kind.PARTY_REVEALED, Kind.PERSONAL_DATA_REVEALED})
    # The keys of `data` that may hold a name or a phone of the public, by kind: masked on output
    # (`data_masked`) for the entries written before names were stored masked.
    PERSONAL_DATA_KEYS: dict[str, tuple[str, str]] = {
        Kind.REPORT_LINKED: ("caller_name", "caller_phone"),
        Kind.PARTY_REGISTERED: ("name", "phone"), Kind.PARTY_REVEALED: ("name", "phone")}

    incident = models.ForeignKey(Incident, on_delete=models.PROTECT, related_name="events")
    subdistrict = models.ForeignKey("geo.Subdistrict", on_delete=models.PROTECT, related_name="+")
    kind = models.CharField(_("kind"), max_length=32, choices=Kind.choices)
    from_status = models.CharField(_("from"), max_length=32, choices=Status.choices, blank=True)
    to_status = models.CharField(_("to"), max_length=32, choices=Status.choices, blank=True)
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    actor_member = models.ForeignKey(
        "dispatch.Member", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    at = models.DateTimeField(_("at"), db_index=True)
    note = models.TextField(_("note"), blank=True, max_length=4000)
    data = models.JSONField(_("data"), default=dict, blank=True)

    class Meta:
        verbose_name = _("incident event")
        verbose_name_plural = _("incident events")
        ordering = ["id"]
        indexes = [models.Index(fields=["subdistrict", "id"]), models.Index(fields=["incident", "id"])]

    def __str__(self) -> str:
        return f"{self.incident_id} {self.kind} {self.at:%Y-%m-%d %H:%M}"

    @property
    def data_masked(self) -> dict:
        """`data` with the names and phones of the public masked: what every reader gets."""
        keys = self.PERSONAL_DATA_KEYS.get(self.kind)
        data = self.data or {}
        if not keys or not any(data.get(key) for key in keys):
            return data
        return {**data, **{key: (mask_phone if "phone" in key else mask_name)(data[key])
                           for key in keys if isinstance(data.get(key), str)}}


class IncidentCounter(models.Model):
    """The last case number handed out per day: `incident_number_next` increments it with an
    upsert, so concurrent intakes never get the same number."""

    day = models.DateField(primary_key=True)
    last = models.PositiveIntegerField(default=0)


class Report(CallerMasked, models.Model):
    """One report of an incident as it came in: a call, a district order, an assignment form.
    The same event reported twice keeps one incident with every report attached. A channel's
    external id is unique: sending the same order again finds the existing report."""

    incident = models.ForeignKey(Incident, on_delete=models.PROTECT, related_name="reports")
    channel = models.ForeignKey(Channel, on_delete=models.PROTECT, related_name="reports")
    external_id = models.CharField(_("external id"), max_length=64, null=True, blank=True)
    caller_name = models.CharField(_("caller name"), max_length=64, blank=True)
    caller_phone = models.CharField(_("caller phone"), max_length=20, blank=True)
    description = models.TextField(_("description"), max_length=4000)
    address_text = models.CharField(_("address"), max_length=256, blank=True)
    received_at = models.DateTimeField(_("received at"))
    received_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    class Meta:
        verbose_name = _("report")
        verbose_name_plural = _("reports")
        ordering = ["received_at", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["channel", "external_id"], condition=Q(external_id__isnull=False),
                name="report_channel_external_id_unique",
            ),
        ]


class Party(models.Model):
    """A person involved (当事人 and others), registered by the first to arrive. The ID number is
    shown masked; revealing it is allowed to some roles only and is written to the timeline."""

    class Role(models.TextChoices):
        PARTY = "party", _("party")
        VICTIM = "victim", _("victim")
        WITNESS = "witness", _("witness")
        OTHER = "other", _("other")

    incident = models.ForeignKey(Incident, on_delete=models.PROTECT, related_name="parties")
    name = models.CharField(_("name"), max_length=64)
    phone = models.CharField(_("phone"), max_length=20, blank=True)
    id_number = models.CharField(_("ID card number"), max_length=18, blank=True)
    role = models.CharField(_("role"), max_length=16, choices=Role.choices, default=Role.PARTY)
    registered_at = models.DateTimeField(_("registered at"))
    registered_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    class Meta:
        verbose_name = _("party")
        verbose_name_plural = _("parties")
        ordering = ["registered_at", "id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(id_number="") | Q(id_number__regex=r"^[0-9]{17}[0-9X]$"), name="party_id_number_format"
            ),
        ]

    @property
    def id_number_masked(self) -> str:
        n = self.id_number
        return f"{n[:3]}{'*' * 11}{n[-4:]}" if len(n) == 18 else ""

    @property
    def phone_masked(self) -> str:
        return mask_phone(self.phone)

    @property
    def name_masked(self) -> str:
        return mask_name(self.name)


PHOTOS_PER_REPORT = 3  # settings.PHOTO_MAX_COUNT; the database holds this bound (positions 0..2)
EARTH_RADIUS_M = 6_371_008.8


class IncidentPhoto(models.Model):
    """A photo taken on the scene, sent with an on-site report (`report_on_site`): at most
    PHOTOS_PER_REPORT per report event. EXIF location: Point, EPSG:4326, null when the photo has none.

    `original` is kept as uploaded (EXIF and all: it carries where the photo was taken, so it is
    served to the command roles only); `large` (≤ PHOTO_LARGE_PX) and `thumb` (≤ PHOTO_THUMB_PX)
    are JPEG renditions made at upload, turned upright by their EXIF orientation and stripped of
    every metadata. File names are random (never the client's) under settings.MEDIA_ROOT, which is
    never served as static files: GET /api/v1/photos/{id}/ checks who may see the case."""

    incident = models.ForeignKey(Incident, on_delete=models.PROTECT, related_name="photos")
    event = models.ForeignKey("IncidentEvent", on_delete=models.PROTECT, related_name="photos",
                              verbose_name=_("report event"))
    position = models.PositiveSmallIntegerField(_("position in the report"))
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+",
        verbose_name=_("uploaded by"))
    member = models.ForeignKey("dispatch.Member", on_delete=models.SET_NULL, null=True, blank=True,
                               related_name="+", verbose_name=_("member"))
    original = models.FileField(_("original"), max_length=200)
    large = models.FileField(_("large rendition"), max_length=200)
    thumb = models.FileField(_("thumbnail"), max_length=200)
    sha256 = models.CharField(_("SHA-256 of the original"), max_length=64)
    content_type = models.CharField(_("content type"), max_length=32)
    width = models.PositiveIntegerField(_("width"))
    height = models.PositiveIntegerField(_("height"))
    byte_size = models.PositiveIntegerField(_("size in bytes"))
    exif_location = models.PointField(_("where the photo was taken (EXIF)"), srid=4326, null=True, blank=True)
    taken_at = models.DateTimeField(_("taken at (EXIF)"), null=True, blank=True)
    created_at = models.DateTimeField(_("created at"))

    class Meta:
        verbose_name = _("on-site photo")
        verbose_name_plural = _("on-site photos")
        ordering = ["event_id", "position"]
        constraints = [
            models.UniqueConstraint(fields=["event", "position"], name="incident_photo_event_position"),
            models.CheckConstraint(condition=Q(position__lt=PHOTOS_PER_REPORT), name="incident_photo_per_report"),
            models.CheckConstraint(condition=Q(content_type__in=["image/jpeg", "image/png", "image/webp"]),
                                   name="incident_photo_content_type"),
            models.CheckConstraint(condition=Q(byte_size__gt=0), name="incident_photo_not_empty"),
        ]

    def __str__(self) -> str:
        return f"{self.incident_id} photo {self.pk}"

    @property
    def uploaded_by_name(self) -> str:
        if self.member is not None:
            return self.member.name
        user = self.uploaded_by
        return "" if user is None else (user.get_full_name() or user.get_username())

    @property
    def distance_from_case_m(self) -> float | None:
        """Metres (great circle) between where the photo was taken and the case's point; None
        when either is unknown."""
        a, b = self.exif_location, self.incident.location
        if a is None or b is None:
            return None
        lon1, lat1, lon2, lat2 = map(math.radians, (a.x, a.y, b.x, b.y))
        h = math.sin((lat2 - lat1) / 2) ** 2 + math.cos(lat1) * math.cos(lat2) * math.sin((lon2 - lon1) / 2) ** 2
        return 2 * EARTH_RADIUS_M * math.asin(min(1.0, math.sqrt(h)))


class Handover(models.Model):
    """A case handed to a unit: a transfer out of the on-site flow (to the police station, the
    grid squad, a department) or an off-site assignment to a responsible office. The unit accepts
    it or returns it with a reason; returns ("bounced" cases) are counted per case and per unit."""

    class Kind(models.TextChoices):
        TRANSFER = "transfer", _("transfer")
        ASSIGNMENT = "assignment", _("assignment")

    class State(models.TextChoices):
        PENDING = "pending", _("waiting for the unit")
        ACCEPTED = "accepted", _("accepted")
        RETURNED = "returned", _("returned")
        COMPLETED = "completed", _("completed")

    incident = models.ForeignKey(Incident, on_delete=models.PROTECT, related_name="handovers")
    unit = models.ForeignKey("dispatch.Unit", on_delete=models.PROTECT, related_name="handovers")
    kind = models.CharField(_("kind"), max_length=16, choices=Kind.choices)
    state = models.CharField(_("state"), max_length=16, choices=State.choices, default=State.PENDING)
    reason = models.TextField(_("reason"), max_length=2000)
    # Two deadlines, each watched by the SLA clock: to accept (or return) the case, and to report
    # the office's result (`deadline`). Defaults per unit kind: settings.HANDOVER_ACCEPT_MINUTES,
    # HANDOVER_REPORT_HOURS; an assignment form's own deadline wins for the report.
    accept_by = models.DateTimeField(_("accept by"), null=True, blank=True)
    deadline = models.DateTimeField(_("report the result by"), null=True, blank=True)
    accept_escalated_at = models.DateTimeField(_("acceptance overdue raised at"), null=True, blank=True)
    report_escalated_at = models.DateTimeField(_("result overdue raised at"), null=True, blank=True)
    lead = models.BooleanField(_("lead unit"), default=True)
    created_at = models.DateTimeField(_("created at"))
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    decided_at = models.DateTimeField(_("decided at"), null=True, blank=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    return_reason = models.TextField(_("return reason"), max_length=2000, blank=True)
    # Each office completes its own part; the case is completed when every accepted part is.
    completed_at = models.DateTimeField(_("completed at"), null=True, blank=True)
    completed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    result = models.TextField(_("office's result"), max_length=2000, blank=True)
    # Set when the command room completed the part on the office's behalf: why.
    on_behalf_reason = models.TextField(_("completed on the office's behalf because"), max_length=2000, blank=True)

    class Meta:
        verbose_name = _("handover")
        verbose_name_plural = _("handovers")
        ordering = ["created_at", "id"]
        indexes = [
            # The SLA clock's claims (dispatch/sla.py): exactly the hand-overs it watches.
            models.Index(fields=["accept_by"], name="handover_accept_due",
                         condition=Q(state="pending", accept_escalated_at__isnull=True, accept_by__isnull=False)),
            models.Index(fields=["deadline"], name="handover_report_due",
                         condition=Q(state="accepted", report_escalated_at__isnull=True, deadline__isnull=False)),
        ]
        constraints = [
            models.CheckConstraint(
                condition=~Q(state="returned") | ~Q(return_reason=""), name="handover_return_has_reason"
            ),
            models.CheckConstraint(condition=~Q(reason=""), name="handover_has_reason"),
            models.CheckConstraint(
                condition=~Q(state="completed") | (Q(completed_at__isnull=False) & ~Q(result="")),
                name="handover_completed_has_result",
            ),
        ]


class FeedbackDelivery(models.Model):
    """The result of a district order posted back to its channel's callback URL, retried with
    backoff (capped, never given up) until acknowledged. Each attempt is a FeedbackAttempt row."""

    class State(models.TextChoices):
        PENDING = "pending", _("pending")
        DELIVERED = "delivered", _("delivered")

    incident = models.ForeignKey(Incident, on_delete=models.PROTECT, related_name="deliveries")
    report = models.ForeignKey(Report, on_delete=models.PROTECT, related_name="deliveries")
    url = models.URLField(_("callback URL"))
    payload = models.JSONField(_("payload"))
    state = models.CharField(_("state"), max_length=16, choices=State.choices, default=State.PENDING)
    attempts = models.PositiveSmallIntegerField(_("attempts"), default=0)
    next_attempt_at = models.DateTimeField(_("next attempt at"), db_index=True)
    delivered_at = models.DateTimeField(_("delivered at"), null=True, blank=True)
    created_at = models.DateTimeField(_("created at"))

    class Meta:
        verbose_name = _("result delivery")
        verbose_name_plural = _("result deliveries")
        indexes = [models.Index(fields=["state", "next_attempt_at"])]


class FeedbackAttempt(models.Model):
    delivery = models.ForeignKey(FeedbackDelivery, on_delete=models.CASCADE, related_name="attempt_log")
    at = models.DateTimeField(_("at"))
    http_status = models.PositiveSmallIntegerField(_("HTTP status"), null=True, blank=True)
    error = models.CharField(_("error"), max_length=500, blank=True)
    ok = models.BooleanField(_("acknowledged"), default=False)

    class Meta:
        ordering = ["at", "id"]


class CallbackTask(models.Model):
    """A call-back by the command room: to the caller of a hotline case (feedback to the source)
    and to the party (satisfaction). 不满意 may reopen the case."""

    class Satisfaction(models.TextChoices):
        SATISFIED = "satisfied", _("satisfied")
        BASICALLY_SATISFIED = "basically_satisfied", _("basically satisfied")
        DISSATISFIED = "dissatisfied", _("dissatisfied")

    class State(models.TextChoices):
        OPEN = "open", _("to call back")
        DONE = "done", _("called back")
        UNREACHABLE = "unreachable", _("unreachable")

    incident = models.ForeignKey(Incident, on_delete=models.PROTECT, related_name="callbacks")
    phone = models.CharField(_("phone"), max_length=20, blank=True)
    name = models.CharField(_("name"), max_length=64, blank=True)
    state = models.CharField(_("state"), max_length=16, choices=State.choices, default=State.OPEN)
    satisfaction = models.CharField(_("satisfaction"), max_length=24, choices=Satisfaction.choices, blank=True)
    note = models.TextField(_("note"), max_length=2000, blank=True)
    created_at = models.DateTimeField(_("created at"))
    done_at = models.DateTimeField(_("done at"), null=True, blank=True)
    done_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    class Meta:
        verbose_name = _("call-back")
        verbose_name_plural = _("call-backs")
        ordering = ["created_at", "id"]
        constraints = [
            models.CheckConstraint(
                condition=~Q(state="done") | ~Q(satisfaction=""), name="callback_done_has_satisfaction"
            ),
        ]

    @property
    def name_masked(self) -> str:
        return mask_name(self.name)

    @property
    def phone_masked(self) -> str:
        return mask_phone(self.phone)


@track_changes()
class CategoryRule(models.Model):
    """A keyword rule that suggests a category from a description (editable in admin).
    Every rule whose keyword occurs adds its weight to its category; the heaviest wins."""

    keyword = models.CharField(_("keyword"), max_length=32)
    category = models.ForeignKey(Category, on_delete=models.CASCADE, related_name="rules")
    weight = models.PositiveSmallIntegerField(_("weight"), default=1)
    active = models.BooleanField(_("active"), default=True)

    class Meta:
        verbose_name = _("category rule")
        verbose_name_plural = _("category rules")
        ordering = ["category", "-weight", "keyword"]
        constraints = [models.UniqueConstraint(fields=["keyword", "category"], name="category_rule_unique")]

    def __str__(self) -> str:
        return f"{self.keyword} → {self.category}"


class IdempotentRequest(models.Model):
    """One action POSTed to the API with an `Idempotency-Key` header (phones replay their offline
    queue): the first answer, kept so that a repeat of the same request answers it again and runs
    nothing (`incidents/idempotency.py`). The row is inserted before the action runs, inside the
    request's transaction, with `response_status` null: the unique (user, key) makes a concurrent
    repeat wait until the first one commits (or rolls back). Rows older than
    settings.IDEMPOTENCY_KEY_HOURS are no longer honoured and are purged on later writes."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    key = models.CharField(_("idempotency key"), max_length=128)
    method = models.CharField(_("method"), max_length=8)
    path = models.TextField(_("path"))
    body_hash = models.CharField(_("request body SHA-256"), max_length=64)
    response_status = models.PositiveSmallIntegerField(_("response status"), null=True, blank=True)
    response_body = models.JSONField(_("response body"), null=True, blank=True)
    created_at = models.DateTimeField(_("created at"))

    class Meta:
        verbose_name = _("idempotent request")
        verbose_name_plural = _("idempotent requests")
        constraints = [models.UniqueConstraint(fields=["user", "key"], name="idempotent_request_user_key")]
        indexes = [models.Index(fields=["created_at"], name="idempotent_request_created")]

    def __str__(self) -> str:
        return f"{self.method} {self.path} [{self.key}]"
