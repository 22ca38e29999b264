"""The planners' services (planner/services.py, issue 13): drafts, their edits and validation,
stale saves, split and merge, the impact of a draft, publishing with the staff following their
grids, and the effective time: an incident keeps the version in force when it was reported, and so
does its recommendation."""

from datetime import timedelta

import pytest
import shapely
from django.contrib.gis.geos import LineString, MultiPolygon, Point, Polygon
from django.db import IntegrityError, connection, transaction
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from config.errors import DomainError, Forbidden, TransitionRefused
from config.roles import UserRole
from dispatch.models import Force, Member, MemberGrid, Role, TravelMode
from dispatch.recommend import recommend
from dispatch.rules_seed import rules_seed
from geo import coverage
from geo.models import Address, BoundaryVersion, DraftGrid, DraftSave, Grid, Place
from incidents.models import Incident, Status
from incidents.services import incident_intake, incident_locate
from planner import services
from planner.models import DraftStaffMove
from tests.factories import box, make_user, put_on_duty
from tests.planner_world import (
    EAST_PART,
    MX,
    MY,
    SPLIT_LINE,
    SPLIT_X,
    V1_AT,
    WEST_PART,
    E,
    N,
    S,
    W,
    make_planner_world,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def world():
    return make_planner_world()


def draft_of(world, **kw) -> BoundaryVersion:
    return services.draft_start(subdistrict=world["subdistrict"], actor=world["planner"], **kw)


def grid(version, name) -> DraftGrid:
    return DraftGrid.objects.get(version=version, code=f"P1-{name}")


def edit(version, which, **changes) -> dict:
    g = grid(version, which)
    return {"id": g.pk, "code": g.code, "name": g.name, "community": g.community_id, "boundary": g.boundary, **changes}


def save(world, version, *upsert, delete=(), actor=None):
    version.refresh_from_db()
    return services.draft_save(version_id=version.pk, base_revision=version.revision, upsert=list(upsert),
                               delete=list(delete), actor=actor or world["planner"])


def linked(member) -> set[str]:
    return {f"v{g.version.number}:{g.code}" for g in member.grids.select_related("version")}


def publish(world, draft, when=None, *, actor=None) -> BoundaryVersion:
    """Publish the draft as of its current revision (default: now, by the world's planner)."""
    draft.refresh_from_db()
    return services.grid_version_publish(version_id=draft.pk, base_revision=draft.revision,
                                         effective_from=when or timezone.now(), actor=actor or world["planner"])


def split(world, draft):
    draft.refresh_from_db()
    return services.draft_split(version_id=draft.pk, base_revision=draft.revision, grid_id=grid(draft, "NW").pk,
                                line=SPLIT_LINE, actor=world["planner"])


# --- drafts -------------------------------------------------------------------------------------------

def test_a_draft_starts_as_a_copy_of_the_version_in_force(world):
    draft = draft_of(world, label="2027 调整")
    assert (draft.number, draft.status, draft.revision, draft.based_on, draft.created_by) == (
        2, BoundaryVersion.Status.DRAFT, 0, world["v1"], world["planner"])
    assert sorted(draft.draft_grids.values_list("code", flat=True)) == ["P1-NE", "P1-NW", "P1-SE", "P1-SW"]
    assert not services.draft_problems(draft)
    log = DraftSave.objects.get(version=draft)
    assert log.summary["op"] == "start" and log.summary["grids"] == 4
    again = draft_of(world, based_on=draft)  # a copy of a draft
    assert again.number == 3 and again.draft_grids.count() == 4


@pytest.mark.parametrize("role", [UserRole.RESPONDER, UserRole.DEPARTMENT, UserRole.LEADER, UserRole.DISPATCHER])
def test_only_planners_and_the_command_room_work_on_grid_versions(world, role):
    other = make_user(f"p-{role}", role)
    with pytest.raises(Forbidden):
        services.draft_start(subdistrict=world["subdistrict"], actor=other)
    draft = draft_of(world)
    with pytest.raises(Forbidden):
        services.draft_save(version_id=draft.pk, base_revision=0, upsert=[], delete=[], actor=other)
    with pytest.raises(Forbidden):
        publish(world, draft, actor=other)
    with pytest.raises(Forbidden):
        services.member_grids_set(member_id=world["members"]["sw"].pk, grid_ids=[], actor=other)
    room = make_user("p-room", UserRole.COMMAND_ROOM)
    services.draft_save(version_id=draft.pk, base_revision=0, upsert=[], delete=[], actor=room)


# --- validation: every case with where it is -------------------------------------------------------

NE = (MX, MY, E, N)


def problems_of(world, *upsert, delete=()):
    draft = draft_of(world)
    return save(world, draft, *[edit(draft, name, **changes) for name, changes in upsert],
                delete=[grid(draft, d).pk for d in delete]).problems


def only(problems, kind):
    found = [p for p in problems if p.kind == kind]
    assert found, f"no {kind} among {[p.kind for p in problems]}"
    return found


def test_each_validation_case_is_reported_with_where_it_is(world):
    bowtie = MultiPolygon(Polygon(((MX, MY), (E, N), (E, MY), (MX, N), (MX, MY))), srid=4326)
    (invalid,) = only(problems_of(world, ("NE", {"boundary": bowtie})), "invalid")
    assert invalid.grids == ("P1-NE",) and invalid.where.distance(shapely.Point((MX + E) / 2, (MY + N) / 2)) < 1e-9

    (outside,) = only(problems_of(world, ("NE", {"boundary": box(MX, MY, E + 0.002, N)})), "outside")
    assert outside.grids == ("P1-NE",) and outside.where.bounds[0] >= E - 1e-9 and outside.area_m2 > 10_000

    problems = problems_of(world, ("NE", {"boundary": box(MX - 0.002, MY, E, N)}))
    (overlap,) = only(problems, "overlap")
    assert overlap.grids == ("P1-NE", "P1-NW") and overlap.where.bounds[2] <= MX + 1e-9
    (beyond,) = only(problems, "outside_community")
    assert beyond.community == "P1-CE" and beyond.where.bounds[2] <= MX + 1e-9

    (gap,) = only(problems_of(world, ("NE", {"boundary": box(MX + 0.002, MY, E, N)})), "gap")
    assert gap.where.bounds[0] >= MX - 1e-9 and gap.where.bounds[2] <= MX + 0.002 + 1e-9

    notched = MultiPolygon(Polygon(((MX, MY), (E, MY), (E, N), (MX, N), (MX, MY + 0.005), (MX, MY))), srid=4326)
    edges = only(problems_of(world, ("NE", {"boundary": notched})), "edges")  # a vertex on one side only
    assert {p.grids for p in edges} <= {("P1-NE",), ("P1-NW",)} and all(p.where is not None for p in edges)

    draft = draft_of(world)
    tiny = box(MX, N - 0.0002, MX + 0.0002, N)
    rest = MultiPolygon(Polygon(((MX, MY), (E, MY), (E, N), (MX + 0.0002, N), (MX + 0.0002, N - 0.0002),
                                 (MX, N - 0.0002), (MX, MY))), srid=4326)
    problems = save(world, draft, edit(draft, "NE", boundary=rest),
                    {"id": None, "code": "P1-X1", "name": "碎片", "community": world["communities"]["E"].pk,
                     "boundary": tiny}).problems
    (sliver,) = only(problems, "sliver")
    assert sliver.grids == ("P1-X1",) and sliver.area_m2 < 2000

    (orphan,) = only(problems_of(world, ("NE", {"community": None})), "no_community")
    assert orphan.grids == ("P1-NE",) and orphan.where is not None

    west = world["communities"]["W"].pk
    problems = problems_of(world, ("NE", {"community": west}), ("SE", {"community": west}))
    (empty,) = only(problems, "community_without_grid")
    assert empty.community == "P1-CE" and empty.where is not None
    assert sorted(p.grids for p in only(problems, "outside_community")) == [("P1-NE",), ("P1-SE",)]


def test_bad_edits_are_refused_naming_the_grid_and_nothing_is_written(world):
    draft = draft_of(world)
    for upsert, message in (
        ([edit(draft, "NE", code="P1-NW")], "P1-NW"),
        ([edit(draft, "NE", boundary=LineString((MX, MY), (E, N), srid=4326))], "P1-NE"),
        ([edit(draft, "NE", code="")], None),
        ([{"id": 10**12, "code": "X", "name": "X", "community": None, "boundary": box(W, S, E, N)}], str(10**12)),
        ([edit(draft, "NE", community=10**12)], "P1-NE"),
    ):
        with pytest.raises(DomainError) as refused:
            save(world, draft, *upsert)
        assert refused.value.http_status == 400 and (message is None or message in str(refused.value.message))
    draft.refresh_from_db()
    assert draft.revision == 0 and DraftSave.objects.filter(version=draft).count() == 1
    assert grid(draft, "NE").boundary.equals(box(*NE))


def test_a_save_based_on_an_older_revision_is_refused_with_what_changed_since(world):
    draft = draft_of(world)
    other = make_user("p-other", UserRole.PLANNER)
    first = services.draft_save(version_id=draft.pk, base_revision=0, actor=other, delete=[],
                                upsert=[edit(draft, "NE", name="东北（改）")])
    assert first.version.revision == 1
    with pytest.raises(TransitionRefused) as stale:
        services.draft_save(version_id=draft.pk, base_revision=0, actor=world["planner"], delete=[],
                            upsert=[edit(draft, "SE", name="东南（改）")])
    assert stale.value.code == "stale" and stale.value.http_status == 409
    (since,) = stale.value.extra["since"]
    assert since["revision"] == 1 and since["user"] == "p-other" and since["summary"]["changed"] == ["P1-NE"]
    assert grid(draft, "SE").name == "SE网格"  # nothing written
    published = services.draft_save(version_id=draft.pk, base_revision=1, actor=world["planner"], delete=[],
                                    upsert=[edit(draft, "SE", name="东南（改）")])
    assert published.version.revision == 2


# --- split and merge ------------------------------------------------------------------------------------

def test_a_split_along_a_line_yields_two_valid_grids_and_the_neighbour_gets_the_new_corner(world):
    draft = draft_of(world)
    change = split(world, draft)
    assert change.problems == [] and change.version.revision == 1
    east, west = grid(draft, "NW"), grid(draft, "NW-2")
    assert east.boundary.covers(EAST_PART) and west.boundary.covers(WEST_PART)  # the larger part keeps the code
    assert (west.name, west.community_id) == ("NW网格（2）", east.community_id)
    assert (SPLIT_X, MY) in grid(draft, "SW").boundary.coords[0][0]  # the new border point, in the neighbour too
    assert {g.code for g in change.grids} == {"P1-NW", "P1-NW-2", "P1-SW"}
    assert DraftSave.objects.get(version=draft, revision=1).summary["op"] == "split"


def test_a_line_that_does_not_cut_the_grid_in_two_is_refused(world):
    draft = draft_of(world)
    for line in (LineString((W + 0.001, MY + 0.001), (W + 0.002, MY + 0.002), srid=4326),  # inside only
                 LineString((E + 0.01, S), (E + 0.02, N), srid=4326),  # far away
                 LineString((W - 0.001, MY + 0.003), (SPLIT_X, N + 0.001), (MX + 0.001, MY + 0.003),
                            (MX + 0.001, MY + 0.006), (W - 0.001, MY + 0.006), srid=4326)):  # three pieces
        with pytest.raises(DomainError) as refused:
            services.draft_split(version_id=draft.pk, base_revision=0, grid_id=grid(draft, "NW").pk, line=line,
                                 actor=world["planner"])
        assert refused.value.code == "line"
    draft.refresh_from_db()
    assert draft.revision == 0 and draft.draft_grids.count() == 4


def test_merge_takes_two_neighbours_into_the_first(world):
    draft = draft_of(world)
    with pytest.raises(DomainError) as refused:  # NW and SE touch at a corner only
        services.draft_merge(version_id=draft.pk, base_revision=0, actor=world["planner"],
                             grid_ids=[grid(draft, "NW").pk, grid(draft, "SE").pk])
    assert refused.value.code == "grids"
    change = services.draft_merge(version_id=draft.pk, base_revision=0, actor=world["planner"],
                                  grid_ids=[grid(draft, "NE").pk, grid(draft, "SE").pk])
    assert change.problems == [] and len(change.deleted) == 1
    assert grid(draft, "NE").boundary.equals(box(MX, S, E, N))
    assert sorted(draft.draft_grids.values_list("code", flat=True)) == ["P1-NE", "P1-NW", "P1-SW"]


# --- impact and publishing ----------------------------------------------------------------------------

def test_the_impact_lists_staff_places_addresses_open_incidents_and_loads(world):
    sub, m = world["subdistrict"], world["members"]
    place = Place.objects.create(subdistrict=sub, kind=Place.Kind.SCHOOL, name="西小学", location=WEST_PART)
    Address.objects.create(subdistrict=sub, text="西路1号", location=WEST_PART)
    Address.objects.create(subdistrict=sub, text="东路9号", location=EAST_PART)  # stays in NW
    now = timezone.now()
    case = Incident.objects.create(subdistrict=sub, number="P-0001", channel=world["channel"],
                                   category=world["category"], status=Status.NEW, description="纠纷",
                                   location=WEST_PART, grid=world["grids"]["NW"], reported_at=now - timedelta(days=3))
    draft = draft_of(world)
    split(world, draft)
    services.draft_staff_move_set(version_id=draft.pk, member_id=m["se"].pk, draft_grid_id=grid(draft, "NE").pk,
                                  actor=world["planner"])
    impact = services.draft_impact(draft)
    moves = {(r["member"], r["grid_code"], r["reason"]) for r in impact["members"]}
    assert moves == {(m["nw_west"].pk, "P1-NW-2", "post"), (m["nw_east"].pk, "P1-NW", "post"),
                     (m["nw_leader"].pk, "P1-NW", "post"), (m["sw"].pk, "P1-SW", "kept"),
                     (m["ne"].pk, "P1-NE", "kept"), (m["se"].pk, "P1-NE", "override")}
    assert [(p["id"], p["old"], p["new"]) for p in impact["places"]] == [(place.pk, "P1-NW", "P1-NW-2")]
    assert [(a["text"], a["old"], a["new"]) for a in impact["addresses"]] == [("西路1号", "P1-NW", "P1-NW-2")]
    assert [(i["id"], i["old"], i["new"]) for i in impact["incidents"]] == [(case.pk, "P1-NW", "P1-NW-2")]
    loads = {r["code"]: (r["old"], r["new"]) for r in impact["loads"]}
    assert loads["P1-NW"] == (1, 0) and loads["P1-NW-2"] == (None, 1) and loads["P1-SE"] == (0, 0)
    assert impact["previous"] == 1


def test_publishing_a_split_moves_each_member_to_the_part_that_holds_their_post(world):
    m = world["members"]
    draft = draft_of(world)
    split(world, draft)
    when = timezone.now() + timedelta(minutes=1)
    version = publish(world, draft, when)
    assert (version.status, version.effective_from) == (BoundaryVersion.Status.PUBLISHED, when)
    assert not DraftGrid.objects.filter(version=version).exists()
    assert sorted(version.grids.values_list("code", flat=True)) == ["P1-NE", "P1-NW", "P1-NW-2", "P1-SE", "P1-SW"]
    assert linked(m["nw_west"]) == {"v1:P1-NW", "v2:P1-NW-2"}  # the old link stays: old cases keep their staff
    assert linked(m["nw_east"]) == {"v1:P1-NW", "v2:P1-NW"}
    assert linked(m["nw_leader"]) == {"v1:P1-NW", "v2:P1-NW"}
    assert linked(m["se"]) == {"v1:P1-SE", "v2:P1-SE"}
    assert all(Grid.objects.get(version=version, code=c).members.exists()
               for c in ("P1-NW", "P1-NW-2", "P1-SW", "P1-NE", "P1-SE"))  # no grid without its staff
    with pytest.raises(TransitionRefused):
        publish(world, draft, when)


def test_publishing_a_merge_gives_the_merged_grid_the_staff_of_both_and_overrides_apply(world):
    m = world["members"]
    draft = draft_of(world)
    services.draft_merge(version_id=draft.pk, base_revision=0, actor=world["planner"],
                         grid_ids=[grid(draft, "NE").pk, grid(draft, "SE").pk])
    services.draft_staff_move_set(version_id=draft.pk, member_id=m["sw"].pk, draft_grid_id=None,
                                  actor=world["planner"])  # the planner takes this one off the grids
    publish(world, draft)
    assert linked(m["ne"]) == {"v1:P1-NE", "v2:P1-NE"} and linked(m["se"]) == {"v1:P1-SE", "v2:P1-NE"}
    assert linked(m["sw"]) == {"v1:P1-SW"}
    assert not DraftStaffMove.objects.exists()


def test_a_draft_with_problems_or_an_effective_time_in_the_past_is_not_published(world):
    draft = draft_of(world)
    save(world, draft, edit(draft, "NE", boundary=box(MX + 0.002, MY, E, N)))
    with pytest.raises(DomainError) as refused:
        publish(world, draft)
    assert refused.value.code == "problems"
    assert [p["kind"] for p in refused.value.extra["problems"]] == ["gap", "edges", "edges"]
    assert refused.value.extra["problems"][0]["where"]["type"] in ("Polygon", "MultiPolygon")
    with pytest.raises(DomainError) as past:
        publish(world, draft, timezone.now() - timedelta(hours=1))
    assert past.value.code == "effective_from"
    draft.refresh_from_db()
    assert draft.status == BoundaryVersion.Status.DRAFT and draft.draft_grids.count() == 4
    assert not Grid.objects.filter(version=draft).exists()


# --- the effective time -----------------------------------------------------------------------------

def test_an_incident_keeps_the_version_in_force_when_reported_and_so_does_its_recommendation(world):
    rules_seed()
    m = world["members"]
    put_on_duty(*m.values())
    draft = draft_of(world)
    split(world, draft)
    effective = timezone.now()
    publish(world, draft, effective)
    taker = make_user("p-taker", UserRole.CALL_TAKER)

    def take(reported_at):
        return incident_intake(channel=world["channel"], category=world["category"], description="邻里纠纷",
                               actor=taker, location=WEST_PART, reported_at=reported_at).incident

    before, after = take(effective - timedelta(hours=1)), take(effective + timedelta(seconds=1))
    assert (before.grid.code, before.grid.version.number) == ("P1-NW", 1)
    assert (after.grid.code, after.grid.version.number) == ("P1-NW-2", 2)

    # Asked at 10:00 of the next day (local): the grid leaders' rule ends at 21:30 (rules_seed's
    # EVENING), and the answer must not depend on the hour the suite runs.
    asked_at = (timezone.localtime(effective) + timedelta(days=1)).replace(hour=10, minute=0)

    def own_grid_staff(incident):
        rec = recommend(Incident.objects.select_related("category", "place").get(pk=incident.pk),
                        at=asked_at, routes=False)
        return rec.grid.code, {c.member_id for c in rec.candidates if c.relation == "own_grid"}

    assert own_grid_staff(before) == ("P1-NW", {m["nw_west"].pk, m["nw_east"].pk, m["nw_leader"].pk})
    assert own_grid_staff(after) == ("P1-NW-2", {m["nw_west"].pk})

    # A case placed on the map later (the needs-location queue) also gets the grid of its time.
    late = incident_intake(channel=world["channel"], category=world["category"], description="地址不详",
                           actor=taker, address_text="不知道在哪里", reported_at=effective - timedelta(hours=2),
                           subdistrict=world["subdistrict"]).incident
    assert incident_locate(incident_id=late.pk, point=WEST_PART, actor=taker).grid.version.number == 1


# --- compare, assignments, import --------------------------------------------------------------------

def test_compare_two_versions_grid_by_grid(world):
    draft = draft_of(world)
    split(world, draft)
    save(world, draft, edit(draft, "SE", name="东南（新名）"))
    rows = {r.code: r for r in services.version_compare(a=world["v1"], b=draft)}
    assert rows["P1-NW-2"].status == "added" and rows["P1-NW-2"].area_change_m2 > 0
    assert rows["P1-NW"].status == "changed" and rows["P1-NW"].area_change_m2 == pytest.approx(
        -rows["P1-NW-2"].area_change_m2, rel=1e-6)
    assert rows["P1-NW"].geometry.bounds[2] <= SPLIT_X + 1e-9  # what changed: the west part
    assert rows["P1-SE"].status == "changed" and rows["P1-SE"].geometry is None  # renamed only
    assert rows["P1-NE"].status == "unchanged"
    assert rows["P1-SW"].status == "unchanged"  # the split's new vertex on its border: the same ground


def test_assigning_members_to_grids_of_the_version_in_force(world):
    m, g = world["members"], world["grids"]
    services.member_grids_set(member_id=m["sw"].pk, grid_ids=[g["SW"].pk, g["SE"].pk], actor=world["planner"])
    assert linked(m["sw"]) == {"v1:P1-SW", "v1:P1-SE"}
    services.member_grids_set(member_id=m["sw"].pk, grid_ids=[g["SE"].pk], actor=world["planner"])
    assert linked(m["sw"]) == {"v1:P1-SE"}
    draft = draft_of(world)
    with pytest.raises(DomainError):  # a draft's grid is no grid to serve yet
        services.member_grids_set(member_id=m["sw"].pk, grid_ids=[grid(draft, "SW").pk], actor=world["planner"])
    assert MemberGrid.objects.filter(member=m["sw"]).count() == 1


def test_import_makes_a_draft_of_exactly_the_grids_or_refuses_naming_what_is_wrong(world):
    sub = world["subdistrict"]
    grids = [coverage.DraftGrid("A1", "甲", "P1-CW", shapely.box(W, S, MX, N)),
             coverage.DraftGrid("B1", "乙", "P1-CE", shapely.MultiPolygon([shapely.box(MX, S, E, N)]))]
    version = services.draft_import(subdistrict=sub, grids=grids, actor=world["planner"], label="导入")
    assert version.label == "导入" and sorted(version.draft_grids.values_list("code", "community__code")) == [
        ("A1", "P1-CW"), ("B1", "P1-CE")]
    assert services.draft_problems(version) == []
    before = BoundaryVersion.objects.count()
    for bad, named in (([grids[0], coverage.DraftGrid("B1", "乙", "NOPE", grids[1].boundary)], "NOPE"),
                       ([grids[0], grids[0]], "A1"),
                       ([coverage.DraftGrid("C1", "丙", None, shapely.Point(W, S))], "C1"),
                       ([], None)):
        with pytest.raises(DomainError) as refused:
            services.draft_import(subdistrict=sub, grids=bad, actor=world["planner"])
        assert named is None or named in str(refused.value.message)
    assert BoundaryVersion.objects.count() == before


def test_presence_shows_who_has_the_draft_open(world):
    from planner.selectors import draft_editors

    draft = draft_of(world)
    other = make_user("p-second", UserRole.PLANNER)
    services.draft_presence(version_id=draft.pk, actor=other)
    assert {e.user.username for e in draft_editors(version=draft)} == {"p1-planner", "p-second"}


def test_a_staff_move_names_a_grid_of_its_own_draft(world):
    draft, other = draft_of(world), draft_of(world)
    with pytest.raises(DomainError):
        services.draft_staff_move_set(version_id=draft.pk, member_id=world["members"]["sw"].pk,
                                      draft_grid_id=grid(other, "SW").pk, actor=world["planner"])
    assert not DraftStaffMove.objects.exists()


# --- review: publishing under the sub-district's lock, the revision, outdated drafts --------------------

def _first(queries, *parts) -> int:
    return next(i for i, q in enumerate(queries) if all(p in q["sql"] for p in parts))


def test_publishing_and_assigning_lock_the_sub_district_before_reading_versions_and_links(world):
    draft = draft_of(world)
    with CaptureQueriesContext(connection) as publishing:
        publish(world, draft)
    lock = _first(publishing.captured_queries, 'FROM "geo_subdistrict"', "FOR NO KEY UPDATE")
    assert lock < _first(publishing.captured_queries, "FROM \"geo_boundaryversion\"", "FOR UPDATE")  # the draft
    assert lock < _first(publishing.captured_queries, "\"effective_from\" DESC")  # the latest published
    assert lock < _first(publishing.captured_queries, "dispatch_member_grids")  # the staff's links
    with CaptureQueriesContext(connection) as assigning:
        services.member_grids_set(member_id=world["members"]["sw"].pk, grid_ids=[], actor=world["planner"])
    lock = _first(assigning.captured_queries, 'FROM "geo_subdistrict"', "FOR NO KEY UPDATE")
    assert lock < _first(assigning.captured_queries, "\"effective_from\" DESC")
    assert lock < _first(assigning.captured_queries, "dispatch_member_grids")


def test_two_published_versions_never_take_effect_at_the_same_time(world):
    with pytest.raises(IntegrityError), transaction.atomic():
        BoundaryVersion.objects.create(subdistrict=world["subdistrict"], number=7, status=BoundaryVersion.Status.PUBLISHED,
                                       effective_from=V1_AT, published_at=V1_AT)
    draft = BoundaryVersion.objects.create(subdistrict=world["subdistrict"], number=8, effective_from=V1_AT)
    assert draft.status == BoundaryVersion.Status.DRAFT  # drafts are not concerned


def test_publishing_names_the_revision_looked_at_a_draft_saved_since_is_refused(world):
    draft = draft_of(world)
    other = make_user("p-other", UserRole.PLANNER)
    save(world, draft, edit(draft, "NE", name="东北（改）"), actor=other)
    with pytest.raises(TransitionRefused) as stale:
        services.grid_version_publish(version_id=draft.pk, base_revision=0, effective_from=timezone.now(),
                                      actor=world["planner"])
    assert (stale.value.code, stale.value.http_status, stale.value.extra["revision"]) == ("stale", 409, 1)
    assert [(s["revision"], s["user"]) for s in stale.value.extra["since"]] == [(1, "p-other")]
    draft.refresh_from_db()
    assert draft.status == BoundaryVersion.Status.DRAFT and draft.draft_grids.count() == 4


def test_a_draft_that_a_version_published_since_it_was_started_would_undo_is_outdated(world):
    sub = world["subdistrict"]
    first, second = draft_of(world), draft_of(world)  # both copies of version 1
    imported = services.draft_import(subdistrict=sub, actor=world["planner"], grids=[
        coverage.DraftGrid("A1", "甲", "P1-CW", shapely.box(W, S, MX, N)),
        coverage.DraftGrid("B1", "乙", "P1-CE", shapely.box(MX, S, E, N))])
    save(world, first, edit(first, "NE", name="东北片"))
    publish(world, first)  # version 2
    for draft in (second, imported):
        with pytest.raises(TransitionRefused) as outdated:
            publish(world, draft)
        assert (outdated.value.code, outdated.value.http_status, outdated.value.extra) == (
            "outdated", 409, {"latest": 2})
        message = str(outdated.value.message)
        assert f"{draft.number}" in message and "2" in message
        draft.refresh_from_db()
        assert draft.status == BoundaryVersion.Status.DRAFT
    # A draft started after the publication follows it: from version 2 (the default), or — the
    # planner's deliberate choice — from an older version; an import made after it too.
    assert publish(world, draft_of(world), timezone.now() + timedelta(seconds=1)).number == 5
    assert publish(world, draft_of(world, based_on=world["v1"]), timezone.now() + timedelta(seconds=2)).number == 6


def test_a_new_draft_follows_a_version_already_scheduled(world):
    scheduled = publish(world, draft_of(world), timezone.now() + timedelta(days=1))
    assert draft_of(world).based_on == scheduled  # not the version in force: it would undo the scheduled one


def test_an_effective_time_a_little_in_the_past_is_stored_as_the_time_of_publishing(world):
    before = timezone.now()
    version = publish(world, draft_of(world), before - services.EFFECTIVE_SKEW / 2)
    version.refresh_from_db()
    assert before <= version.effective_from <= timezone.now() and version.effective_from == version.published_at


# --- review: splitting a grid of several islands ---------------------------------------------------------

def islands(world):
    """A draft whose NW is two islands: A (the west strip, from MY to N) and B (a block in the north-east
    corner of the old NW, nearer to A's north half)."""
    draft = draft_of(world)
    a, b = Polygon.from_bbox((W, MY, W + 0.004, N)), Polygon.from_bbox((MX - 0.004, N - 0.003, MX, N))
    save(world, draft, edit(draft, "NW", boundary=MultiPolygon(a, b, srid=4326)))
    return draft


def test_a_split_through_one_island_cuts_that_island_and_the_other_goes_with_the_nearer_part(world):
    draft = islands(world)
    line = LineString((W - 0.001, MY + 0.005), (W + 0.005, MY + 0.005), srid=4326)
    change = services.draft_split(version_id=draft.pk, base_revision=1, grid_id=grid(draft, "NW").pk, line=line,
                                  actor=world["planner"])
    north, south = grid(draft, "NW"), grid(draft, "NW-2")
    assert len(north.boundary) == 2 and len(south.boundary) == 1
    assert north.boundary.covers(Point(W + 0.002, N - 0.001, srid=4326))  # A's north half
    assert north.boundary.covers(Point(MX - 0.002, N - 0.001, srid=4326))  # B, nearer to it, and larger so
    assert south.boundary.covers(Point(W + 0.002, MY + 0.001, srid=4326))
    assert north.boundary.union(south.boundary).equals(box(W, MY, W + 0.004, N).union(box(MX - 0.004, N - 0.003, MX, N)))
    assert change.version.revision == 2


def test_a_split_of_islands_needs_a_line_across_one_of_them(world):
    draft = islands(world)
    for line in (LineString((E + 0.01, S), (E + 0.02, N), srid=4326),  # nowhere near
                 LineString((W + 0.005, MY + 0.001), (MX - 0.005, N - 0.001), srid=4326),  # between the islands
                 LineString((W - 0.001, N - 0.001), (MX + 0.001, N - 0.001), srid=4326)):  # across both
        with pytest.raises(DomainError) as refused:
            services.draft_split(version_id=draft.pk, base_revision=1, grid_id=grid(draft, "NW").pk, line=line,
                                 actor=world["planner"])
        assert refused.value.code == "line"
    draft.refresh_from_db()
    assert draft.revision == 1 and draft.draft_grids.count() == 4


# --- review: the immutability trigger and deleted users --------------------------------------------------

def refused_by_the_database(sql: str, params) -> str:
    with pytest.raises(IntegrityError) as refused, transaction.atomic(), connection.cursor() as cur:
        cur.execute(sql, params)
    return str(refused.value)


def test_deleting_the_user_who_published_a_version_keeps_the_version(world):
    author = make_user("p-author", UserRole.PLANNER)
    draft = services.draft_start(subdistrict=world["subdistrict"], actor=author)
    version = publish(world, draft, actor=author)
    author.delete()
    version.refresh_from_db()
    assert (version.status, version.created_by, version.grids.count()) == (BoundaryVersion.Status.PUBLISHED, None, 4)
    # The version copied from deleted (a draft): based_on set to NULL, the published copy stays.
    base = draft_of(world)
    copy = publish(world, draft_of(world, based_on=base))
    base.delete()
    copy.refresh_from_db()
    assert copy.based_on is None and copy.status == BoundaryVersion.Status.PUBLISHED


def test_the_database_refuses_any_other_change_of_a_published_version_or_its_grids(world):
    v1, other = world["v1"], make_user("p-someone", UserRole.PLANNER)
    for sql, params in (("UPDATE geo_boundaryversion SET label = 'x' WHERE id = %s", [v1.pk]),
                        ("UPDATE geo_boundaryversion SET created_by_id = %s WHERE id = %s", [other.pk, v1.pk]),
                        ("UPDATE geo_boundaryversion SET created_by_id = NULL, note = 'x' WHERE id = %s", [v1.pk]),
                        ("UPDATE geo_boundaryversion SET status = 'draft', based_on_id = NULL WHERE id = %s", [v1.pk]),
                        ("DELETE FROM geo_boundaryversion WHERE id = %s", [v1.pk])):
        assert "is published: it cannot be changed" in refused_by_the_database(sql, params)
    grid_id = world["grids"]["NE"].pk
    for sql in ("UPDATE geo_grid SET name = 'x' WHERE id = %s", "DELETE FROM geo_grid WHERE id = %s"):
        assert "belongs to a published version" in refused_by_the_database(sql, [grid_id])
    with connection.cursor() as cur:  # setting NULL what is NULL already changes nothing: let through
        cur.execute("UPDATE geo_boundaryversion SET created_by_id = NULL WHERE id = %s", [v1.pk])
    added = Grid.objects.create(version=v1, subdistrict=world["subdistrict"], community=world["communities"]["E"],
                                code="P1-X", name="补录", boundary=box(MX, MY, E, N))  # inserting stays possible
    assert added.pk and Grid.objects.get(pk=grid_id).name == "NE网格"
    v1.refresh_from_db()
    assert v1.label == "2019" and v1.status == BoundaryVersion.Status.PUBLISHED


# --- review: assignments and staff moves -----------------------------------------------------------------

def test_assignments_wait_while_a_later_version_is_scheduled(world):
    m, g = world["members"], world["grids"]
    scheduled = publish(world, draft_of(world), timezone.now() + timedelta(days=1))
    with pytest.raises(TransitionRefused) as refused:
        services.member_grids_set(member_id=m["sw"].pk, grid_ids=[g["SW"].pk, g["SE"].pk], actor=world["planner"])
    assert refused.value.code == "scheduled" and str(scheduled.number) in str(refused.value.message)
    assert timezone.localtime(scheduled.effective_from).strftime("%H:%M") in str(refused.value.message)
    assert linked(m["sw"]) == {"v1:P1-SW", "v2:P1-SW"}


def test_only_grid_workers_and_leaders_are_given_grids(world):
    m, g, sub = world["members"], world["grids"], world["subdistrict"]
    officer = Member.objects.create(subdistrict=sub, unit=world["unit"], code="P1-POL", name="民警甲",
                                    force=Force.POLICE, phone="13800000009", travel_mode=TravelMode.CAR,
                                    home=Point(W + 0.001, S + 0.001, srid=4326))
    leader = Member.objects.create(subdistrict=sub, unit=world["unit"], code="P1-OFF", name="干部乙",
                                   force=Force.OFFICE_STAFF, roles=[Role.GRID_LEADER], phone="13800000008",
                                   travel_mode=TravelMode.CAR, home=Point(W + 0.001, S + 0.001, srid=4326))
    with pytest.raises(DomainError) as refused:
        services.member_grids_set(member_id=officer.pk, grid_ids=[g["SW"].pk], actor=world["planner"])
    assert (refused.value.code, refused.value.http_status) == ("member", 400) and "民警甲" in str(refused.value.message)
    draft = draft_of(world)
    with pytest.raises(DomainError) as refused:
        services.draft_staff_move_set(version_id=draft.pk, member_id=officer.pk, draft_grid_id=grid(draft, "SW").pk,
                                      actor=world["planner"])
    assert refused.value.code == "member" and not DraftStaffMove.objects.exists()
    assert not MemberGrid.objects.filter(member=officer).exists()
    services.member_grids_set(member_id=leader.pk, grid_ids=[g["SW"].pk], actor=world["planner"])  # a grid leader by role
    services.member_grids_set(member_id=officer.pk, grid_ids=[], actor=world["planner"])  # taking off: anyone
    assert linked(leader) == {"v1:P1-SW"} and linked(m["sw"]) == {"v1:P1-SW"}


# --- review: one sub-district's planner never reaches another's ------------------------------------------

@pytest.fixture
def other_world(world):
    return make_planner_world("P2")


def test_grids_communities_members_and_versions_of_another_sub_district_are_refused(world, other_world):
    draft, theirs = draft_of(world), services.draft_start(subdistrict=other_world["subdistrict"],
                                                         actor=world["planner"])
    their_grid = DraftGrid.objects.get(version=theirs, code="P2-NE")
    attempts = [
        lambda: save(world, draft, {**edit(draft, "NE"), "id": their_grid.pk}),
        lambda: save(world, draft, delete=[their_grid.pk]),
        lambda: save(world, draft, edit(draft, "NE", community=other_world["communities"]["E"].pk)),
        lambda: services.draft_split(version_id=draft.pk, base_revision=0, grid_id=their_grid.pk, line=SPLIT_LINE,
                                     actor=world["planner"]),
        lambda: services.draft_merge(version_id=draft.pk, base_revision=0, actor=world["planner"],
                                     grid_ids=[grid(draft, "NE").pk, their_grid.pk]),
        lambda: services.draft_staff_move_set(version_id=draft.pk, member_id=other_world["members"]["ne"].pk,
                                              draft_grid_id=grid(draft, "NE").pk, actor=world["planner"]),
        lambda: services.member_grids_set(member_id=other_world["members"]["ne"].pk, actor=world["planner"],
                                          grid_ids=[world["grids"]["NE"].pk], subdistrict=world["subdistrict"]),
        lambda: services.member_grids_set(member_id=other_world["members"]["ne"].pk, actor=world["planner"],
                                          grid_ids=[world["grids"]["NE"].pk]),  # their member, our grid
        lambda: services.draft_start(subdistrict=world["subdistrict"], based_on=theirs, actor=world["planner"]),
    ]
    for attempt in attempts:
        with pytest.raises(DomainError) as refused:
            attempt()
        assert refused.value.http_status in (400, 404)
    for version in (draft, theirs):
        version.refresh_from_db()
        assert version.revision == 0 and version.draft_grids.count() == 4
    assert DraftGrid.objects.get(pk=their_grid.pk).boundary.equals(their_grid.boundary)
    assert not DraftStaffMove.objects.exists() and BoundaryVersion.objects.count() == 4
    assert linked(other_world["members"]["ne"]) == {"v1:P2-NE"}
