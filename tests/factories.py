"""A tiny hand-made sub-district for tests that must not depend on the demo generator.

A 2 km × 2 km square near 120.50E 30.50N (clear of the demo sub-district) with one community split into two grids."""

import asyncio
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from zoneinfo import ZoneInfo

from django.contrib.gis.geos import MultiPolygon, Point, Polygon

from dispatch.models import DutyShift, Force, Member, TravelMode, Unit
from geo.models import BoundaryVersion, Community, Grid, Subdistrict
from incidents.models import Category, Channel

SHANGHAI = ZoneInfo("Asia/Shanghai")
W, S, E, N = 120.49, 30.49, 120.51, 30.51  # away from the demo sub-district


def box(w: float, s: float, e: float, n: float) -> MultiPolygon:
    return MultiPolygon(Polygon.from_bbox((w, s, e, n)), srid=4326)


def make_world(code: str = "T1") -> dict:
    sub = Subdistrict.objects.create(code=code, name=f"测试街道{code}", boundary=box(W, S, E, N))
    community = Community.objects.create(
        subdistrict=sub, code=f"{code}-C1", name="测试社区", kind=Community.Kind.COMMUNITY, boundary=box(W, S, E, N)
    )
    version = BoundaryVersion.objects.create(
        subdistrict=sub, number=1, status=BoundaryVersion.Status.PUBLISHED,
        effective_from=datetime(2019, 1, 1, tzinfo=SHANGHAI), published_at=datetime(2019, 1, 1, tzinfo=SHANGHAI),
    )
    mid = (W + E) / 2
    west = Grid.objects.create(
        version=version, subdistrict=sub, community=community, code=f"{code}-G1", name="第一网格",
        boundary=box(W, S, mid, N),
    )
    east = Grid.objects.create(
        version=version, subdistrict=sub, community=community, code=f"{code}-G2", name="第二网格",
        boundary=box(mid, S, E, N),
    )
    unit = Unit.objects.create(subdistrict=sub, code=f"{code}-U1", name="网格中队", kind=Unit.Kind.GRID_SQUAD)
    member = Member.objects.create(
        subdistrict=sub, unit=unit, code=f"{code}-M1", name="张伟", force=Force.GRID_WORKER, phone="13800000001",
        travel_mode=TravelMode.EBIKE, home=Point(W + 0.001, S + 0.001, srid=4326),
    )
    member.grids.add(west)
    category, _ = Category.objects.get_or_create(
        code="test_dispute", defaults={"name": "测试纠纷", "name_en": "test dispute",
                                       "scope": Category.Scope.NON_POLICE, "statistic_group": "petition"},
    )
    channel, _ = Channel.objects.get_or_create(
        code="test_hotline", defaults={"name": "测试热线", "kind": Channel.Kind.HOTLINE, "phone": "88610000"},
    )
    return {"subdistrict": sub, "community": community, "version": version, "grids": [west, east],
            "unit": unit, "member": member, "category": category, "channel": channel}


def put_on_duty(*members: Member, starts_at: datetime | None = None, ends_at: datetime | None = None) -> None:
    """Give members one long duty shift (default 2019 to 2100): a dispatch refuses members off duty."""
    for member in members:
        DutyShift.objects.create(member=member, starts_at=starts_at or datetime(2019, 1, 1, tzinfo=SHANGHAI),
                                 ends_at=ends_at or datetime(2100, 1, 1, tzinfo=SHANGHAI))


def add_member(world: dict, code: str, name: str, *, unit: Unit | None = None, force: str = Force.GRID_WORKER,
               roles=(), travel_mode: str = TravelMode.EBIKE, phone: str | None = None,
               home: Point | None = None) -> Member:
    """Another member of the world's sub-district (default: in its grid squad). The phone is the
    n-th of the sub-district's members, 1380000nnnn, unless given."""
    n = Member.objects.filter(subdistrict=world["subdistrict"]).count() + 1
    return Member.objects.create(
        subdistrict=world["subdistrict"], unit=unit or world["unit"], code=code, name=name, force=force,
        roles=list(roles), phone=phone or f"1380000{n:04d}", travel_mode=travel_mode,
        home=home or Point(W + 0.002, S + 0.002, srid=4326))


