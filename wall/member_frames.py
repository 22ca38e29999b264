"""The frames of responders changed by staff during the day — a roster's duty shifts added, moved
or deleted, a member's details, unit, duty post or sub-district edited, a member made inactive:

    {"type": "members", "subdistrict": <code of the rows' sub-district, null for members deleted>,
     "members": [<their rows exactly as the snapshot has them: wall.selectors.member_rows>],
     "removed": [<ids of members no longer on that sub-district's wall: inactive or deleted>]}

so that an open wall shows them as the snapshot would, without reloading it. A wall of another
sub-district than the frame's (the member moved away from it) takes the members named off
(store.js applyMembers).

Who writes those rows: only the admin (MemberAdmin with its shifts inline, DutyShiftAdmin) — no
service owns them (they have no lifecycle and no timeline), and the admin saves them itself. So the
publication hangs on the models' signals, whoever saves: post_save and post_delete of Member and
DutyShift note the member for the sub-district it is in (pre_save also for the one a row leaves:
a member moved to another sub-district, a shift given to another member), and once the
transaction commits the noted ids go out through the live pipeline (config.live, kind "members",
one message per sub-district of the rows), each member once per transaction however many of its
rows were saved (the member and its inline shifts). Bulk writes send no signal and publish
nothing (the demo's seed and loader, `bulk_create` / `update`): walls see those on their next
snapshot.

Like positions, a members frame is not replayed when a socket resumes: a wall that was
disconnected at that moment shows the change at its next snapshot (on resync, after a replay, or
at the day's reload). Rows are built in the site's language (a frame is built once for every
wall), as the events' are (wall/frames.py)."""

import threading
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models.signals import post_delete, post_save, pre_save
from django.utils import translation

from config import live
from config.live import subdistrict_group
from dispatch.models import DutyShift, Member
from geo.models import Subdistrict
from wall.selectors import member_rows

LIVE_KIND = "members"  # the kind of these frames on the live pipeline (config.live)
HANDLER = "members.changed"  # the consumer's handler: WallConsumer.members_changed


# --- the frames -------------------------------------------------------------------------------------

def member_messages(ids: list[int]) -> list[live.Message]:
    """The builder of kind "members" (config.live): the messages of these members as they are now,
    one per sub-district they are in (one query each, and one to find them), and one naming those
    that no longer exist."""
    where = {pk: (subdistrict_id, code) for pk, subdistrict_id, code in
             Member.objects.filter(pk__in=ids).values_list("pk", "subdistrict_id", "subdistrict__code")}
    messages: list[live.Message] = []
    with translation.override(settings.LANGUAGE_CODE):
        for subdistrict_id, code in sorted(set(where.values())):
            rows = member_rows(subdistrict_id=subdistrict_id,
                               member_ids=sorted(pk for pk, at in where.items() if at[0] == subdistrict_id))
            messages.append(_message(code, [row for row in rows.values() if row is not None],
                                     [pk for pk, row in rows.items() if row is None]))
    deleted = sorted(set(ids) - set(where))
    if deleted:
        messages.append(_message(None, [], deleted))
    return messages


def _message(code: str | None, rows: list[dict[str, Any]], removed: list[int]) -> live.Message:
    return live.channel_message(HANDLER, {"type": "members", "subdistrict": code, "members": rows,
                                          "removed": removed})


# --- what was changed, published after the commit ------------------------------------------------------

class _Batch:
    """The members noted by one transaction, by group, published once when it commits."""

    def __init__(self) -> None:
        self.pending: dict[str, set[int]] = {}

    def add(self, entries: list[tuple[str | None, int | None]]) -> None:
        for group, member_id in entries:
            if group is not None and member_id is not None:
                self.pending.setdefault(group, set()).add(member_id)

    def publish(self) -> None:
        pending, self.pending = self.pending, {}
        for group, ids in pending.items():
            live.publish(group, LIVE_KIND, sorted(ids))  # never raises: a dead layer is logged


