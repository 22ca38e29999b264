"""Accountability interviews (约谈): recorded, rectified, and alarmed once when overdue.

The plan's 工作保障: a unit or a village/community that falls short is interviewed by the
sub-district's leaders (or the command room for them) and given requirements and a deadline to
rectify (限期整改). The record (`reports.models.Interview`) has one lifecycle:

    open ──(interview_rectify: the rectification's report and time)──▶ rectified

and one derived state for the pages: *overdue* (open and past its deadline). Every write is a
service here, in one transaction, keyword-only, refusing with a `DomainError` (400 bad input,
403 role, 404 another sub-district's record, 409 a move the lifecycle does not allow) and changing
nothing then.

The overdue alarm, exactly once: the governance clock (`manage.py run_governance_clock`, started
beside the SLA clock by scripts/run-server) calls `interviews_overdue_raise` every minute. It
claims the open interviews whose deadline passed and whose alarm was not raised with ONE
conditional statement — `UPDATE … SET overdue_alarmed_at = now WHERE id IN (SELECT … FOR UPDATE
SKIP LOCKED) AND overdue_alarmed_at IS NULL RETURNING id` — and writes the messages in the same
transaction. A second clock skips the rows the first holds and, once it committed, finds them
marked; a clock killed mid-tick commits neither mark nor messages, and the next tick claims the
rows again; a rectification (which locks its row) either commits first (the claim re-checks
`state = 'open'` and skips it) or waits for the claim. No unique constraint of the messages
applies (they name no incident, order or alarm): the claim is the only guard, and it is enough.

Who is told (dispatch's rules: never a member off duty at that instant): the responsible side —
a unit's office (`dispatch.unit_notify.office_recipients`: its unit leaders and department
logins on duty), or a community's leaders on duty (the community unit's leaders, its security
director and the grid leaders of its grids) — and the command room's members on duty. Those of the
responsible side off duty are named in the command room's message ("phone them") and kept in
`overdue_notified`. Texts in settings.LANGUAGE_CODE (the forces' language). Messages are
`MemberMessage.Kind.ALARM` with no incident: the app shows title and body, the notifier sends
them outbound after the grace like any other.
"""

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import cast

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Q, QuerySet
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from config.errors import DomainError, Forbidden, TransitionRefused
from config.roles import UserRole, has_role
from dispatch.models import Force, Member, MemberMessage, Role, Unit
from dispatch.notify import message_once, text_join
from dispatch.selectors import on_duty_at
from dispatch.unit_notify import office_recipients
from geo.models import Community, Subdistrict
from incidents.validators import clean_text
from reports.access import GOVERNANCE_ROLES
from reports.excel import Column, Sheet
from reports.models import Interview

MAX_TEXT = 4000
MAX_REASON = 200
MAX_DEADLINE_DAYS = 366  # as an assignment form's (settings.INTAKE_DEADLINE_MAX_DAYS' default)
CLAIM_BATCH = 100
COMMUNITY_LEADER_ROLES = [Role.UNIT_LEADER, Role.SECURITY_DIRECTOR, Role.GRID_LEADER]

OPEN, OVERDUE, RECTIFIED = "open", "overdue", "rectified"
STATES = (OPEN, OVERDUE, RECTIFIED)


def state_labels() -> dict[str, str]:
    """The three states a page shows, in the active language."""
    return {OPEN: _("awaiting rectification"), OVERDUE: _("overdue"), RECTIFIED: _("rectified")}


# --- reads ------------------------------------------------------------------------------------------

def interview_state(interview: Interview, *, now: datetime) -> str:
    """open, overdue (open and past its deadline) or rectified."""
    if interview.state == Interview.State.RECTIFIED:
        return RECTIFIED
    return OVERDUE if interview.deadline <= now else OPEN


def target_name(interview: Interview) -> str:
    if interview.unit is not None:
        return interview.unit.name
    return cast(Community, interview.community).name  # an interview names a unit or a community


def interviews_of(*, subdistrict: Subdistrict) -> QuerySet[Interview]:
    return (Interview.objects.filter(subdistrict=subdistrict)
            .select_related("unit", "community", "created_by", "rectified_by").order_by("-held_at", "-id"))


