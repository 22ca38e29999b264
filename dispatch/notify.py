"""Reaching a person: the messages to members, written in the same transaction as what they tell of.

A new order, a stand-down, an overdue alarm or a major-incident call becomes one `MemberMessage`
per recipient, inside the transaction of the service (or SLA clock tick) that made the decision:
the order and its message commit together or not at all. After commit each is published to the
member's live group (`dispatch/live.py`): an open app shows it at once. The outbound notifier
(`dispatch/notifier.py`, `manage.py run_notifier`) sends what was not read in the app within
settings.NOTIFY_GRACE_SECONDS through the SMS / messaging gateway — at once for a member with no
app login.

Exactly once per event and recipient: the services call these once per order, stand-down and
alarm (the alarm itself is raised once by the clock), and the unique constraints (member, kind,
order, step) and (member, kind, alarm, step) are the last word — a duplicate insert fails in its
savepoint and is skipped.

A published grid version tells each member whose grids change (`messages_for_grid_change`, from
planner/notify.py inside the publication's transaction): thousands at once in a city, so they are
written in one INSERT (no savepoint each: the publication runs once per version, under the
sub-district's lock, and the constraint (member, kind, version) is the last word — a duplicate
fails the publication) and published after commit in one batch
(`dispatch.live.payloads_publish_on_commit`). Delivery as for every message (`message_delivery`):
in the app at once, outbound after the grace.

Who: an order's and a stand-down's member (they were dispatched: the dispatcher chose them, on
duty or explicitly off duty); an alarm's `notified` members, already filtered by the clock
(on duty, the leaders of a major incident whatever their shift, the late member when on duty or
chosen off duty). Texts are built in settings.LANGUAGE_CODE (the forces' language), whatever the
language of the dispatcher who acted.
"""

import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from dispatch.live import message_payload_of, message_publish_on_commit, payloads_publish_on_commit
from dispatch.models import Alarm, DispatchOrder, Member, MemberMessage
from geo.models import BoundaryVersion
from incidents.models import Incident

log = logging.getLogger("gridlink.notify")

ONCE_CONSTRAINTS = frozenset({"member_message_once_per_order", "member_message_once_per_alarm",
                              "member_message_once_per_version"})
DESCRIPTION_CHARS = 80
Kind = MemberMessage.Kind


# --- the services' one-line hooks -----------------------------------------------------------------

def messages_for_order_dispatched(order: DispatchOrder) -> list[MemberMessage]:
    """The new order's message to its member. Precondition: inside the dispatch's transaction."""
    incident = order.incident
    with translation.override(settings.LANGUAGE_CODE):
        title = _("New order %(number)s: %(category)s") % {"number": incident.number,
                                                           "category": category_name(incident)}
        parts = [scene_text(incident), _description(incident)]
        if order.arrive_by is not None:
            parts.append(_("Arrive by %(time)s.") % {"time": _hm(order.arrive_by)})
        body = text_join(parts)
    message = message_once(member=order.member, kind=Kind.ORDER, incident=incident, order=order, title=title,
                           body=body, at=order.dispatched_at)
    return [message] if message else []


def message_stand_down(order: DispatchOrder) -> MemberMessage | None:
    """The stand-down's message to the member (the order is saved stood down, with its reason).
    Precondition: inside the stand-down's transaction."""
    incident = order.incident
    with translation.override(settings.LANGUAGE_CODE):
        title = _("Stood down %(number)s") % {"number": incident.number}
        reason = order.stand_down_reason.rstrip("。.！!")
        body = text_join([_("You are no longer needed on this case: %(reason)s.") % {"reason": reason}, scene_text(incident)])
    return message_once(member=order.member, kind=Kind.STAND_DOWN, incident=incident, order=order, title=title,
                        body=body, at=order.stood_down_at or timezone.now())


