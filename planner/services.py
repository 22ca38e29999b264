"""The planners' writes: drafts of a grid version, their edits, the staff's grids, publishing.

A draft (a BoundaryVersion with status draft, see the block comment of geo/models.py) holds its
grids as DraftGrid rows. Every edit names the revision it was based on; a draft changed since by
someone else refuses the edit with the saves it missed (409 `stale`, `extra={"since": [...]}`):
two planners never silently overwrite each other. Each edit bumps the revision, logs a DraftSave
and answers with the draft's validation problems (geo.coverage).

Shared borders are checked, not enforced: the grids stay independent polygons and validation after
every save (GEOS's coverage checks) says where neighbours no longer match. The page moves the
coincident vertices of neighbours together and the split here inserts its new border points into
the neighbours too, so edits made on the page keep the coverage exact. (A PostGIS topology would
forbid gaps and overlaps by construction, but an imported file or a shapefile from a desktop GIS
arrives as polygons, broken or not, and must be shown with its problems before it can be repaired;
one representation — polygons plus validation — serves both.)

Publishing refuses a draft with problems, copies its grids into Grid rows (immutable from then on,
a database trigger), moves the staff to the new grids (geo.lineage, overruled per member by the
planner's DraftStaffMove) by adding links — the old links stay, so incidents of the old version
keep their staff — tells every member whose grids change (planner/notify.py: one message each, in
the same transaction) and deletes the draft's grids.

Every service takes keyword arguments, checks the role (a planner or the command room), runs in one
transaction (lock, check, write) and raises config.errors on refusal: nothing is written then.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, cast

import numpy as np
import pyproj
import shapely
import shapely.ops
from django.contrib.gis.geos import GEOSGeometry, LineString, MultiPolygon, Polygon
from django.db import connection, transaction
from django.db.models import Max
from django.utils import timezone
from django.utils.translation import gettext as _
from shapely.geometry.base import BaseGeometry

from config.errors import DomainError, Forbidden, TransitionRefused
from config.roles import Actor, UserRole, has_role
from dispatch.models import Force, Member, MemberGrid, Role
from geo import coverage, lineage
from geo.models import BoundaryVersion, Community, DraftEditor, DraftGrid, DraftSave, Grid, Subdistrict
from geo.selectors import boundary_version_in_force
from incidents.flows import OPEN_STATUSES
from planner.models import DraftStaffMove
from planner.notify import members_tell_grids

PLANNER_ROLES = (UserRole.PLANNER, UserRole.COMMAND_ROOM)
# Clock skew allowed on "from now": an effective time earlier than this would rewrite the past.
EFFECTIVE_SKEW = timedelta(minutes=5)
# Where a split's new border point lies on a neighbour's border (degrees: about 0.1 mm).
SNAP_TOLERANCE = 1e-9
LOAD_WINDOW = timedelta(days=365)
MAX_CODE, MAX_NAME, MAX_LABEL = 32, 64, 128
_GEOD = pyproj.Geod(ellps="WGS84")


# --- checks ----------------------------------------------------------------------------------------

def require_planner(actor: Actor) -> None:
    if actor is None or not has_role(actor, *PLANNER_ROLES):
        raise Forbidden(_("Only a planner or the command room works on grid versions."))


def _not_found() -> DomainError:
    return DomainError(_("No such grid version."), code="not_found", http_status=404)


def user_name(user: Actor | None) -> str:
    """How a user is named to other planners: their member's name, else their full name or login."""
    if user is None:
        return ""
    member = Member.objects.filter(user=user).values_list("name", flat=True).first()
    return member or user.get_full_name() or user.get_username()


def save_as_dict(save: DraftSave) -> dict[str, Any]:
    return {"revision": save.revision, "user": save.user.get_username() if save.user else None,
            "name": user_name(save.user), "at": save.at.isoformat(), "summary": save.summary}


def _draft_lock(version_id: int, base_revision: int | None) -> BoundaryVersion:
    """The draft, locked until the transaction ends; 404 / 409 (published) / 409 `stale` (changed
    since `base_revision`, with the saves since)."""
    version = BoundaryVersion.objects.select_for_update(of=("self",)).filter(pk=version_id).first()
    if version is None:
        raise _not_found()
    if version.status != BoundaryVersion.Status.DRAFT:
        raise TransitionRefused(_("This grid version is published: start a new draft to change it."),
                                code="published")
    if base_revision is not None and version.revision != base_revision:
        since = DraftSave.objects.filter(version=version, revision__gt=base_revision).select_related("user")
        raise TransitionRefused(
            _("This draft was saved by someone else since you loaded it (revision %(theirs)d, yours %(yours)d): "
              "look at what changed, reload and apply your edit again.")
            % {"theirs": version.revision, "yours": base_revision},
            code="stale", extra={"revision": version.revision, "since": [save_as_dict(s) for s in since]})
    return version


def _clean_text(value: object, *, what: str, max_length: int, required: bool = True) -> str:
    text = " ".join(str(value or "").split())
    if required and not text:
        raise DomainError(_("%(what)s is required.") % {"what": what}, code="invalid")
    if len(text) > max_length:
        raise DomainError(_("%(what)s is longer than %(n)d characters.") % {"what": what, "n": max_length},
                          code="invalid")
    return text


def _clean_label(label: object) -> str:
    return _clean_text(label, what=_("The label"), max_length=MAX_LABEL, required=False)


