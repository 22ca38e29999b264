"""The shape of `IncidentEvent.data`, one TypedDict per timeline kind.

The incident page, the wall's ticker and the replay read these keys (`data.member_name`,
`data.unit_name`, `data.alarm_kind`, ...), so a key renamed in a service breaks a page without an
error anywhere. `tests/incidents/test_event_schemas.py` checks that every kind has a schema here and that
the events the services (and the demo's history) write conform: every required key present, no
key unknown, every value of its type.

Where one kind is written in several shapes (a note is a transition's text, a reminder, a step of
the confirmation ladder, ...), its schema is the union of those shapes and an event conforms when
it matches one. `NotRequired` marks a key that one writer leaves out; the comment says which.
`event_data_problems` is the checker the test uses (plain Python: no dependency)."""

import types
import typing
from collections.abc import Mapping
from typing import Any, Literal, NotRequired, TypedDict, Union, get_args, get_origin, get_type_hints

from incidents.models import IncidentEvent

Kind = IncidentEvent.Kind


# --- pieces shared by several kinds ---------------------------------------------------------------

class _Order(TypedDict):
    """A dispatch order and its member (dispatch.services._order_data)."""

    order: int
    member: int
    member_name: str


class _OrderAnswer(_Order):
    force: str
    on_behalf: bool


class _Handover(TypedDict):
    """An office's part of the case (a hand-over)."""

    handover: int
    unit: int
    unit_name: str


class _Who(TypedDict):
    """Who was told of an alarm or a reminder (dispatch.sla._who)."""

    notified: list[int]
    notified_names: list[str]
    skipped: list[int]
    skipped_names: list[str]


class _Alarm(TypedDict):
    """dispatch.services.alarm_data: the alarm, and its order's member when it has one."""

    alarm: int
    alarm_kind: str
    alarm_state: str
    order: NotRequired[int]
    member: NotRequired[int]
    member_name: NotRequired[str]


class SentBackPart(TypedDict):
    """A completed part sent back to its office (`send_back`)."""

    handover: int
    unit: int
    unit_name: str
    result: str
    on_behalf_reason: str


class ArrivalCheck(TypedDict):
    """dispatch.services._arrival_check: where the responder said they were, and how far off."""

    position: Literal["request", "last_known"] | None
    lon: NotRequired[float]
    lat: NotRequired[float]
    accuracy_m: NotRequired[float | None]
    distance_m: NotRequired[float]
    max_distance_m: NotRequired[int]
    flagged: NotRequired[bool]


# --- one schema per kind ----------------------------------------------------------------------

class CreatedData(TypedDict):
    channel: str
    category: str
    major: bool
    grid: str | None
    outside_jurisdiction: bool
    offices: NotRequired[list[int]]  # the offices of a joint assignment; not in the demo's history


class StatusChangedData(TypedDict):
    """A transition that moves the status: the action, and what the action adds."""

    action: str
    photos: NotRequired[list[int]]  # report_on_site with photos
    # transfer / assign (the new hand-over); the demo's history has no deadlines
    handover: NotRequired[int]
    unit: NotRequired[int]
    unit_name: NotRequired[str]
    accept_by: NotRequired[str]
    deadline: NotRequired[str]
    sent_back: NotRequired[list[SentBackPart]]  # send_back
    deliveries: NotRequired[list[int]]  # feed_back
    callbacks: NotRequired[list[int]]  # feed_back


class MergedData(TypedDict):
    """The duplicate's last status change (incident_merge)."""

    merged_into: int


class ActionNoteData(TypedDict):
    """A transition that keeps the status (a report with the status unchanged, a progress note)."""

    action: str
    photos: NotRequired[list[int]]


class HandoverNoteData(_Handover):
    """A transfer or assignment while the status stays."""

    action: str
    accept_by: str
    deadline: str


class RemindNoteData(_Order):
    """A dispatcher reminded the member to confirm the order (order_remind)."""

    remind: Literal[True]


class ConfirmStepNoteData(_Order):
    """The SLA clock's confirmation ladder on an unaccepted order (dispatch.sla)."""

    confirm_step: int
    by_clock: Literal[True]
    notified: NotRequired[list[int]]  # the last step: the unit leaders told
    notified_names: NotRequired[list[str]]
    skipped: NotRequired[list[int]]
    skipped_names: NotRequired[list[str]]