def messages_for_alarm(alarm: Alarm, members: Iterable[Member]) -> list[MemberMessage]:
    """One message per member the alarm was told to (`alarm.notified`, chosen by the SLA clock):
    the late member's reminder (`reminder`), a major incident's call to a leader (`major`), an
    alarm to a unit leader (`alarm`). Precondition: inside the clock's claim transaction."""
    incident = alarm.incident
    late_member_id = alarm.order.member_id if alarm.order is not None else None
    messages = []
    with translation.override(settings.LANGUAGE_CODE):
        for member in members:
            if alarm.kind == Alarm.Kind.MAJOR_INCIDENT:
                kind, title, body = Kind.MAJOR, *_major_text(incident)
            elif member.pk == late_member_id:
                kind, title, body = Kind.REMINDER, *_reminder_text(alarm)
            else:
                kind, title, body = Kind.ALARM, *_alarm_text(alarm)
            message = message_once(member=member, kind=kind, incident=incident, order=alarm.order, alarm=alarm,
                                   title=title, body=body, at=alarm.raised_at)
            if message is not None:
                messages.append(message)
    return messages


# --- until acknowledged: an order not accepted is sent again, outbound, then to the unit leaders ----

RESEND_KINDS = (Kind.ORDER, Kind.RESEND)


def message_resend(order: DispatchOrder, at: datetime, *, outbound_now: bool = False,
                   publish: bool = True) -> MemberMessage | None:
    """The order sent again to its member (`resend`): by the SLA clock's first step, by a
    dispatcher's "remind again", or — `outbound_now`, not published to the app — as the clock's
    outbound step when the member had read every message already. Each resend of an order is the
    next `step` of its kind (1, 2, ...), under the order's row lock (the clock's claim, the
    service's lock), so the unique constraint (member, kind, order, step) keeps them apart.
    Precondition: inside the transaction that holds the order's lock."""
    incident = order.incident
    last = (MemberMessage.objects.filter(member_id=order.member_id, order=order, kind=Kind.RESEND)
            .order_by("-step").values_list("step", flat=True).first())
    with translation.override(settings.LANGUAGE_CODE):
        title = _("Please confirm order %(number)s") % {"number": incident.number}
        body = text_join([_("You were dispatched at %(time)s and have not accepted yet: accept the order, or tell "
                        "the command room why not.") % {"time": _hm(order.dispatched_at)}, scene_text(incident)])
    return message_once(member=order.member, kind=Kind.RESEND, incident=incident, order=order, title=title,
                        body=body, at=at, step=(last or 0) + 1, outbound_now=outbound_now, publish=publish)


def message_outbound_now(order: DispatchOrder, at: datetime) -> MemberMessage | None:
    """The clock's outbound step: the member's latest unread message of this order (the order or a
    resend) still waiting for its grace is made due now, so the notifier sends it on its next look.
    One being sent already (claimed, retrying, or due) is left as it is. When every message was read
    in the app (or is out already) but the order is still not accepted, a new resend is written,
    due outbound now. Returns the message that goes out (None when it is on its way already)."""
    latest = (MemberMessage.objects.select_for_update(skip_locked=True, of=("self",))
              .filter(member_id=order.member_id, order=order, kind__in=RESEND_KINDS, read_at__isnull=True,
                      state=MemberMessage.State.PENDING)
              .order_by("-created_at", "-id").first())
    if latest is None:
        if MemberMessage.objects.filter(member_id=order.member_id, order=order, kind__in=RESEND_KINDS,
                                        read_at__isnull=True, state=MemberMessage.State.PENDING).exists():
            return None  # locked by a notifier's claim: it is being sent right now
        return message_resend(order, at, outbound_now=True, publish=False)
    return _due_now(latest, at)