def _multipolygon(geometry: GEOSGeometry | BaseGeometry | None, *, code: str) -> MultiPolygon:
    """A grid's boundary as a MultiPolygon in EPSG:4326 (a Polygon is wrapped); 400 for anything else.
    Validity is not required: validation reports where a draft is broken."""
    if geometry is None:
        raise DomainError(_("Grid %(code)s has no boundary.") % {"code": code}, code="geometry")
    if isinstance(geometry, BaseGeometry):
        geometry = to_geos(geometry)
    if geometry.srid not in (None, 4326):
        geometry = geometry.transform(4326, clone=True)
    if isinstance(geometry, Polygon):
        geometry = MultiPolygon(geometry, srid=4326)
    if not isinstance(geometry, MultiPolygon):
        raise DomainError(_("The boundary of grid %(code)s is a %(kind)s: a grid is a polygon.")
                          % {"code": code, "kind": geometry.geom_type}, code="geometry")
    if geometry.empty:
        raise DomainError(_("The boundary of grid %(code)s is empty.") % {"code": code}, code="geometry")
    xmin, ymin, xmax, ymax = geometry.extent
    if not (-180 <= xmin <= xmax <= 180 and -90 <= ymin <= ymax <= 90):
        raise DomainError(_("The boundary of grid %(code)s is not in longitude/latitude.") % {"code": code},
                          code="geometry")
    geometry.srid = 4326
    return geometry


def _polygons(geometry: BaseGeometry) -> BaseGeometry:
    """The polygons of an overlay's result as one MultiPolygon (lines and points dropped)."""
    parts = [p for p in shapely.get_parts(geometry) if p.geom_type in ("Polygon", "MultiPolygon")]
    return shapely.MultiPolygon([q for p in parts for q in shapely.get_parts(p)])


def to_shapely(geometry: GEOSGeometry) -> BaseGeometry:
    return shapely.from_wkb(bytes(geometry.wkb))


def to_geos(geometry: BaseGeometry) -> GEOSGeometry:
    return GEOSGeometry(memoryview(shapely.to_wkb(geometry)), srid=4326)


def _touch(version: BoundaryVersion, actor: Actor) -> None:
    DraftEditor.objects.update_or_create(version=version, user=actor, defaults={"last_seen": timezone.now()})


def _subdistrict_lock(subdistrict_id: int) -> None:
    """Lock the sub-district's row until the transaction ends (NO KEY UPDATE: rows referring to it
    are still written meanwhile). Whatever decides on the sub-district's versions as a whole takes
    it first — numbering a new version, publishing (the latest published version, the staff's
    links), assigning the staff — so that two of them run one after the other, never interleaved.
    Always taken before a draft's row (publishing), so that two writers cannot wait on each other."""
    Subdistrict.objects.select_for_update(no_key=True).filter(pk=subdistrict_id).values_list("pk").first()


def _next_number(subdistrict: Subdistrict) -> int:
    """The next version number of a sub-district, under the sub-district's lock: two drafts started
    at once are numbered one after the other."""
    _subdistrict_lock(subdistrict.pk)
    last = BoundaryVersion.objects.filter(subdistrict=subdistrict).aggregate(n=Max("number"))["n"]
    return (last or 0) + 1


def latest_published(subdistrict_id: int) -> BoundaryVersion | None:
    """The published version that a new one follows: the latest by effective time."""
    return (BoundaryVersion.objects.filter(subdistrict_id=subdistrict_id, status=BoundaryVersion.Status.PUBLISHED)
            .order_by("-effective_from", "-number").first())


def _log(version: BoundaryVersion, actor: Actor | None, op: str, *, changed: Iterable[str] = (), added: Iterable[str] = (),
         deleted: Iterable[str] = (), **more: object) -> DraftSave:
    return DraftSave.objects.create(version=version, revision=version.revision, user=actor, summary={
        "op": op, "changed": sorted(changed), "added": sorted(added), "deleted": sorted(deleted), **more})


# --- starting a draft ------------------------------------------------------------------------------

def draft_start(*, subdistrict: Subdistrict, based_on: BoundaryVersion | None = None, actor: Actor,
                label: str = "") -> BoundaryVersion:
    """A new draft: a copy of the grids of `based_on` (default the latest published version — the
    one in force, or one already scheduled to follow it, which the draft will have to follow too;
    none: an empty draft), numbered after the sub-district's last version."""
    require_planner(actor)
    label = _clean_label(label)
    if based_on is not None and based_on.subdistrict_id != subdistrict.pk:
        raise _not_found()
    with transaction.atomic():
        number = _next_number(subdistrict)
        if based_on is None:
            based_on = latest_published(subdistrict.pk)
        version = BoundaryVersion.objects.create(subdistrict=subdistrict, number=number, label=label,
                                                 based_on=based_on, created_by=actor)
        copied = 0
        if based_on is not None:
            source = "geo_draftgrid" if based_on.status == BoundaryVersion.Status.DRAFT else "geo_grid"
            with connection.cursor() as cur:
                cur.execute(
                    f"INSERT INTO geo_draftgrid (version_id, code, name, community_id, boundary) "  # noqa: S608 - one of two table names
                    f"SELECT %s, code, name, community_id, boundary FROM {source} WHERE version_id = %s",
                    [version.pk, based_on.pk])
                copied = cur.rowcount
        _log(version, actor, "start", based_on=based_on.number if based_on else None, grids=copied)
        _touch(version, actor)
    return version