def interview_list(*, subdistrict: Subdistrict, state: str | None = None, now: datetime | None = None
                   ) -> list[Interview]:
    """The sub-district's interviews, newest first, each with `view_state` (open, overdue,
    rectified); `state` keeps only those in it (None: all)."""
    now = now or timezone.now()
    queryset = interviews_of(subdistrict=subdistrict)
    if state == RECTIFIED:
        queryset = queryset.filter(state=Interview.State.RECTIFIED)
    elif state == OVERDUE:
        queryset = queryset.filter(state=Interview.State.OPEN, deadline__lte=now)
    elif state == OPEN:
        queryset = queryset.filter(state=Interview.State.OPEN, deadline__gt=now)
    elif state is not None:
        raise DomainError(_("Unknown state “%(state)s”; one of: %(states)s.")
                          % {"state": state, "states": ", ".join(STATES)}, code="state")
    rows = list(queryset)
    for row in rows:
        row.view_state = interview_state(row, now=now)  # type: ignore[attr-defined]  # for the pages
    return rows


def interview_get(*, subdistrict: Subdistrict, interview_id: int, now: datetime | None = None) -> Interview | None:
    """One interview of the sub-district (None for another sub-district's: a 404)."""
    interview = interviews_of(subdistrict=subdistrict).filter(pk=interview_id).first()
    if interview is not None:
        interview.view_state = interview_state(  # type: ignore[attr-defined]  # for the pages
            interview, now=now or timezone.now())
    return interview


def interview_targets(*, subdistrict: Subdistrict) -> tuple[list[Unit], list[Community]]:
    """What an interview may name: the sub-district's units and villages/communities."""
    units = list(Unit.objects.filter(subdistrict=subdistrict).order_by("kind", "code"))
    communities = list(Community.objects.filter(subdistrict=subdistrict).defer("boundary").order_by("code"))
    return units, communities


# --- writes -----------------------------------------------------------------------------------------

def _require_governance(actor) -> None:
    if actor is None or not has_role(actor, *GOVERNANCE_ROLES):
        raise Forbidden(_("Only the sub-district's leaders and the command room record interviews."))


def _skew() -> timedelta:
    return timedelta(seconds=settings.INTAKE_CLOCK_SKEW_SECONDS)


def interview_record(*, actor, subdistrict: Subdistrict, reason: str, findings: str, requirements: str,
                     deadline: datetime, unit: Unit | None = None, community: Community | None = None,
                     held_at: datetime | None = None) -> Interview:
    """Record an interview of one unit or one village/community of `subdistrict`: why, what was
    found, what must be rectified and by when (in the future, within MAX_DEADLINE_DAYS). `held_at`
    (default now) may lie in the past, never in the future."""
    _require_governance(actor)
    reason = clean_text(reason, field=_("Reason"), max_length=MAX_REASON, required=True)
    findings = clean_text(findings, field=_("Findings"), max_length=MAX_TEXT, required=True)
    requirements = clean_text(requirements, field=_("Rectification required"), max_length=MAX_TEXT, required=True)
    if (unit is None) == (community is None):
        raise DomainError(_("Name either the unit or the village/community interviewed."), code="target")
    if unit is not None and unit.subdistrict_id != subdistrict.pk:
        raise DomainError(_("That unit belongs to another sub-district."), code="unit")
    if community is not None and community.subdistrict_id != subdistrict.pk:
        raise DomainError(_("That village/community belongs to another sub-district."), code="community")
    now = timezone.now()
    held_at = held_at or now
    if held_at > now + _skew():
        raise DomainError(_("The interview cannot be held in the future."), code="held_at")
    if held_at < now - timedelta(days=MAX_DEADLINE_DAYS):
        raise DomainError(_("The interview was held more than a year ago: record it no longer."), code="held_at")
    if deadline is None or deadline <= max(now, held_at):
        raise DomainError(_("The rectification deadline must lie in the future."), code="deadline")
    if deadline > now + timedelta(days=MAX_DEADLINE_DAYS):
        raise DomainError(_("The rectification deadline may be at most %(days)d days ahead.")
                          % {"days": MAX_DEADLINE_DAYS}, code="deadline")
    with transaction.atomic():
        return Interview.objects.create(
            subdistrict=subdistrict, unit=unit, community=community, held_at=held_at, reason=reason,
            findings=findings, requirements=requirements, deadline=deadline, state=Interview.State.OPEN,
            created_at=now, created_by=actor)