def messages_order_unconfirmed(order: DispatchOrder, leaders: Iterable[Member], at: datetime,
                               *, step: int) -> list[MemberMessage]:
    """The clock's last step: each unit leader (chosen by the clock: on duty) is told that the
    member has not confirmed the order (`alarm`, no Alarm row), once per order and `step`."""
    incident = order.incident
    messages = []
    with translation.override(settings.LANGUAGE_CODE):
        title = _("Alarm %(number)s") % {"number": incident.number}
        body = text_join([unconfirmed_sentence(order), scene_text(incident)])
    for leader in leaders:
        message = message_once(member=leader, kind=Kind.ALARM, incident=incident, order=order, title=title,
                               body=body, at=at, step=step)
        if message is not None:
            messages.append(message)
    return messages


# --- until acknowledged: an alarm the unit leaders did not acknowledge is sent again, then outbound ---

def messages_alarm_resend(alarm: Alarm, leaders: Iterable[Member], at: datetime, *, step: int = 1
                          ) -> list[MemberMessage]:
    """The SLA clock's first step of an alarm's ladder: each leader it was told to (chosen by the
    clock: on duty) is told again (`alarm`, `step`), published to the app at once. Precondition:
    inside the clock's claim transaction (the alarm's row lock)."""
    messages = []
    with translation.override(settings.LANGUAGE_CODE):
        title, body = _alarm_again_text(alarm)
    for leader in leaders:
        message = message_once(member=leader, kind=Kind.ALARM, incident=alarm.incident, order=alarm.order,
                               alarm=alarm, title=title, body=body, at=at, step=step)
        if message is not None:
            messages.append(message)
    return messages


def message_alarm_outbound_now(alarm: Alarm, leader: Member, at: datetime, *, step: int = 2) -> MemberMessage | None:
    """The clock's outbound step of an alarm's ladder, for one leader (as `message_outbound_now` for
    an order): their latest unread message of the alarm still waiting for its grace is made due now;
    one being sent already is left as it is; when they read every one (or all are out already) and
    still did not acknowledge, a new one (`step`) is written, due outbound now and not published.
    Returns the message that goes out (None when it is on its way already)."""
    unread = MemberMessage.objects.filter(member_id=leader.pk, alarm=alarm, kind=Kind.ALARM, read_at__isnull=True,
                                          state=MemberMessage.State.PENDING)
    latest = unread.select_for_update(skip_locked=True, of=("self",)).order_by("-created_at", "-id").first()
    if latest is None:
        if unread.exists():
            return None  # locked by a notifier's claim: it is being sent right now
        with translation.override(settings.LANGUAGE_CODE):
            title, body = _alarm_again_text(alarm)
        return message_once(member=leader, kind=Kind.ALARM, incident=alarm.incident, order=alarm.order, alarm=alarm,
                            title=title, body=body, at=at, step=step, outbound_now=True, publish=False)
    return _due_now(latest, at)


def _due_now(message: MemberMessage, at: datetime) -> MemberMessage:
    """A message still waiting for its grace (never tried) is made due outbound at `at`; one being
    sent already (tried, retrying, or due) is left as it is. Precondition: its row is locked."""
    if message.deliver_after > at and message.next_attempt_at == message.deliver_after and message.attempts == 0:
        message.deliver_after = message.next_attempt_at = at
        message.save(update_fields=["deliver_after", "next_attempt_at"])
    return message


def unconfirmed_sentence(order: DispatchOrder) -> str:
    """"X (unit) has not confirmed order N, dispatched at HH:MM." (in the active language)."""
    return _("%(member)s (%(unit)s) has not confirmed order %(number)s, dispatched at %(time)s.") % {
        "member": order.member.name, "unit": order.member.unit.name, "number": order.incident.number,
        "time": _hm(order.dispatched_at)}


# --- the member's app: read ----------------------------------------------------------------------

def message_read(member: Member | int, message_id: int, *, at: datetime | None = None) -> MemberMessage | None:
    """The member read their message in the app: `read_at` is set once (the first read counts; a
    second changes nothing). None when the message is not this member's (or does not exist).
    Read within its grace, the message is never sent outbound (the notifier skips it)."""
    member_id = member if isinstance(member, int) else member.pk
    mine = MemberMessage.objects.filter(pk=message_id, member_id=member_id)
    mine.filter(read_at__isnull=True).update(read_at=at or timezone.now())
    return mine.only("id", "member_id", "read_at", "state").first()