# This thread's batch: a database connection, hence a transaction, belongs to one thread.
_local = threading.local()


def _note(entries: list[tuple[str | None, int | None]]) -> None:
    """Publish these (group, member id) once the current transaction commits, each once however many
    rows of the member it saved; at once outside a transaction. The batch is the transaction's as
    long as its commit callback is registered with it: after a commit, a rollback, or a savepoint
    rolled back with the callback, a new one starts (nothing of a rolled-back change is sent)."""
    connection = transaction.get_connection()
    if not connection.in_atomic_block:
        now = _Batch()
        now.add(entries)
        now.publish()
        return
    batch: _Batch | None = getattr(_local, "batch", None)
    if batch is None or not any(func == batch.publish for _sids, func, _robust in connection.run_on_commit):
        batch = _local.batch = _Batch()
        transaction.on_commit(batch.publish)
    batch.add(entries)


def _group_of(member_id: int | None) -> str | None:
    """The live stream of the member's sub-district (None for no such member)."""
    if member_id is None:
        return None
    code = Member.objects.filter(pk=member_id).values_list("subdistrict__code", flat=True).first()
    return subdistrict_group(code) if code is not None else None


# Before a save, where the row is now (kept on the instance for its post_save: published only once
# saved — outside a transaction a commit callback would run at once and read the row unsaved).
_BEFORE = "_wall_members_before"


def _member_before(sender: Any, instance: Member, raw: bool = False, **kwargs: Any) -> None:
    """The sub-district a member is in before it is saved hears of it too (it may be leaving)."""
    if not raw and instance.pk is not None:
        setattr(instance, _BEFORE, [(_group_of(instance.pk), instance.pk)])


def _member_saved(sender: Any, instance: Member, raw: bool = False, **kwargs: Any) -> None:
    if not raw:
        _note([*instance.__dict__.pop(_BEFORE, []), (_group_of(instance.pk), instance.pk)])


def _member_deleted(sender: Any, instance: Member, **kwargs: Any) -> None:
    # The member's row is gone: the sub-district it was in, by the id it had.
    code = Subdistrict.objects.filter(pk=instance.subdistrict_id).values_list("code", flat=True).first()
    _note([(subdistrict_group(code) if code is not None else None, instance.pk)])


def _shift_before(sender: Any, instance: DutyShift, raw: bool = False, **kwargs: Any) -> None:
    """The member a shift belongs to before it is saved hears of it too (it may be given to another)."""
    if raw or instance.pk is None:
        return
    before = DutyShift.objects.filter(pk=instance.pk).values_list("member_id", flat=True).first()
    if before is not None and before != instance.member_id:
        setattr(instance, _BEFORE, [(_group_of(before), before)])


def _shift_saved(sender: Any, instance: DutyShift, raw: bool = False, **kwargs: Any) -> None:
    if not raw:
        _note([*instance.__dict__.pop(_BEFORE, []), (_group_of(instance.member_id), instance.member_id)])


def _shift_deleted(sender: Any, instance: DutyShift, **kwargs: Any) -> None:
    _note([(_group_of(instance.member_id), instance.member_id)])


def register() -> None:
    """At start-up (wall/apps.py): the builder of the frames, and the signals that publish them."""
    live.register(LIVE_KIND, member_messages)
    pre_save.connect(_member_before, sender=Member, dispatch_uid="wall.members.member_before")
    post_save.connect(_member_saved, sender=Member, dispatch_uid="wall.members.member_saved")
    post_delete.connect(_member_deleted, sender=Member, dispatch_uid="wall.members.member_deleted")
    pre_save.connect(_shift_before, sender=DutyShift, dispatch_uid="wall.members.shift_before")
    post_save.connect(_shift_saved, sender=DutyShift, dispatch_uid="wall.members.shift_saved")
    post_delete.connect(_shift_deleted, sender=DutyShift, dispatch_uid="wall.members.shift_deleted")