def draft_import(*, subdistrict: Subdistrict, grids: Sequence[coverage.DraftGrid], actor: Actor | None,
                 label: str = "") -> BoundaryVersion:
    """A new draft holding exactly `grids` (read from a file: geo.interchange). Each grid's community
    is named by its code; an unknown code, a duplicate or missing grid code or name, or a boundary
    that is not a polygon is refused naming the grid, and nothing is written. `actor` None is
    `manage.py geo_import_grids --commit`: an operator with the server's shell, no user.

    An imported draft is based on no version (`based_on` None: it was copied from none). Publishing
    treats it like any draft (see grid_version_publish): a version published after the import
    makes it outdated — the file was drawn without that version's changes — and it is refused."""
    if actor is not None:
        require_planner(actor)
    label = _clean_label(label)
    if not grids:
        raise DomainError(_("The file holds no grids."), code="import")
    communities = dict(Community.objects.filter(subdistrict=subdistrict).values_list("code", "id"))
    codes, names, community_ids, shapes = [], [], [], []
    seen: set[str] = set()
    for n, grid in enumerate(grids, start=1):
        code = _clean_text(grid.code, what=_("The code of grid no. %(n)d") % {"n": n}, max_length=MAX_CODE)
        if code in seen:
            raise DomainError(_("Grid code %(code)s appears twice.") % {"code": code}, code="import")
        seen.add(code)
        name = _clean_text(grid.name, what=_("The name of grid %(code)s") % {"code": code}, max_length=MAX_NAME)
        community = (grid.community or "").strip() or None
        if community is not None and community not in communities:
            raise DomainError(_("Grid %(code)s names community %(community)s, which is not a community of %(sub)s.")
                              % {"code": code, "community": community, "sub": subdistrict.name}, code="import")
        boundary = _multipolygon(grid.boundary, code=code)
        codes.append(code)
        names.append(name)
        community_ids.append(communities.get(community) if community else None)
        shapes.append(bytes(boundary.wkb))
    with transaction.atomic():
        version = BoundaryVersion.objects.create(subdistrict=subdistrict, number=_next_number(subdistrict),
                                                 label=label, created_by=actor)
        with connection.cursor() as cur:
            cur.execute(
                "INSERT INTO geo_draftgrid (version_id, code, name, community_id, boundary) "
                "SELECT %s, c, n, m, ST_Multi(ST_GeomFromWKB(w, 4326)) "
                "FROM unnest(%s::text[], %s::text[], %s::bigint[], %s::bytea[]) AS t(c, n, m, w)",
                [version.pk, codes, names, community_ids, shapes])
        _log(version, actor, "import", grids=len(codes))
        if actor is not None:
            _touch(version, actor)
    return version


# --- editing a draft -------------------------------------------------------------------------------

@dataclass
class DraftChange:
    """What an edit did: the draft (its new revision), its problems after the edit, the grids
    written (changed or added) and the ids of the grids deleted."""

    version: BoundaryVersion
    problems: list[coverage.Problem]
    grids: list[DraftGrid] = field(default_factory=list)
    deleted: list[int] = field(default_factory=list)


def _apply(version: BoundaryVersion, *, upsert: Iterable[dict[str, Any]], delete: Iterable[int], actor: Actor,
           op: str) -> DraftChange:
    """Check then write one edit of a locked draft (see draft_save); bump its revision, log it."""
    existing = {g.pk: g for g in DraftGrid.objects.filter(version=version).only("id", "code", "name", "community_id")}
    communities = set(Community.objects.filter(subdistrict_id=version.subdistrict_id).values_list("pk", flat=True))
    delete = sorted({int(pk) for pk in delete})
    for gone in delete:
        if gone not in existing:
            raise DomainError(_("There is no grid %(id)s in this draft.") % {"id": gone}, code="grid")
    codes = {pk: g.code for pk, g in existing.items() if pk not in delete}
    changed: list[DraftGrid] = []
    added: list[DraftGrid] = []
    touched: set[int] = set()
    reshaped: set[int] = set()
    for n, item in enumerate(upsert, start=1):
        pk: int | None = item.get("id")
        code = _clean_text(item.get("code"), what=_("The code of grid no. %(n)d") % {"n": n}, max_length=MAX_CODE)
        name = _clean_text(item.get("name"), what=_("The name of grid %(code)s") % {"code": code}, max_length=MAX_NAME)
        community = item.get("community")
        if community is not None and community not in communities:
            raise DomainError(_("Grid %(code)s names a community that is not of this sub-district.")
                              % {"code": code}, code="community")
        boundary = item.get("boundary")
        if pk is None:
            grid = DraftGrid(version=version, code=code, name=name, community_id=community,
                             boundary=_multipolygon(boundary, code=code))
            added.append(grid)
        else:
            if pk not in existing or pk in delete or pk in touched:
                raise DomainError(_("There is no grid %(id)s in this draft to change (or it is named twice).")
                                  % {"id": pk}, code="grid")
            touched.add(pk)
            grid = existing[pk]
            grid.code, grid.name, grid.community_id = code, name, community
            if boundary is not None:
                grid.boundary = _multipolygon(boundary, code=code)
                reshaped.add(pk)
            codes[pk] = code
            changed.append(grid)
    final = list(codes.values()) + [g.code for g in added]
    duplicates = sorted({c for c in final if final.count(c) > 1}) if len(final) != len(set(final)) else []
    if duplicates:
        raise DomainError(_("Grid code %(code)s would be used twice in this draft.") % {"code": duplicates[0]},
                          code="code")
    deleted_codes = [existing[pk].code for pk in delete]
    if delete:
        DraftGrid.objects.filter(pk__in=delete).delete()
    for grid in changed:
        fields = ["code", "name", "community"] + (["boundary"] if grid.pk in reshaped else [])
        grid.save(update_fields=fields)
    DraftGrid.objects.bulk_create(added)
    version.revision += 1
    version.save(update_fields=["revision"])
    _log(version, actor, op, changed=[g.code for g in changed], added=[g.code for g in added], deleted=deleted_codes)
    _touch(version, actor)
    return DraftChange(version, draft_problems(version), changed + added, delete)


def draft_save(*, version_id: int, base_revision: int, upsert: Sequence[dict[str, Any]], delete: Sequence[int],
               actor: Actor, op: str = "save") -> DraftChange:
    """One edit of a draft based on `base_revision`: `upsert` grids ({id (None: a new grid), code,
    name, community (id or None), boundary (GEOS, lon/lat; may be left out to keep it)}) and
    `delete` grid ids. 409 `stale` when the draft was saved since (with the saves since), 409 when
    it is published, 400 for a bad grid (named). The answer holds the draft's problems."""
    require_planner(actor)
    with transaction.atomic():
        version = _draft_lock(version_id, base_revision)
        return _apply(version, upsert=upsert, delete=delete, actor=actor, op=op)


def _draft_grid(version: BoundaryVersion, grid_id: int) -> DraftGrid:
    grid = DraftGrid.objects.filter(version=version, pk=grid_id).first()
    if grid is None:
        raise DomainError(_("There is no grid %(id)s in this draft.") % {"id": grid_id}, code="grid")
    return grid