# --- writing one message -------------------------------------------------------------------------

def message_delivery(member: Member, at: datetime, *, outbound_now: bool = False) -> tuple[datetime, str]:
    """When a message to `member` written at `at` goes outbound, and its outbound state: a member
    with no usable phone (or no longer active) gets it in the app only (`skipped_off`); one without
    an app login (or an `outbound_now` message) is sent outbound at once, with no grace; the others
    after NOTIFY_GRACE_SECONDS unless read in the app. Reads `member.user_id`, `active` and `phone`."""
    grace = timedelta(seconds=settings.NOTIFY_GRACE_SECONDS if member.user_id and not outbound_now else 0)
    reachable = member.active and bool((member.phone or "").strip())
    return at + grace, MemberMessage.State.PENDING if reachable else MemberMessage.State.SKIPPED_OFF


def message_build(*, member: Member, kind: str, title: str, body: str, at: datetime,
                  incident: Incident | None = None, order: DispatchOrder | None = None, alarm: Alarm | None = None,
                  step: int = 0, outbound_now: bool = False) -> MemberMessage:
    """The message, not saved, with its delivery (`message_delivery`)."""
    due, state = message_delivery(member, at, outbound_now=outbound_now)
    return MemberMessage(
        subdistrict_id=member.subdistrict_id, member=member, kind=kind, incident=incident, order=order, alarm=alarm,
        step=step, title=title[:128], body=body[:1000], created_at=at, deliver_after=due, next_attempt_at=due,
        state=state)


def message_once(*, member: Member, kind: str, incident: Incident | None, title: str, body: str, at: datetime,
                 order: DispatchOrder | None = None, alarm: Alarm | None = None, step: int = 0,
                 outbound_now: bool = False, publish: bool = True) -> MemberMessage | None:
    """Insert the message (`message_build`: its delivery) in a savepoint and publish it after
    commit; None when its unique constraint says it was written already."""
    message = message_build(member=member, kind=kind, incident=incident, order=order, alarm=alarm, title=title,
                            body=body, at=at, step=step, outbound_now=outbound_now)
    try:
        with transaction.atomic():
            message.save(force_insert=True)
    except IntegrityError as exc:
        constraint = getattr(getattr(exc.__cause__, "diag", None), "constraint_name", None)
        if constraint not in ONCE_CONSTRAINTS:
            raise
        log.warning("message %s to member %s (order %s, alarm %s) exists already: not written again",
                    kind, member.pk, getattr(order, "pk", None), getattr(alarm, "pk", None))
        return None
    if publish:
        message_publish_on_commit(message)
    return message


def messages_bulk(texts: Iterable[tuple[Member, str, str]], *, kind: str, at: datetime) -> list[MemberMessage]:
    """One message to each member (title, body), inserted in one statement and published after
    commit; delivered like every message (the app at once, SMS after the grace unless read). For
    announcements that a unique row of their own makes once (a ranking's publication)."""
    messages = MemberMessage.objects.bulk_create(
        [message_build(member=member, kind=kind, title=title, body=body, at=at) for member, title, body in texts])
    for message in messages:
        message_publish_on_commit(message)
    return messages


# --- a grid version published: the members whose grids change ------------------------------------

@dataclass(frozen=True)
class GridRef:
    """A grid as a message names it."""

    code: str
    name: str
    community: str = ""


@dataclass(frozen=True)
class GridChange:
    """What a published version changes for one member: the grids they served in the version before
    (`old`) and serve in the new one (`new`), and which of the grids they keep were redrawn
    (`redrawn`, codes). `member` as `message_build` reads it."""

    member: Member
    old: Sequence[GridRef]
    new: Sequence[GridRef]
    redrawn: Sequence[str] = ()