def interview_rectify(*, actor, subdistrict: Subdistrict, interview_id: int, note: str,
                      rectified_at: datetime | None = None) -> Interview:
    """Record the rectification of an open interview (the report of what was done, and when:
    default now, never in the future nor before the interview). Lock, check, write."""
    _require_governance(actor)
    note = clean_text(note, field=_("Rectification report"), max_length=MAX_TEXT, required=True)
    now = timezone.now()
    rectified_at = rectified_at or now
    if rectified_at > now + _skew():
        raise DomainError(_("The rectification cannot be recorded for the future."), code="rectified_at")
    with transaction.atomic():
        interview = (Interview.objects.select_for_update(of=("self",))
                     .filter(pk=interview_id, subdistrict=subdistrict).first())
        if interview is None:
            raise DomainError(_("No such interview."), code="not_found", http_status=404)
        if interview.state == Interview.State.RECTIFIED:
            raise TransitionRefused(_("This interview's rectification is recorded already."))
        if rectified_at < interview.held_at:
            raise DomainError(_("The rectification cannot come before the interview."), code="rectified_at")
        interview.state, interview.rectified_at = Interview.State.RECTIFIED, rectified_at
        interview.rectification_note, interview.rectified_by = note, actor
        interview.save(update_fields=["state", "rectified_at", "rectification_note", "rectified_by"])
    return interview


# --- the overdue alarm (the governance clock) ----------------------------------------------------------

@dataclass(frozen=True)
class Recipients:
    side: list[Member]  # the responsible side's leaders on duty
    skipped: list[Member]  # the responsible side's leaders off duty
    command: list[Member]  # the command room on duty


def _split_on_duty(candidates: QuerySet[Member], at: datetime) -> tuple[list[Member], list[Member]]:
    told: list[Member] = []
    skipped: list[Member] = []
    for member in candidates.filter(active=True).annotate(on_duty_now=on_duty_at(at)).distinct().order_by("code"):
        (told if member.on_duty_now else skipped).append(member)
    return told, skipped


def alarm_recipients(interview: Interview, at: datetime) -> Recipients:
    """Whom an overdue interview's alarm tells (the module's docstring)."""
    if interview.unit_id:
        side = office_recipients(interview.unit_id, at)
        everyone = (Member.objects.filter(unit_id=interview.unit_id, active=True)
                    .filter(Q(roles__contains=[Role.UNIT_LEADER]) | Q(user__groups__name=UserRole.DEPARTMENT)).distinct())
        skipped = [m for m in everyone.order_by("code") if m.pk not in {s.pk for s in side}]
    else:
        leaders = Member.objects.filter(subdistrict_id=interview.subdistrict_id).filter(
            Q(unit__community_id=interview.community_id, roles__overlap=COMMUNITY_LEADER_ROLES)
            | Q(roles__contains=[Role.GRID_LEADER], grids__community_id=interview.community_id))
        side, skipped = _split_on_duty(leaders, at)
    command = Member.objects.filter(subdistrict_id=interview.subdistrict_id).filter(
        Q(force=Force.COMMAND_ROOM) | Q(unit__kind=Unit.Kind.COMMAND_ROOM))
    command_told, _off = _split_on_duty(command, at)
    side_ids = {m.pk for m in side}
    return Recipients(side=side, skipped=skipped, command=[m for m in command_told if m.pk not in side_ids])


def _when(at: datetime) -> str:
    return timezone.localtime(at).strftime("%Y-%m-%d %H:%M")