def is_grid_staff(member: Member) -> bool:
    """A grid worker or a grid leader (by force, or by role as planner.selectors.assignment_list
    lists them): the members who serve grids."""
    return member.force in (Force.GRID_WORKER, Force.GRID_LEADER) or Role.GRID_LEADER in (member.roles or [])


def _grid_staff(member: Member) -> Member:
    if not is_grid_staff(member):
        raise DomainError(_("%(name)s is not a grid worker or a grid leader: only grid staff serve grids.")
                          % {"name": member.name}, code="member")
    return member


def _valid_shape(grid: DraftGrid, doing: str) -> BaseGeometry:
    shape = to_shapely(grid.boundary)
    if shape.is_empty or not shape.is_valid:
        raise DomainError(_("Grid %(code)s is not a valid polygon: repair it before %(doing)s it.")
                          % {"code": grid.code, "doing": doing}, code="geometry")
    return shape


def _free_code(version: BoundaryVersion, code: str) -> str:
    taken = set(DraftGrid.objects.filter(version=version).values_list("code", flat=True))
    n = 2
    while True:
        suffix = f"-{n}"
        candidate = code[:MAX_CODE - len(suffix)] + suffix
        if candidate not in taken:
            return candidate
        n += 1


def _cut(shape: BaseGeometry, cut: BaseGeometry, code: str) -> list[list[BaseGeometry]]:
    """The two groups of polygons a split makes of `shape` (a grid's valid boundary; a MultiPolygon
    may hold islands) along `cut`, largest group first. Only the one polygon the line crosses is
    cut: an island it does not cross is not a part of the cut (shapely.ops.split hands every island
    back as a piece of its own), and goes with the piece nearest to it (at equal distance the larger
    piece). 400 `line` when the line crosses no polygon from border to border, or cuts more than two
    pieces (crosses a polygon several times, or several islands)."""
    polygons = list(shapely.get_parts(shape))
    crossed, pieces, untouched = 0, [], []
    for polygon in polygons:
        if not shapely.intersects(polygon, cut):
            untouched.append(polygon)
            continue
        cut_into = [p for p in shapely.get_parts(shapely.ops.split(polygon, cut)) if p.area > 0]
        if len(cut_into) > 1:
            crossed += 1
            pieces.extend(cut_into)
        else:
            untouched.append(polygon)
    count = len(pieces) + len(untouched)  # against len(polygons): a single cut adds exactly one
    if crossed == 0 or count < len(polygons) + 1:
        raise DomainError(_("The line does not cut grid %(code)s in two: draw it across the grid, from one "
                            "border to another.") % {"code": code}, code="line")
    if count > len(polygons) + 1:
        raise DomainError(_("The line cuts grid %(code)s into %(n)d pieces: draw a line that crosses it once, "
                            "from one border to another.") % {"code": code, "n": count - len(polygons) + 1},
                          code="line")
    groups: list[list[BaseGeometry]] = [[p] for p in pieces]
    for island in untouched:
        nearest = min(range(2), key=lambda i: (island.distance(pieces[i]), -pieces[i].area))
        groups[nearest].append(island)
    return sorted(groups, key=lambda group: -sum(p.area for p in group))


def draft_split(*, version_id: int, base_revision: int, grid_id: int, line: LineString, actor: Actor) -> DraftChange:
    """Cut a grid in two along `line` (lon/lat), which must cross it from border to border once (a
    grid of several islands: cross one of them; the others go with the piece nearest to each, see
    _cut). The larger part keeps the grid's code and name, the other gets the code + "-2" (or the
    next free suffix) and the name + "（2）"; both keep the community. The new border points are
    inserted into the neighbours that share those borders, so the coverage stays exact."""
    require_planner(actor)
    if not isinstance(line, LineString) or line.num_points < 2:
        raise DomainError(_("Draw the split as a line of at least two points."), code="line")
    if line.srid not in (None, 4326):
        line = cast(LineString, line.transform(4326, clone=True))
    with transaction.atomic():
        version = _draft_lock(version_id, base_revision)
        grid = _draft_grid(version, grid_id)
        shape = _valid_shape(grid, _("splitting"))
        keep, other = (shapely.MultiPolygon(group) for group in _cut(shape, to_shapely(line), grid.code))
        # The points where the line crosses the grid's border: the neighbours need them as vertices.
        border = shape.boundary
        old_vertices = {tuple(xy) for xy in shapely.get_coordinates(shape).tolist()}
        nodes = [xy for xy in shapely.get_coordinates(other).tolist()
                 if tuple(xy) not in old_vertices and border.distance(shapely.Point(xy)) < SNAP_TOLERANCE]
        upsert: list[dict[str, Any]] = [
            {"id": grid.pk, "code": grid.code, "name": grid.name, "community": grid.community_id,
             "boundary": to_geos(keep)},
            {"id": None, "code": _free_code(version, grid.code), "name": (grid.name + "（2）")[:MAX_NAME],
             "community": grid.community_id, "boundary": to_geos(other)}]
        if nodes:
            points = shapely.MultiPoint(nodes)
            near = to_geos(points.buffer(SNAP_TOLERANCE * 10))
            for neighbour in DraftGrid.objects.filter(version=version, boundary__intersects=near).exclude(pk=grid.pk):
                before = to_shapely(neighbour.boundary)
                after = shapely.snap(before, points, SNAP_TOLERANCE)
                if not shapely.equals_exact(before, after, 0):
                    upsert.append({"id": neighbour.pk, "code": neighbour.code, "name": neighbour.name,
                                   "community": neighbour.community_id, "boundary": to_geos(after)})
        return _apply(version, upsert=upsert, delete=[], actor=actor, op="split")