class AlarmStepNoteData(_Alarm, _Who):
    """The SLA clock's acknowledgement ladder on an overdue alarm, below its last step."""

    alarm_step: int
    by_clock: Literal[True]


class DispatchedData(_Order):
    force: str
    method: str
    # dispatch.services writes these three; the demo's history does not
    arrive_by: NotRequired[str | None]
    rule: NotRequired[str | None]
    off_duty_override: NotRequired[bool]
    replaces: NotRequired[int]  # a replacement: the order it replaces
    replaces_member_name: NotRequired[str]


class ArrivedData(_Order):
    arrival: ArrivalCheck


class LocatedData(TypedDict):
    lon: float
    lat: float
    grid: str | None


class ReportLinkedData(TypedDict):
    """A further report of the same case, at intake (`link_to`)."""

    report: int
    channel: str
    caller_name: str  # masked


class ReportsMergedData(TypedDict):
    """The reports of a merged duplicate (incident_merge)."""

    merged: int
    reports: list[int]


CategoryChangedData = TypedDict("CategoryChangedData", {"from": str, "to": str})


class PartyRegisteredData(TypedDict):
    party: int
    name: str  # masked
    role: str
    id_number: str  # masked


class PartyRevealedData(TypedDict):
    party: int
    name: str  # masked


class TransferAcceptedData(_Handover):
    pass


class TransferReturnedData(_Handover):
    returns: int


class FeedbackDeliveredData(TypedDict):
    delivery: int
    attempts: int


class FeedbackFailedData(TypedDict):
    delivery: int
    http_status: int | None
    next_attempt_at: str


class CallbackDoneData(TypedDict):
    callback: int
    state: str
    satisfaction: str


class OrderAcceptedData(_OrderAnswer):
    pass


class OrderDeclinedData(_OrderAnswer):
    responders_left: int


class OrderStoodDownData(_OrderAnswer):
    reason: str


class PartCompletedData(_Handover):
    action: str
    on_behalf: bool
    waiting: list[int]
    waiting_names: list[str]
    on_behalf_reason: NotRequired[str]


class ProgressData(TypedDict):
    action: str
    handover: NotRequired[int]  # the part it notes for, when there is one
    unit: NotRequired[int]
    unit_name: NotRequired[str]


LevelRaisedData = TypedDict("LevelRaisedData", {
    "from": int, "to": int, "reason": str,
    "alarm": NotRequired[int],  # raised by the SLA clock for this alarm
    "by_clock": NotRequired[Literal[True]],
})


class AlarmRaisedData(_Alarm, _Who):
    """dispatch.sla._raise."""

    due_at: str | None
    replacement: NotRequired[Literal[True]]  # an overdue replacement
    handover: NotRequired[int]  # an office's overdue part
    unit: NotRequired[int]
    unit_name: NotRequired[str]


class AlarmReopenedData(_Alarm):
    """A snoozed alarm open again."""

    reopened: Literal[True]
    snoozed_until: str


class AlarmAtTopData(_Alarm):
    """Nobody acknowledged, and the case is at the highest level already."""

    escalation: Literal["at_top"]
    level: int


class AlarmToCommandRoomData(_Alarm, _Who):
    """The acknowledgement ladder's last step: the command room takes the alarm over."""

    alarm_step: int
    by_clock: Literal[True]
    escalation: Literal["command_room"]
    leaders: list[int]
    leader_names: list[str]


class AlarmHandledData(_Alarm):
    action: Literal["acknowledged", "snoozed", "settled"]
    reason: NotRequired[str]  # the note; not in the demo's history
    minutes: NotRequired[int]  # snoozed
    until: NotRequired[str]
    by_leader: NotRequired[Literal[True]]  # acknowledged from the app by a leader told of it
    leader: NotRequired[int]
    leader_name: NotRequired[str]


class TransferRequestedData(TypedDict):
    action: str
    unit: int
    unit_name: str
    unit_kind: str
    member: int | None
    member_name: str | None
    force: str | None


class PersonalDataRevealedData(TypedDict):
    caller: bool
    parties: list[int]
    callbacks: list[int]


class EscalatedData(TypedDict):
    """No code writes this kind any more (LEVEL_RAISED replaced it); kept for its old rows."""