def messages_for_grid_change(version: BoundaryVersion, changes: Iterable[GridChange], *, at: datetime) -> list[int]:
    """One `grid` message per change (the caller decides whose grids change: planner/notify.py),
    with the delivery of every message (`message_delivery`), written in one INSERT and published
    after commit in one batch; returns their ids. A member told of this version already is skipped
    (the constraint (member, kind, version) is the last word). Precondition: inside the
    publication's transaction, `version` published (its `effective_from` set)."""
    told = set(MemberMessage.objects.filter(kind=Kind.GRID, version=version).values_list("member_id", flat=True))
    members, subdistricts, titles, bodies, dues, states = [], [], [], [], [], []
    with translation.override(settings.LANGUAGE_CODE):
        words = _GridWords(version, at)
        for change in changes:
            member = change.member
            if member.pk in told:
                continue
            told.add(member.pk)
            title, body = words.text(change)
            due, state = message_delivery(member, at)
            members.append(member.pk)
            subdistricts.append(member.subdistrict_id)
            titles.append(title[:128])
            bodies.append(body[:1000])
            dues.append(due)
            states.append(state)
    if not members:
        return []
    # In SQL: the ORM's bulk_create spends seconds building 20,000 model instances and their rows.
    with connection.cursor() as cur:
        cur.execute(
            "INSERT INTO dispatch_membermessage (subdistrict_id, member_id, kind, version_id, step, title, body, "
            "created_at, deliver_after, next_attempt_at, state, attempts, last_error, gateway_id) "
            "SELECT s, m, %s, %s, 0, t, b, %s, d, d, st, 0, '', '' "
            "FROM unnest(%s::bigint[], %s::bigint[], %s::text[], %s::text[], %s::timestamptz[], %s::text[]) "
            "WITH ORDINALITY AS u(s, m, t, b, d, st, n) ORDER BY n RETURNING id",
            [Kind.GRID, version.pk, at, subdistricts, members, titles, bodies, dues, states])
        ids = [pk for (pk,) in cur.fetchall()]
    created = at.isoformat()
    payloads_publish_on_commit([
        (member, message_payload_of(id=pk, kind=Kind.GRID, title=title, body=body, created_at=created))
        for pk, member, title, body in zip(ids, members, titles, bodies, strict=True)])
    return ids


class _GridWords:
    """The texts of one version's grid messages (in the active language): the version's sentence and
    the templates translated once for all its members."""

    def __init__(self, version: BoundaryVersion, at: datetime):
        effective = version.effective_from or at
        now = effective <= at
        self.time = timezone.localtime(effective).strftime("%m-%d %H:%M")
        if now:
            self.when = _("Grid version %(number)d is in force from now.") % {"number": version.number}
            self.title_none = _("No grid for you from now")
            self.title_one, self.title_many = _("Your grid from now: %(grids)s"), _("Your grids from now: %(grids)s")
        else:
            self.when = _("Grid version %(number)d takes effect at %(time)s.") % {
                "number": version.number, "time": timezone.localtime(effective).strftime("%Y-%m-%d %H:%M")}
            self.title_none = _("No grid for you from %(time)s") % {"time": self.time}
            self.title_one = _("Your grid from %(time)s: %(grids)s")
            self.title_many = _("Your grids from %(time)s: %(grids)s")
        self.with_community = _("%(code)s %(name)s (%(community)s)")
        self.before, self.before_none = _("Before: %(grids)s."), _("Before: no grid.")
        self.new, self.new_none = _("New: %(grids)s."), _("New: no grid.")
        self.redrawn = _("Boundary redrawn: %(grids)s.")
        zh = (translation.get_language() or "").startswith("zh")
        self.separator, self.sentences = ("、", "") if zh else (", ", " ")

    def text(self, change: GridChange) -> tuple[str, str]:
        join = self.separator.join
        if not change.new:
            title = self.title_none
        else:
            title = (self.title_one if len(change.new) == 1 else self.title_many) % {
                "time": self.time, "grids": join(f"{g.code} {g.name}" for g in change.new)}
        old = join(f"{g.code} {g.name}" for g in change.old)
        new = join(self.with_community % {"code": g.code, "name": g.name, "community": g.community}
                   if g.community else f"{g.code} {g.name}" for g in change.new)
        parts = [self.when, self.before % {"grids": old} if old else self.before_none,
                 self.new % {"grids": new} if new else self.new_none]
        if change.redrawn:
            parts.append(self.redrawn % {"grids": join(change.redrawn)})
        return title, self.sentences.join(parts)