def draft_merge(*, version_id: int, base_revision: int, grid_ids: Sequence[int], actor: Actor) -> DraftChange:
    """Merge two neighbouring grids (sharing a border) into the first, which keeps its code, name and
    community; the second is deleted (with any staff move the planner had set to it)."""
    require_planner(actor)
    ids = list(dict.fromkeys(grid_ids))
    if len(ids) != 2:
        raise DomainError(_("Choose exactly two grids to merge."), code="grids")
    with transaction.atomic():
        version = _draft_lock(version_id, base_revision)
        first, second = (_draft_grid(version, pk) for pk in ids)
        a, b = _valid_shape(first, _("merging")), _valid_shape(second, _("merging"))
        if shapely.intersection(a.boundary, b.boundary).length <= 0:
            raise DomainError(_("Grids %(a)s and %(b)s share no border: only neighbours can be merged.")
                              % {"a": first.code, "b": second.code}, code="grids")
        merged = _polygons(shapely.union(a, b))
        return _apply(version, upsert=[{"id": first.pk, "code": first.code, "name": first.name,
                                        "community": first.community_id, "boundary": to_geos(merged)}],
                      delete=[second.pk], actor=actor, op="merge")


def draft_presence(*, version_id: int, actor: Actor) -> BoundaryVersion:
    """The actor has the draft open (the page says so every 15 s)."""
    require_planner(actor)
    with transaction.atomic():
        version = BoundaryVersion.objects.filter(pk=version_id).first()
        if version is None:
            raise _not_found()
        if version.status == BoundaryVersion.Status.DRAFT:
            _touch(version, actor)
    return version


# --- validation and impact -------------------------------------------------------------------------

def draft_shapes(version: BoundaryVersion) -> list[tuple[int, coverage.DraftGrid]]:
    """The draft's grids as shapely geometries: (id, DraftGrid with the community's code), by code."""
    with connection.cursor() as cur:
        cur.execute("SELECT d.id, d.code, d.name, c.code, ST_AsBinary(d.boundary) FROM geo_draftgrid d "
                    "LEFT JOIN geo_community c ON c.id = d.community_id WHERE d.version_id = %s ORDER BY d.code",
                    [version.pk])
        rows = cur.fetchall()
    shapes = shapely.from_wkb([bytes(r[4]) for r in rows]) if rows else []
    return [(r[0], coverage.DraftGrid(r[1], r[2], r[3], s)) for r, s in zip(rows, shapes, strict=True)]


def sub_shapes(subdistrict_id: int) -> tuple[BaseGeometry, dict[str, BaseGeometry]]:
    with connection.cursor() as cur:
        cur.execute("SELECT ST_AsBinary(boundary) FROM geo_subdistrict WHERE id = %s", [subdistrict_id])
        (sub,) = cur.fetchone()
        cur.execute("SELECT code, ST_AsBinary(boundary) FROM geo_community WHERE subdistrict_id = %s",
                    [subdistrict_id])
        communities = {code: shapely.from_wkb(bytes(wkb)) for code, wkb in cur.fetchall()}
    return shapely.from_wkb(bytes(sub)), communities


def draft_problems(version: BoundaryVersion, shapes: list[tuple[int, coverage.DraftGrid]] | None = None
                   ) -> list[coverage.Problem]:
    """The validation problems of a draft (geo.coverage.validate_grids), each with where it is."""
    shapes = draft_shapes(version) if shapes is None else shapes
    sub, communities = sub_shapes(version.subdistrict_id)
    return coverage.validate_grids(subdistrict=sub, communities=communities, grids=[g for _pk, g in shapes])


@dataclass(frozen=True)
class StaffMove:
    """One member's grid in a draft: from `old_grid` (a grid of the version before; None for a member
    the planner adds) to `grid` (a draft grid id; None: no grid), and why."""

    member: int
    old_grid: int | None
    old_code: str | None
    grid: int | None
    code: str | None
    reason: str  # geo.lineage's kept/post/largest/none, or "override" (the planner's choice)


def staff_moves(version: BoundaryVersion, *, previous: BoundaryVersion | None = None,
                shapes: list[tuple[int, coverage.DraftGrid]] | None = None) -> list[StaffMove]:
    """Where every member serving a grid of the version before goes in the draft `version`: by
    geo.lineage (by geometry: the successor, or in a split the part holding the member's duty post,
    else home), overruled by the planner's DraftStaffMoves. One move per link (a member serving two
    grids has two), and one per member the planner placed who served no grid before."""
    previous = latest_published(version.subdistrict_id) if previous is None else previous
    shapes = draft_shapes(version) if shapes is None else shapes
    overrides = dict(DraftStaffMove.objects.filter(version=version).values_list("member_id", "draft_grid_id"))
    ids = {g.code: pk for pk, g in shapes}
    codes = {pk: g.code for pk, g in shapes}
    links: list[tuple[int, int, str, float | None, float | None]] = []
    old: dict[int, BaseGeometry] = {}
    if previous is not None:
        with connection.cursor() as cur:
            cur.execute(
                "SELECT mg.member_id, mg.grid_id, g.code, ST_X(COALESCE(m.duty_post, m.home)), "
                "ST_Y(COALESCE(m.duty_post, m.home)) FROM dispatch_member_grids mg "
                "JOIN geo_grid g ON g.id = mg.grid_id JOIN dispatch_member m ON m.id = mg.member_id "
                "WHERE g.version_id = %s ORDER BY mg.member_id, g.code", [previous.pk])
            links = cur.fetchall()
            cur.execute("SELECT id, ST_AsBinary(boundary) FROM geo_grid WHERE id = ANY(%s)",
                        [sorted({link[1] for link in links})])
            rows = cur.fetchall()
            old = dict(zip([r[0] for r in rows], shapely.from_wkb([bytes(r[1]) for r in rows]), strict=True))
    proposed: dict[tuple[int, int], lineage.Move] = {}
    pending = [link for link in links if link[0] not in overrides]
    if pending:
        boundaries = np.asarray([g.boundary for _pk, g in shapes], dtype=object)
        broken = ~shapely.is_valid(boundaries) if len(boundaries) else np.zeros(0, dtype=bool)
        if broken.any():  # a draft may be broken; the proposal still follows the ground it covers
            boundaries[broken] = shapely.make_valid(boundaries[broken])
        new = {g.code: b for (_pk, g), b in zip(shapes, boundaries, strict=True)}
        assignments = [lineage.Assignment(m, g, shapely.Point(x, y) if x is not None else None)
                       for m, g, _code, x, y in pending]
        used = {a.grid for a in assignments}
        for move in lineage.staff_moves({pk: old[pk] for pk in used}, new, assignments):
            proposed[(move.member, move.old_grid)] = move
    out = []
    for member, grid, old_code, _x, _y in links:
        if member in overrides:
            target = overrides[member]
            out.append(StaffMove(member, grid, old_code, target, codes.get(target), "override"))
        else:
            move = proposed[(member, grid)]
            new_id = ids.get(move.new_grid) if move.new_grid is not None else None
            out.append(StaffMove(member, grid, old_code, new_id, move.new_grid, move.reason))
    linked = {link[0] for link in links}
    for member, target in sorted(overrides.items()):
        if member not in linked:
            out.append(StaffMove(member, None, None, target, codes.get(target), "override"))
    return out


