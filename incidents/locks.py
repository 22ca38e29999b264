"""The one order in which the services lock rows, and the helper that takes incidents in it.

# The lock order
#
# Two transactions that lock the same rows in different orders can each hold what the other waits
# for: PostgreSQL then kills one with "deadlock detected". Every service therefore locks rows in
# this one order, and only the rows it means:
#
#   1. the day's case-number counter (intake only, before any incident: `incident_number_next`);
#   2. incidents, by id ascending — always through `incidents_lock` (one case: `incident_lock` in
#      incidents/services.py). A service that needs two (a merge: the duplicate and its target)
#      takes both in one call, never one and then the other in an order of its own;
#   3. the incidents' dispatch orders, by id;
#   4. their hand-overs, by id (no service holds orders and hand-overs of a case at once);
#   5. their alarms, by id;
#   6. the rows that hang off these: member messages, feedback deliveries, call-back tasks,
#      reports and parties.
# A service that starts from a row of 3–6 (accept an order, acknowledge an alarm, record a
# call-back or a feedback delivery) reads its incident id without a lock, locks the incident, and
# only then the row itself (`dispatch.services._order_lock`, `_alarm_lock`).
#
# Only the rows meant: `select_for_update(of=("self",))` whenever the query joins
# (`select_related`). A plain `select_for_update()` locks every joined row as well — the
# sub-district's among them, which every timeline event, alarm and message references: a merge
# that locked it held up every write of the sub-district and deadlocked with a change to the
# duplicate (issue 11). Reference rows (sub-districts, categories, channels, members, units) are
# never locked FOR UPDATE by a service; where one must be (a channel's signing secret) it is
# FOR NO KEY UPDATE, which inserts referencing it do not wait for.
#
# Implicit locks count too. An UPDATE (`save()`, `queryset.update()`) locks the rows it changes:
# the same order applies (a merge moves the duplicate's reports and parties after locking both
# cases). An INSERT takes FOR KEY SHARE on every row its foreign keys reference, which waits while
# another transaction holds that row FOR UPDATE: rows of a case (events, orders, alarms, messages,
# photos) are inserted only while holding the case's lock (`incidents.events.event_append`'s
# precondition), so that share lock is already ours.
#
# The SLA clock (dispatch/sla.py) claims an order, hand-over or alarm together with its incident
# in one statement, whose two row locks come in no defined order. It is safe because the claim
# uses SKIP LOCKED: it never waits, a row either is free and taken or skipped, so the claim cannot
# close a cycle; after it, the clock writes only rows it holds, inserts rows referencing them or
# reference rows, and takes any further lock with SKIP LOCKED (messages). A service holding a case
# makes the clock skip it until the next tick. The notifier and the feedback worker claim their
# rows the same way.
"""

from collections.abc import Iterable

from django.utils.translation import gettext as _

from config.errors import DomainError
from incidents.models import Incident


def incidents_lock(ids: Iterable[int], *, related: Iterable[str] = ()) -> dict[int, Incident]:
    """Lock the incidents' own rows (FOR UPDATE OF the incident only: joined `related` rows are
    read, not locked) in id order, and return them by id. Precondition: inside a transaction.
    Ids that do not exist are missing from the result. PostgreSQL locks rows as the sorted result
    is produced, so one statement with ORDER BY id takes them in ascending order."""
    wanted = sorted(set(ids))
    rows = (Incident.objects.select_for_update(of=("self",)).select_related(*related)
            .filter(pk__in=wanted).order_by("pk"))
    return {incident.pk: incident for incident in rows}


def incident_lock_one(incident_id: int, *, related: Iterable[str] = ()) -> Incident:
    """Lock one incident (as `incidents_lock`); an unknown id is a 404."""
    incident = incidents_lock([incident_id], related=related).get(incident_id)
    if incident is None:
        raise DomainError(_("No such case."), code="not_found", http_status=404)
    return incident
