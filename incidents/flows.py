"""The two flows of the plan (联动处置流程) as state machines: one table of transitions each.

On-site (现场处置): channel → the command room issues a linkage order → responders arrive and
handle it on site → on-site report to the command room → resolved, or transferred (police-type
cases to the police station, non-police ones to the grid squad / grid leader, or to a department,
which opens the off-site flow) → the result is fed back to the source → closed.

Off-site (非现场处置): a joint-consultation assignment, or an on-site case not settled on site →
work order to the responsible office(s) → in progress (progress notes) → completed by the office →
reported to the command room (the command room confirms, or sends it back) → fed back to the
responsible office and to the party → closed.

Each transition names who may make it (user roles; the unit's own staff where `unit_staff` is
set; the dispatched member where `dispatched_member` is set) and what it must carry.
`dispatch.services.incident_transition` applies them with the primitives of `incidents/services.py`:
lock the incident, check, write, append the timeline event, publish after commit; the moves that
end on-site handling (resolve, transfer, cancel, close) also stand down the orders still on the way.
"""

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from django.utils.translation import gettext_lazy as _

from config.roles import COMMAND_ROLES, MEMBER_ROLES, Actor, has_role
from config.roles import UserRole as R
from incidents.models import Flow
from incidents.models import Status as S

COMMAND = frozenset(COMMAND_ROLES)


@dataclass(frozen=True)
class Transition:
    action: str
    label: object  # lazy translation
    sources: frozenset[str]
    target: str | None  # None: the status does not change (a note), or is decided by the service
    roles: frozenset[str] = COMMAND
    requires: tuple[str, ...] = ()  # fields the request must carry
    dispatched_member: bool = False  # a member dispatched to the incident may make it
    unit_staff: bool = False  # staff of a unit holding a pending/accepted handover may make it
    flows: frozenset[str] = field(default_factory=lambda: frozenset({Flow.ON_SITE, Flow.OFF_SITE}))


def _t(action: str, label: object, sources: Iterable[str], target: str | None, **kw: Any) -> Transition:
    return Transition(action, label, frozenset(sources), target, **kw)


ON_SITE = frozenset({Flow.ON_SITE})
OFF_SITE = frozenset({Flow.OFF_SITE})
OPEN_ON_SITE = {S.NEW, S.DISPATCHED, S.ARRIVED, S.REPORTED}

TRANSITIONS: dict[str, Transition] = {t.action: t for t in [
    # --- on-site flow -----------------------------------------------------------------------
    _t("dispatch", _("Dispatch"), {S.NEW, S.DISPATCHED, S.ARRIVED, S.REPORTED}, S.DISPATCHED,
       requires=("members", "method"), flows=ON_SITE),
    _t("arrive", _("Arrived on site"), {S.DISPATCHED, S.ARRIVED}, S.ARRIVED,
       roles=COMMAND, dispatched_member=True, flows=ON_SITE),
    _t("report_on_site", _("Report from the scene"), {S.ARRIVED, S.REPORTED}, S.REPORTED,
       roles=COMMAND, requires=("text",), dispatched_member=True, flows=ON_SITE),
    _t("resolve", _("Resolve on site"), {S.REPORTED}, S.RESOLVED,
       roles=COMMAND, requires=("text",), dispatched_member=True, flows=ON_SITE),
    _t("transfer", _("Transfer"), {S.ARRIVED, S.REPORTED}, S.TRANSFERRED,
       requires=("unit", "text"), flows=ON_SITE),
    # A responder on the scene asks the command room for a transfer: the unit it should go to and
    # why. The status does not change; the command room decides (`transfer`, or not). Only the
    # dispatched member asks: the command room transfers directly.
    _t("request_transfer", _("Ask for a transfer"), {S.ARRIVED, S.REPORTED}, None,
       roles=frozenset(), requires=("unit", "text"), dispatched_member=True, flows=ON_SITE),
    # --- off-site flow ----------------------------------------------------------------------
    _t("assign", _("Assign to an office"), {S.ASSIGNED}, S.ASSIGNED,
       requires=("unit", "text"), flows=OFF_SITE),
    # Several offices may hold parts of one case: each notes its progress and completes its own
    # part; the case is completed when no part waits for a decision and every accepted part is
    # completed (the service decides the status). The command room may complete a part on an
    # office's behalf: it names the `unit` and gives the `reason`.
    _t("progress", _("Progress note"), {S.IN_PROGRESS}, None,
       requires=("text",), unit_staff=True, flows=OFF_SITE),
    _t("complete", _("Completed by the office"), {S.IN_PROGRESS}, None,
       requires=("text",), unit_staff=True, flows=OFF_SITE),
    _t("confirm", _("Confirm the office's result"), {S.COMPLETED}, S.REPORTED_TO_COMMAND,
       flows=OFF_SITE),
    _t("send_back", _("Send back to the office"), {S.COMPLETED}, S.IN_PROGRESS,
       requires=("text",), flows=OFF_SITE),  # the named `unit`'s part, or every completed part
    # --- handovers (transfers and assignments): the receiving unit decides ------------------
    # Also while the case is in progress: a second office decides while the first one works.
    _t("accept_handover", _("Accept"), {S.TRANSFERRED, S.ASSIGNED, S.IN_PROGRESS}, S.IN_PROGRESS,
       unit_staff=True),
    _t("return_handover", _("Return with a reason"), {S.TRANSFERRED, S.ASSIGNED, S.IN_PROGRESS}, None,
       requires=("text",), unit_staff=True),
    # --- both flows: feedback and closure ---------------------------------------------------
    _t("feed_back", _("Feed the result back"), {S.RESOLVED, S.REPORTED_TO_COMMAND}, S.FED_BACK,
       requires=("text",)),
    _t("close", _("Close"), {S.FED_BACK}, S.CLOSED),
    _t("reopen", _("Reopen"), {S.FED_BACK, S.CLOSED}, None, requires=("text",)),
    _t("cancel", _("Close as invalid"), {S.NEW, S.DISPATCHED, S.NEEDS_LOCATION}, S.CLOSED,
       requires=("text",), flows=ON_SITE),
    _t("note", _("Add a note"), set(S.values) - {S.CLOSED, S.MERGED}, None,
       roles=COMMAND | {R.CALL_TAKER}, requires=("text",), dispatched_member=True, unit_staff=True),
]}

# Where a reopened case goes back to, per flow.
REOPEN_TARGET: dict[str, str] = {Flow.ON_SITE: S.REPORTED, Flow.OFF_SITE: S.IN_PROGRESS}

OPEN_STATUSES = frozenset(set(S.values) - {S.CLOSED, S.MERGED})


def transition_for(action: str) -> Transition | None:
    return TRANSITIONS.get(action)


def available_actions(*, flow: str, status: str) -> list[Transition]:
    """The transitions the flow allows from this status (before any role check)."""
    return [t for t in TRANSITIONS.values() if status in t.sources and flow in t.flows]


def actor_may(t: Transition, user: Actor, *, live_order: bool, unit_handover: bool) -> bool:
    """Whether a user may make a transition: by role; as a member dispatched to the case
    (`live_order`); or as staff of a unit that holds a hand-over of the case (`unit_handover`).
    The one rule behind both the service's check and the UI's buttons."""
    return bool(
        has_role(user, *t.roles)
        or (t.dispatched_member and live_order and has_role(user, *MEMBER_ROLES))
        or (t.unit_staff and unit_handover and has_role(user, R.DEPARTMENT, R.RESPONDER))
    )
