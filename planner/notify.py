"""Who is told when a grid version is published (issue 13): every member whose grids change.

Publishing moves the grid workers and grid leaders to the grids of the new version
(`planner.services.staff_moves`); each member whose grids change gets one `grid` message
(`dispatch.notify.messages_for_grid_change`), written in the publication's transaction: in the app
at once, by SMS after the grace unless read there (at once without an app login).

A member's grids change when the set of grid codes they serve differs between the version before
and the new one (a member the planner newly placed, or left with no grid, counts), or when one of
the grids they keep was redrawn: its boundary is not the old one (the old and the new Grid row
compared in the database: the same coordinates, else the same point set). A member whose grids
are kept as they were is told nothing. A renamed grid with the same boundary is not a change of
what the member serves.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING, cast

from django.db import connection

from dispatch.models import Member
from dispatch.notify import GridChange, GridRef, messages_for_grid_change
from geo.models import BoundaryVersion, Grid

if TYPE_CHECKING:
    from planner.services import StaffMove


def kept_codes(previous: BoundaryVersion, version: BoundaryVersion) -> set[str]:
    """The codes of the grids of `version` whose boundary is that of the grid of the same code in
    `previous` (both published: Grid rows): the same coordinates in the same order (PostGIS's `=`),
    or — only where they differ — the same point set (ST_Equals: a split of a neighbour inserts its
    new corner into the shared border, which leaves the grid's ground as it was). One query, on the
    (version, code) index."""
    with connection.cursor() as cur:
        cur.execute(
            "SELECT n.code FROM geo_grid n JOIN geo_grid o ON o.version_id = %s AND o.code = n.code "
            "WHERE n.version_id = %s AND CASE WHEN o.boundary = n.boundary THEN true "
            "ELSE ST_Equals(o.boundary, n.boundary) END",
            [previous.pk, version.pk])
        return {code for (code,) in cur.fetchall()}


def grid_changes(version: BoundaryVersion, previous: BoundaryVersion | None, moves: Sequence[StaffMove]
                 ) -> list[GridChange]:
    """Whose grids `moves` change from `previous` to `version` (see the module docstring), in
    member id order. Precondition: `version`'s Grid rows are written. Four queries whatever the
    number of members."""
    old: dict[int, set[str]] = {move.member: set() for move in moves}
    new: dict[int, set[str]] = {move.member: set() for move in moves}
    for move in moves:
        if move.old_grid is not None:
            old[move.member].add(cast(str, move.old_code))  # the old grid's code
        if move.code is not None:
            new[move.member].add(move.code)
    kept = kept_codes(previous, version) if previous is not None else set()
    changed = {m: sorted((new[m] & old[m]) - kept) for m in old
               if old[m] != new[m] or not new[m] <= kept}
    if not changed:
        return []
    old_codes = set().union(*(old[m] for m in changed))
    new_codes = set().union(*(new[m] for m in changed))
    before = {code: GridRef(code, name) for code, name in Grid.objects.filter(
        version=previous, code__in=old_codes).values_list("code", "name")} if previous and old_codes else {}
    after = {code: GridRef(code, name, community) for code, name, community in Grid.objects.filter(
        version=version, code__in=new_codes).values_list("code", "name", "community__name")} if new_codes else {}
    members = Member.objects.filter(pk__in=changed).only("id", "subdistrict_id", "user_id", "active", "phone")
    return [GridChange(member=member, old=[before[c] for c in sorted(old[member.pk])],
                       new=[after[c] for c in sorted(new[member.pk])], redrawn=changed[member.pk])
            for member in members.order_by("pk")]


def members_tell_grids(version: BoundaryVersion, previous: BoundaryVersion | None, moves: Sequence[StaffMove],
                       *, at: datetime) -> list[int]:
    """Tell every member whose grids the publication of `version` changes: one `grid` message each
    (their ids are returned). Precondition: inside the publication's transaction, after the Grid
    rows and `version` (published, with its effective time) are written."""
    return messages_for_grid_change(version, grid_changes(version, previous, moves), at=at)