def _changed_points(sql: str, params: dict[str, Any]) -> list[tuple[Any, ...]]:
    with connection.cursor() as cur:
        cur.execute(sql, params)
        rows: list[tuple[Any, ...]] = cur.fetchall()
        return rows


# Point → grid code in the version before (old) and in the draft (new); ST_Covers on the GiST indexes
# (a point-in-polygon test: it answers on a broken draft polygon too).
_OLD_CODE = ("(SELECT g.code FROM geo_grid g WHERE g.version_id = %(old)s AND ST_Covers(g.boundary, {p}) "
             "ORDER BY g.code LIMIT 1)")
_NEW_CODE = ("(SELECT d.code FROM geo_draftgrid d WHERE d.version_id = %(new)s AND ST_Covers(d.boundary, {p}) "
             "ORDER BY d.code LIMIT 1)")


def draft_impact(version: BoundaryVersion) -> dict[str, Any]:
    """What publishing the draft would change, against the latest published version: each member's
    grid (staff_moves), the places, addresses and open incidents whose grid changes, and the load of
    each grid (incidents of the last 12 months whose point it covers) before and after."""
    previous = latest_published(version.subdistrict_id)
    shapes = draft_shapes(version)
    moves = staff_moves(version, previous=previous, shapes=shapes)
    members = {m.pk: m for m in Member.objects.filter(pk__in={mv.member for mv in moves}).only(
        "id", "name", "code", "force")}
    params = {"old": previous.pk if previous else None, "new": version.pk, "sub": version.subdistrict_id,
              "since": timezone.now() - LOAD_WINDOW, "open": sorted(OPEN_STATUSES)}

    def where(p: str) -> str:
        return f"{_OLD_CODE.format(p=p)} AS old, {_NEW_CODE.format(p=p)} AS new"

    places = _changed_points(
        f"SELECT * FROM (SELECT id, name, kind, ST_X(location), ST_Y(location), {where('location')} "  # noqa: S608 - constant SQL
        f"FROM geo_place WHERE subdistrict_id = %(sub)s) t WHERE old IS DISTINCT FROM new ORDER BY name", params)
    addresses = _changed_points(
        f"SELECT * FROM (SELECT id, text, ST_X(location), ST_Y(location), {where('location')} "  # noqa: S608
        f"FROM geo_address WHERE subdistrict_id = %(sub)s) t WHERE old IS DISTINCT FROM new ORDER BY text", params)
    incidents = _changed_points(
        "SELECT * FROM (SELECT i.id, i.number, ST_X(i.location), ST_Y(i.location), g.code AS old, "  # noqa: S608
        f"{_NEW_CODE.format(p='i.location')} AS new FROM incidents_incident i "
        "LEFT JOIN geo_grid g ON g.id = i.grid_id WHERE i.subdistrict_id = %(sub)s AND i.status = ANY(%(open)s) "
        "AND i.location IS NOT NULL AND NOT i.outside_jurisdiction) t WHERE old IS DISTINCT FROM new "
        "ORDER BY number", params)
    loads = _changed_points(
        "WITH recent AS (SELECT location FROM incidents_incident WHERE subdistrict_id = %(sub)s "
        "AND reported_at >= %(since)s AND location IS NOT NULL), "
        "o AS (SELECT g.code, count(r.location) AS n FROM geo_grid g LEFT JOIN recent r "
        "ON ST_Covers(g.boundary, r.location) WHERE g.version_id = %(old)s GROUP BY g.code), "
        "d AS (SELECT x.id, x.code, count(r.location) AS n FROM geo_draftgrid x LEFT JOIN recent r "
        "ON ST_Covers(x.boundary, r.location) WHERE x.version_id = %(new)s GROUP BY x.id, x.code) "
        "SELECT COALESCE(d.code, o.code), d.id, o.n, d.n FROM d FULL JOIN o ON o.code = d.code ORDER BY 1", params)

    def point(x: float, y: float) -> list[float]:
        return [round(x, 6), round(y, 6)]

    return {
        "previous": previous.number if previous else None,
        "members": [{"member": mv.member, "name": members[mv.member].name, "code": members[mv.member].code,
                     "force": members[mv.member].force, "force_display": members[mv.member].get_force_display(),
                     "old_grid": mv.old_code, "grid": mv.grid, "grid_code": mv.code, "reason": mv.reason}
                    for mv in moves],
        "places": [{"id": r[0], "name": r[1], "kind": r[2], "point": point(r[3], r[4]), "old": r[5], "new": r[6]}
                   for r in places],
        "addresses": [{"id": r[0], "text": r[1], "point": point(r[2], r[3]), "old": r[4], "new": r[5]}
                      for r in addresses],
        "incidents": [{"id": r[0], "number": r[1], "point": point(r[2], r[3]), "old": r[4], "new": r[5]}
                      for r in incidents],
        "loads": [{"code": r[0], "grid": r[1], "old": r[2], "new": r[3]} for r in loads],
    }