def add_grid_worker(world: dict, code: str | None = None, name: str = "陈静") -> Member:
    """A second grid worker in the world's squad (on foot, 300 m from the corner; code <sub>-M2)."""
    return add_member(world, code or f"{world['subdistrict'].code}-M2", name, travel_mode=TravelMode.FOOT,
                      home=Point(W + 0.003, S + 0.003, srid=4326))


def add_staff(world: dict, unit: Unit, code: str, name: str, *, roles=(), force: str = Force.OFFICE_STAFF) -> Member:
    """A member of an office (by car)."""
    return add_member(world, code, name, unit=unit, force=force, roles=roles, travel_mode=TravelMode.CAR)


def add_office(world: dict) -> Member:
    """The world's labour security office (`world["office"]`) and its officer (`world["officer"]`,
    王芳, on duty when the world's member is); made once, returns the officer."""
    if "officer" not in world:
        sub = world["subdistrict"]
        code = sub.code
        world["office"] = Unit.objects.create(subdistrict=sub, code=f"{code}-LAB", name="劳动保障中队",
                                              kind=Unit.Kind.LABOUR_SECURITY)
        world["officer"] = add_staff(world, world["office"], f"{code}-O1", "王芳", force=Force.LABOUR_INSPECTION)
        if DutyShift.objects.filter(member=world["member"]).exists():
            put_on_duty(world["officer"])
    return world["officer"]


def make_user(username: str, *roles: str, member: Member | None = None, tenants: Iterable[Subdistrict] | None = None):
    """A user with these roles (password `pw-<username>`), linked to `member` if given, working in
    the sub-districts `tenants` (geo.models.Tenancy) — by default in every sub-district there is when
    the user is made (the tests' worlds are made first); `tenants=()` for none."""
    from django.contrib.auth.models import Group, User

    from geo.models import Tenancy

    user = User.objects.create_user(username=username, password="pw-" + username)
    for role in roles:
        user.groups.add(Group.objects.get_or_create(name=role)[0])
    if member is not None:
        member.user = user
        member.save(update_fields=["user"])
    places = Subdistrict.objects.all() if tenants is None else tenants
    Tenancy.objects.bulk_create([Tenancy(user=user, subdistrict=sub) for sub in places])
    return user


def make_channels() -> dict:
    district, _ = Channel.objects.get_or_create(
        code="t_district_order", defaults={"name": "区级联动中心任务派单", "kind": Channel.Kind.DISTRICT_ORDER})
    joint, _ = Channel.objects.get_or_create(
        code="t_joint_assignment", defaults={"name": "联席会商交办单", "kind": Channel.Kind.JOINT_ASSIGNMENT})
    hotline, _ = Channel.objects.get_or_create(
        code="t_hotline_110", defaults={"name": "社会110联动", "kind": Channel.Kind.HOTLINE, "phone": "88611155"})
    return {"district": district, "joint": joint, "hotline": hotline}


def api_client(user=None, language: str | None = "en", **defaults):
    """A DRF test client, authenticated as `user` (anonymous without), asking for `language`
    (English by default: the tests read messages; None sends no Accept-Language, so the forces'
    language, LANGUAGE_CODE, answers)."""
    from rest_framework.test import APIClient

    if language is not None:
        defaults["HTTP_ACCEPT_LANGUAGE"] = language
    client = APIClient(**defaults)
    if user is not None:
        client.force_authenticate(user)
    return client


def run_async(coroutine_function, *args):
    """Run a coroutine on a fresh event loop in a thread of its own. Tests without the database run
    last (pytest-django's order), beside the browser tests, whose session-long Playwright marks a
    loop as running in the main thread: there `asyncio.run` and `async_to_sync` refuse to start."""
    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(asyncio.run, coroutine_function(*args)).result()


def own_connection():
    """A PostgreSQL connection of the test's own, outside Django's (autocommit): to hold a lock or
    watch another process's session while Django's connections work."""
    import psycopg2
    from django.db import connection

    db = connection.settings_dict
    params = {"dbname": db["NAME"], "user": db.get("USER"), "password": db.get("PASSWORD"),
              "host": db.get("HOST"), "port": db.get("PORT")}
    conn = psycopg2.connect(**{k: v for k, v in params.items() if v})
    conn.autocommit = True
    return conn
