"""A small sub-district for the planners' tests: a 2 km square in two communities (west, east), four
grids in version 1 (NW, SW in the west; NE, SE in the east), and grid staff with duty posts:

    +--------+--------+        NW: two grid workers (posts in its west and east thirds) and its
    |   NW   |   NE   |            grid leader (no post; home in the east part)
    +--------+--------+        SW, NE, SE: one grid worker each
    |   SW   |   SE   |
    +--------+--------+

SPLIT_X cuts NW into a west part (0.4 of it: the new grid NW-2) and an east part (keeps NW)."""

from datetime import datetime

from django.contrib.gis.geos import LineString, Point

from dispatch.models import Force, Member, Role, TravelMode, Unit
from geo.models import BoundaryVersion, Community, Grid, Subdistrict
from incidents.models import Category, Channel
from tests.factories import SHANGHAI, box, make_user

W, S, E, N = 120.49, 30.49, 120.51, 30.51
MX, MY = (W + E) / 2, (S + N) / 2
SPLIT_X = W + 0.004
WEST_PART = Point(W + 0.002, MY + 0.005, srid=4326)  # in NW, west of the split
EAST_PART = Point(MX - 0.002, MY + 0.005, srid=4326)  # in NW, east of the split
SPLIT_LINE = LineString((SPLIT_X, N + 0.001), (SPLIT_X, MY - 0.001), srid=4326)
V1_AT = datetime(2019, 1, 1, tzinfo=SHANGHAI)


def make_planner_world(code: str = "P1") -> dict:
    sub = Subdistrict.objects.create(code=code, name=f"规划街道{code}", boundary=box(W, S, E, N))
    west = Community.objects.create(subdistrict=sub, code=f"{code}-CW", name="西社区", kind=Community.Kind.COMMUNITY,
                                    boundary=box(W, S, MX, N))
    east = Community.objects.create(subdistrict=sub, code=f"{code}-CE", name="东村", kind=Community.Kind.VILLAGE,
                                    boundary=box(MX, S, E, N))
    v1 = BoundaryVersion.objects.create(subdistrict=sub, number=1, label="2019", status=BoundaryVersion.Status.PUBLISHED,
                                        effective_from=V1_AT, published_at=V1_AT)
    grids = {}
    for name, community, bounds in (("NW", west, (W, MY, MX, N)), ("SW", west, (W, S, MX, MY)),
                                    ("NE", east, (MX, MY, E, N)), ("SE", east, (MX, S, E, MY))):
        grids[name] = Grid.objects.create(version=v1, subdistrict=sub, community=community, code=f"{code}-{name}",
                                          name=f"{name}网格", boundary=box(*bounds))
    unit = Unit.objects.create(subdistrict=sub, code=f"{code}-U1", name="网格中队", kind=Unit.Kind.GRID_SQUAD)
    n = iter(range(1, 100))

    def member(name: str, force: str, grid: str, post: Point | None, home: Point | None = None, roles=()) -> Member:
        m = Member.objects.create(subdistrict=sub, unit=unit, code=f"{code}-M{next(n)}", name=name, force=force,
                                  phone="13800000001", travel_mode=TravelMode.EBIKE, roles=list(roles),
                                  home=home or post, duty_post=post)
        m.grids.add(grids[grid])
        return m

    members = {
        "nw_west": member("西段网格员", Force.GRID_WORKER, "NW", WEST_PART),
        "nw_east": member("东段网格员", Force.GRID_WORKER, "NW", EAST_PART),
        "nw_leader": member("网格长", Force.GRID_LEADER, "NW", None, home=EAST_PART, roles=[Role.GRID_LEADER]),
        "sw": member("西南网格员", Force.GRID_WORKER, "SW", Point(W + 0.005, S + 0.005, srid=4326)),
        "ne": member("东北网格员", Force.GRID_WORKER, "NE", Point(E - 0.005, N - 0.005, srid=4326)),
        "se": member("东南网格员", Force.GRID_WORKER, "SE", Point(E - 0.005, S + 0.005, srid=4326)),
    }
    category, _ = Category.objects.get_or_create(
        code="test_dispute", defaults={"name": "测试纠纷", "name_en": "test dispute",
                                       "scope": Category.Scope.NON_POLICE, "statistic_group": "petition"})
    channel, _ = Channel.objects.get_or_create(
        code="test_hotline", defaults={"name": "测试热线", "kind": Channel.Kind.HOTLINE, "phone": "88610000"})
    return {"subdistrict": sub, "communities": {"W": west, "E": east}, "v1": v1, "grids": grids, "unit": unit,
            "members": members, "category": category, "channel": channel,
            "planner": make_user(f"{code.lower()}-planner", "planner")}