# --- texts (inside translation.override; text_join, category_name and scene_text are shared with
# dispatch/unit_notify.py, as is message_once) ---------------------------------------------------------------------------

def _hm(at: datetime) -> str:
    return timezone.localtime(at).strftime("%H:%M")


def text_join(parts: list[str]) -> str:
    separator = "" if (translation.get_language() or "").startswith("zh") else " "
    return separator.join(p for p in parts if p)


def category_name(incident: Incident) -> str:
    return incident.category.display_name()


def scene_text(incident: Incident) -> str:
    place = incident.address_text
    if not place and incident.grid is not None:
        place = incident.grid.name
    return _("Scene: %(place)s.") % {"place": place} if place else ""


def _description(incident: Incident) -> str:
    text = " ".join(incident.description.split())
    return text if len(text) <= DESCRIPTION_CHARS else text[:DESCRIPTION_CHARS] + "…"


def _reminder_text(alarm: Alarm) -> tuple[str, str]:
    incident = alarm.incident
    title = _("Overdue %(number)s") % {"number": incident.number}
    body = text_join([_("Your arrival deadline was %(deadline)s. Arrive as soon as possible, or tell the command "
                    "room why not.") % {"deadline": _hm(alarm.due_at or alarm.raised_at)}, scene_text(incident)])
    return title, body


def _alarm_text(alarm: Alarm) -> tuple[str, str]:
    """To a unit leader: a member of their unit late, or their unit's hand-over overdue (the same
    sentences as the alarm's timeline event)."""
    incident = alarm.incident
    title = _("Alarm %(number)s") % {"number": incident.number}
    due = alarm.due_at or alarm.raised_at
    if alarm.kind == Alarm.Kind.ARRIVAL_OVERDUE and alarm.order is not None:
        member = alarm.order.member
        said = _("%(member)s (%(unit)s) has not arrived; the deadline was %(deadline)s.") % {
            "member": member.name, "unit": member.unit.name, "deadline": _hm(due)}
    elif alarm.handover is not None:
        values = {"unit": alarm.handover.unit.name,
                  "deadline": timezone.localtime(due).strftime("%Y-%m-%d %H:%M")}
        if alarm.kind == Alarm.Kind.HANDOVER_ACCEPT_OVERDUE:
            said = _("%(unit)s has neither accepted nor returned the case; the deadline was %(deadline)s.") % values
        else:
            said = _("%(unit)s has not reported its result; the deadline was %(deadline)s.") % values
    else:
        said = alarm.get_kind_display()
    return title, text_join([said, scene_text(incident)])


def _alarm_again_text(alarm: Alarm) -> tuple[str, str]:
    """To a unit leader who has not acknowledged an alarm: the alarm's sentences and what to do."""
    title, said = _alarm_text(alarm)
    title = _("Please acknowledge: alarm %(number)s") % {"number": alarm.incident.number}
    return title, text_join([said, _("Acknowledge it in the app (My team), or phone the command room.")])


def _major_text(incident: Incident) -> tuple[str, str]:
    title = _("Major incident %(number)s: %(category)s") % {"number": incident.number,
                                                            "category": category_name(incident)}
    body = text_join([scene_text(incident), _description(incident),
                  _("The plan calls the sub-district's leaders to the scene at once.")])
    return title, body