def draft_staff_move_set(*, version_id: int, member_id: int, draft_grid_id: int | None, actor: Actor,
                         clear: bool = False) -> DraftStaffMove | None:
    """The planner's choice of a member's grid in the draft: `draft_grid_id`, or no grid (None).
    `clear` drops the choice: the proposal by geometry applies again. Only grid staff (a grid worker
    or leader of the draft's sub-district, 400 `member` otherwise) are given a grid; anyone of the
    sub-district linked to a grid may be taken off (no grid) or have the choice cleared."""
    require_planner(actor)
    with transaction.atomic():
        version = _draft_lock(version_id, None)
        member = Member.objects.filter(pk=member_id, subdistrict_id=version.subdistrict_id).first()
        if member is None:
            raise DomainError(_("No such member in this sub-district."), code="member")
        if clear:
            DraftStaffMove.objects.filter(version=version, member=member).delete()
            return None
        if draft_grid_id is not None:
            _grid_staff(member)
        grid = _draft_grid(version, draft_grid_id) if draft_grid_id is not None else None
        move, _created = DraftStaffMove.objects.update_or_create(
            version=version, member=member, defaults={"draft_grid": grid, "set_by": actor})
        _touch(version, actor)
    return move


# --- publishing ------------------------------------------------------------------------------------

def _when(at: datetime) -> str:
    return timezone.localtime(at).strftime("%Y-%m-%d %H:%M")


def grid_version_publish(*, version_id: int, base_revision: int, effective_from: datetime, actor: Actor) -> BoundaryVersion:
    """Publish a draft, as of `base_revision` (the revision the planner looked at: a draft saved
    since is refused, 409 `stale` with the saves since, as draft_save), from `effective_from`.

    The effective time is now or later: up to EFFECTIVE_SKEW in the past is taken as clock skew and
    stored as now (an incident taken in between already got the old grid at intake; a version must
    never take effect before the moment it was published), earlier is refused; and it must follow
    the latest published version's effective time (the versions follow each other).

    A draft is outdated (409 `outdated`) when a version was published after the draft was started
    (or imported) and it is not the version the draft was copied from: publishing the draft would
    silently undo that version's changes. A draft started, after a publication, from an older
    version is the planner's deliberate choice and is published.

    Refuses (400 `problems`, with the problems in `extra`) a draft that does not validate. Copies
    the draft's grids into Grid rows, gives every member their new grid (staff_moves: links added,
    the old ones kept so that the incidents of the old version keep their staff), deletes the
    draft's grids, marks the version published and tells each member whose grids change
    (planner/notify.py: a `grid` message each, published to their app after commit). The sub-district's row is locked first (see
    _subdistrict_lock): two publications, or a publication and an assignment, never interleave.
    403 for roles other than the planner's and the command room's; 409 `published` when published
    already."""
    require_planner(actor)
    if effective_from < timezone.now() - EFFECTIVE_SKEW:
        raise DomainError(_("A grid version takes effect from now on, never in the past."), code="effective_from")
    with transaction.atomic():
        subdistrict_id = BoundaryVersion.objects.filter(pk=version_id).values_list("subdistrict_id", flat=True).first()
        if subdistrict_id is None:
            raise _not_found()
        _subdistrict_lock(subdistrict_id)
        version = _draft_lock(version_id, base_revision)
        now = timezone.now()  # after the locks: a publication waited on is later than the one it waited for
        if effective_from < now - EFFECTIVE_SKEW:
            raise DomainError(_("A grid version takes effect from now on, never in the past."), code="effective_from")
        effective_from = max(effective_from, now)
        previous = latest_published(version.subdistrict_id)
        # A published version has both times set (the model's check constraint).
        if (previous is not None and previous.pk != version.based_on_id
                and cast(datetime, previous.published_at) > version.created_at):
            values = {"latest": previous.number, "at": _when(cast(datetime, previous.effective_from)),
                      "draft": version.number}
            if version.based_on_id:
                message = _("Version %(latest)d was published (in force from %(at)s) after draft %(draft)d was "
                            "started from version %(base)d: publishing the draft would undo the changes of version "
                            "%(latest)d. Start a new draft from version %(latest)d and make your changes there.") % {
                    **values, "base": cast(BoundaryVersion, version.based_on).number}
            else:
                message = _("Version %(latest)d was published (in force from %(at)s) after draft %(draft)d was "
                            "imported or started empty: publishing the draft would undo the changes of version "
                            "%(latest)d. Import the file again, or start a new draft from version %(latest)d.") % values
            raise TransitionRefused(message, code="outdated", extra={"latest": previous.number})
        if previous is not None and effective_from <= cast(datetime, previous.effective_from):
            raise DomainError(_("Version %(n)d takes effect at %(at)s: this one must take effect after it.")
                              % {"n": previous.number, "at": _when(cast(datetime, previous.effective_from))},
                              code="effective_from")
        shapes = draft_shapes(version)
        if not shapes:
            raise DomainError(_("This draft has no grids."), code="problems", extra={"problems": []})
        problems = draft_problems(version, shapes)
        if problems:
            raise DomainError(_("This draft has %(n)d problems: fix them before publishing it.") % {"n": len(problems)},
                              code="problems", extra={"problems": [p.as_dict() for p in problems]})
        moves = staff_moves(version, previous=previous, shapes=shapes)
        with connection.cursor() as cur:
            cur.execute(
                "INSERT INTO geo_grid (version_id, subdistrict_id, community_id, code, name, boundary) "
                "SELECT version_id, %s, community_id, code, name, boundary FROM geo_draftgrid WHERE version_id = %s "
                "RETURNING id, code", [version.subdistrict_id, version.pk])
            grid_of = dict((code, pk) for pk, code in cur.fetchall())
        links = {(mv.member, grid_of[mv.code]) for mv in moves if mv.code is not None}
        MemberGrid.objects.bulk_create([MemberGrid(member_id=m, grid_id=g) for m, g in sorted(links)],
                                       ignore_conflicts=True)
        DraftStaffMove.objects.filter(version=version).delete()
        with connection.cursor() as cur:  # in SQL: the ORM would first fetch the 10,000 geometries
            cur.execute("DELETE FROM geo_draftgrid WHERE version_id = %s", [version.pk])
        DraftEditor.objects.filter(version=version).delete()
        version.status, version.effective_from, version.published_at = (
            BoundaryVersion.Status.PUBLISHED, effective_from, now)
        version.save(update_fields=["status", "effective_from", "published_at"])
        members_tell_grids(version, previous, moves, at=now)
    return version