EVENT_DATA_SCHEMAS: dict[str, Any] = {
    Kind.CREATED: CreatedData,
    Kind.STATUS_CHANGED: StatusChangedData | MergedData,
    Kind.NOTE: ActionNoteData | HandoverNoteData | RemindNoteData | ConfirmStepNoteData | AlarmStepNoteData,
    Kind.DISPATCHED: DispatchedData,
    Kind.ARRIVED: ArrivedData,
    Kind.LOCATED: LocatedData,
    Kind.ESCALATED: EscalatedData,
    Kind.REPORT_LINKED: ReportLinkedData | ReportsMergedData,
    Kind.CATEGORY_CHANGED: CategoryChangedData,
    Kind.PARTY_REGISTERED: PartyRegisteredData,
    Kind.PARTY_REVEALED: PartyRevealedData,
    Kind.TRANSFER_ACCEPTED: TransferAcceptedData,
    Kind.TRANSFER_RETURNED: TransferReturnedData,
    Kind.FEEDBACK_DELIVERED: FeedbackDeliveredData,
    Kind.FEEDBACK_FAILED: FeedbackFailedData,
    Kind.CALLBACK_DONE: CallbackDoneData,
    Kind.ORDER_ACCEPTED: OrderAcceptedData,
    Kind.ORDER_DECLINED: OrderDeclinedData,
    Kind.ORDER_STOOD_DOWN: OrderStoodDownData,
    Kind.PART_COMPLETED: PartCompletedData,
    Kind.PROGRESS: ProgressData,
    Kind.LEVEL_RAISED: LevelRaisedData,
    Kind.ALARM: AlarmRaisedData | AlarmReopenedData | AlarmAtTopData | AlarmToCommandRoomData,
    Kind.ALARM_HANDLED: AlarmHandledData,
    Kind.TRANSFER_REQUESTED: TransferRequestedData,
    Kind.PERSONAL_DATA_REVEALED: PersonalDataRevealedData,
}
"""The schema of each kind's `data`: a TypedDict, or a union of them (one per shape)."""


# --- the checker -------------------------------------------------------------------------------

def event_data_problems(kind: str, data: object) -> list[str]:
    """What is wrong with one event's `data` for its kind: [] when it conforms. For a union, the
    problems of the shape that came closest."""
    schema = EVENT_DATA_SCHEMAS.get(kind)
    if schema is None:
        return [f"no schema for the kind {kind!r}"]
    return _problems(schema, data, "data")


def _is_typeddict(tp: object) -> bool:
    return isinstance(tp, type) and typing.is_typeddict(tp)


def _problems(tp: Any, value: object, where: str) -> list[str]:
    origin = get_origin(tp)
    if tp is Any:
        return []
    if tp is None or tp is type(None):
        return [] if value is None else [f"{where}: {value!r} is not None"]
    if origin in (Union, types.UnionType):
        best: list[str] | None = None
        for option in get_args(tp):
            found = _problems(option, value, where)
            if not found:
                return []
            if best is None or len(found) < len(best):
                best = found
        return best or [f"{where}: {value!r} matches no shape"]
    if origin is Literal:
        return [] if any(value == a and type(value) is type(a) for a in get_args(tp)) else [
            f"{where}: {value!r} is not one of {get_args(tp)!r}"]
    if origin is list:
        if not isinstance(value, list):
            return [f"{where}: {value!r} is not a list"]
        (item,) = get_args(tp)
        return [p for i, v in enumerate(value) for p in _problems(item, v, f"{where}[{i}]")]
    if _is_typeddict(tp):
        if not isinstance(value, Mapping):
            return [f"{where}: {value!r} is not an object"]
        hints = get_type_hints(tp)
        required: frozenset[str] = tp.__required_keys__
        found = [f"{where}: {key!r} missing" for key in sorted(required - value.keys())]
        found += [f"{where}: {key!r} is not in {tp.__name__}" for key in sorted(value.keys() - hints.keys())]
        for key in sorted(value.keys() & hints.keys()):
            found += _problems(hints[key], value[key], f"{where}.{key}")
        return found
    if tp is bool:
        return [] if isinstance(value, bool) else [f"{where}: {value!r} is not a boolean"]
    if tp is int:
        return [] if isinstance(value, int) and not isinstance(value, bool) else [f"{where}: {value!r} is not an integer"]
    if tp is float:  # JSON has one number type: a whole number reads back as int
        return [] if isinstance(value, int | float) and not isinstance(value, bool) else [
            f"{where}: {value!r} is not a number"]
    if tp is str:
        return [] if isinstance(value, str) else [f"{where}: {value!r} is not a string"]
    raise TypeError(f"{where}: the checker does not know the type {tp!r}")