def alarm_texts(interview: Interview, skipped: list[Member]) -> tuple[str, str, str]:
    """(title, body to the responsible side, body to the command room), in the active language."""
    target = target_name(interview)
    title = _("Rectification overdue: %(target)s") % {"target": target}
    said = _("The interview of %(target)s on %(held)s (%(reason)s) required rectification by %(deadline)s; "
             "no rectification has been reported.") % {
        "target": target, "held": timezone.localtime(interview.held_at).strftime("%Y-%m-%d"),
        "reason": interview.reason, "deadline": _when(interview.deadline)}
    side_body = text_join([said, _("Report the rectification to the command room.")])
    command_parts = [said]
    if skipped:
        command_parts.append(_("Off duty and not told: %(names)s — phone them.")
                             % {"names": "、".join(m.name for m in skipped)})
    return title, side_body, text_join(command_parts)


def interviews_overdue_claim(*, now: datetime, batch: int = CLAIM_BATCH) -> list[int]:
    """Claim (mark alarmed) up to `batch` open interviews past their deadline whose alarm was not
    raised: one conditional UPDATE. Precondition: inside the transaction that writes the alarms."""
    table = connection.ops.quote_name(Interview._meta.db_table)
    with connection.cursor() as cur:
        cur.execute(
            f"""
            UPDATE {table} SET overdue_alarmed_at = %s
            WHERE id IN (SELECT id FROM {table}
                         WHERE state = %s AND overdue_alarmed_at IS NULL AND deadline < %s
                         ORDER BY deadline, id LIMIT %s FOR UPDATE SKIP LOCKED)
              AND state = %s AND overdue_alarmed_at IS NULL
            RETURNING id
            """,  # noqa: S608 - the table name is our model's, every value a parameter
            [now, Interview.State.OPEN, now, batch, Interview.State.OPEN],
        )
        return sorted(row[0] for row in cur.fetchall())


def interviews_overdue_raise(*, now: datetime | None = None, batch: int = CLAIM_BATCH) -> int:
    """One look of the governance clock: raise the alarm of every interview whose rectification is
    overdue, exactly once (the module's docstring). Returns how many were raised."""
    raised = 0
    while True:
        at = now or timezone.now()
        with transaction.atomic():
            ids = interviews_overdue_claim(now=at, batch=batch)
            interviews = (Interview.objects.filter(pk__in=ids)
                          .select_related("unit", "community").order_by("deadline", "id"))
            for interview in interviews:
                _alarm(interview, at)
        raised += len(ids)
        if len(ids) < batch:
            return raised


def _alarm(interview: Interview, at: datetime) -> None:
    who = alarm_recipients(interview, at)
    with translation.override(settings.LANGUAGE_CODE):
        title, side_body, command_body = alarm_texts(interview, who.skipped)
    for member in who.side:
        message_once(member=member, kind=MemberMessage.Kind.ALARM, incident=None, title=title, body=side_body, at=at)
    for member in who.command:
        message_once(member=member, kind=MemberMessage.Kind.ALARM, incident=None, title=title, body=command_body,
                     at=at)
    interview.overdue_notified = {
        "told": [{"id": m.pk, "name": m.name} for m in who.side + who.command],
        "skipped": [{"id": m.pk, "name": m.name} for m in who.skipped],
    }
    interview.save(update_fields=["overdue_notified"])


# --- the Excel file ----------------------------------------------------------------------------------

def interview_sheets(rows: list[Interview], *, subdistrict: Subdistrict) -> list[Sheet]:
    """The interviews' list as one Excel sheet (reports.excel), as the page shows it."""
    labels = state_labels()
    heading = _("Accountability interviews, %(subdistrict)s") % {"subdistrict": subdistrict.name}
    columns = [
        Column(_("Interviewed")), Column(_("Reason")), Column(_("Held at"), "datetime"), Column(_("Findings")),
        Column(_("Rectification required")), Column(_("Rectify by"), "datetime"), Column(_("State")),
        Column(_("Rectified at"), "datetime"), Column(_("Rectification report")),
        Column(_("Alarm raised at"), "datetime"),
    ]
    return [Sheet(_("Interviews"), heading, columns, [
        (target_name(i), i.reason, i.held_at, i.findings, i.requirements, i.deadline,
         labels[i.view_state],  # type: ignore[attr-defined]  # set by interview_list
         i.rectified_at, i.rectification_note, i.overdue_alarmed_at) for i in rows])]