# --- comparing versions ----------------------------------------------------------------------------

def version_shapes(version: BoundaryVersion) -> dict[str, tuple[str, BaseGeometry]]:
    """code → (name, boundary) of a version's grids: its Grid rows when published, else its draft's."""
    table = "geo_grid" if version.status == BoundaryVersion.Status.PUBLISHED else "geo_draftgrid"
    with connection.cursor() as cur:
        cur.execute(f"SELECT code, name, ST_AsBinary(boundary) FROM {table} WHERE version_id = %s",  # noqa: S608
                    [version.pk])
        return {code: (name, shapely.from_wkb(bytes(wkb))) for code, name, wkb in cur.fetchall()}


def area_m2(geometry: BaseGeometry | None) -> float:
    """Area on the WGS 84 spheroid, in m²."""
    if geometry is None or geometry.is_empty:
        return 0.0
    return abs(_GEOD.geometry_area_perimeter(shapely.orient_polygons(geometry))[0])


@dataclass(frozen=True)
class GridDifference:
    code: str
    status: str  # added, removed, changed, unchanged
    a_name: str | None
    b_name: str | None
    area_change_m2: float
    geometry: BaseGeometry | None  # what changed: the symmetric difference (lon, lat); None when unchanged


def version_compare(*, a: BoundaryVersion, b: BoundaryVersion) -> list[GridDifference]:
    """Grid by grid (matched by code), what changed from version `a` to version `b`."""
    if a.subdistrict_id != b.subdistrict_id:
        raise DomainError(_("Only versions of one sub-district can be compared."), code="compare")
    left, right = version_shapes(a), version_shapes(b)
    out = []
    for code in sorted(set(left) | set(right)):
        (a_name, ga), (b_name, gb) = left.get(code, (None, None)), right.get(code, (None, None))
        ga = shapely.make_valid(ga) if ga is not None and not ga.is_valid else ga
        gb = shapely.make_valid(gb) if gb is not None and not gb.is_valid else gb
        if gb is None:
            out.append(GridDifference(code, "removed", a_name, None, -area_m2(ga), ga))
        elif ga is None:
            out.append(GridDifference(code, "added", None, b_name, area_m2(gb), gb))
        elif ga.equals(gb):
            out.append(GridDifference(code, "changed" if a_name != b_name else "unchanged", a_name, b_name, 0.0, None))
        else:
            out.append(GridDifference(code, "changed", a_name, b_name, area_m2(gb) - area_m2(ga),
                                      _polygons(shapely.symmetric_difference(ga, gb))))
    return out


# --- who serves which grid -------------------------------------------------------------------------

def member_grids_set(*, member_id: int, grid_ids: Sequence[int], actor: Actor, subdistrict: Subdistrict | None = None
                     ) -> Member:
    """The grids of the version in force that a member serves (grid workers and leaders, assigned from
    the planner's page): links to the other grids of that version go, links to other versions stay.

    Only grid staff (a grid worker or leader; 400 `member` otherwise) are given grids; anyone may be
    taken off all grids (an empty list). While a later version is already published and waits for
    its effective time, assignments are refused (409 `scheduled`, naming it): the scheduled version's
    staff were fixed when it was published, and a change made now to the version in force would not
    reach it — and writing both versions' links here could not tell which of the scheduled version's
    grids the member should take. Assign once it is in force, or publish a new draft with the staff
    moves. Runs under the sub-district's lock, as publishing does (_subdistrict_lock)."""
    require_planner(actor)
    with transaction.atomic():
        found = Member.objects.filter(pk=member_id).values_list("subdistrict_id", flat=True).first()
        if found is None or (subdistrict is not None and found != subdistrict.pk):
            raise DomainError(_("No such member in this sub-district."), code="member", http_status=404)
        _subdistrict_lock(found)
        member = Member.objects.select_for_update(no_key=True).get(pk=member_id)
        wanted = set(grid_ids)
        if wanted:
            _grid_staff(member)
        now = timezone.now()
        latest = latest_published(member.subdistrict_id)
        # A published version's effective_from is set (the model's check constraint).
        if latest is not None and cast(datetime, latest.effective_from) > now:
            raise TransitionRefused(
                _("Version %(n)d is published and takes effect at %(at)s: a change of the grids in force now would "
                  "not reach it. Assign the grids once version %(n)d is in force, or through a new draft's staff "
                  "moves.") % {"n": latest.number, "at": _when(cast(datetime, latest.effective_from))},
                code="scheduled")
        version = boundary_version_in_force(subdistrict=member.subdistrict_id, at=now)
        grids = set(Grid.objects.filter(version=version, pk__in=wanted).values_list("pk", flat=True)) if version else set()
        if wanted - grids:
            raise DomainError(_("Grid %(id)s is not a grid of the version in force.") % {"id": min(wanted - grids)},
                              code="grids")
        current = set(MemberGrid.objects.filter(member=member, grid__version=version).values_list("grid_id", flat=True))
        MemberGrid.objects.filter(member=member, grid_id__in=current - wanted).delete()
        MemberGrid.objects.bulk_create([MemberGrid(member=member, grid_id=g) for g in sorted(wanted - current)])
    return member
