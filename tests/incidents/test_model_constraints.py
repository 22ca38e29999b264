"""The database itself refuses rows that break the model's invariants."""

from datetime import datetime, timedelta

import pytest
from django.contrib.gis.geos import LineString, MultiPolygon, Point, Polygon
from django.db import IntegrityError, transaction

from dispatch.models import DutyShift
from geo.models import BoundaryVersion, Community, Grid, Road
from incidents.models import Category, Incident, IncidentEvent, Status
from tests.factories import SHANGHAI, E, N, S, W, box

pytestmark = pytest.mark.django_db

T0 = datetime(2026, 11, 1, 9, 0, tzinfo=SHANGHAI)


def refused(**kwargs):
    """Context: the statement must fail with IntegrityError and leave nothing behind."""
    return pytest.raises(IntegrityError, **kwargs)


def incident(world, **overrides) -> Incident:
    fields = {
        "subdistrict": world["subdistrict"], "number": "20261101-0001", "channel": world["channel"],
        "category": world["category"], "description": "楼上漏水,邻里发生争执", "reported_at": T0,
        "location": Point(W + 0.005, S + 0.005, srid=4326), "grid": world["grids"][0],
    }
    fields.update(overrides)
    return Incident(**fields)


def test_grid_outside_its_subdistrict_is_refused(world):
    with refused(match="outside its sub-district"), transaction.atomic():
        Grid.objects.create(
            version=world["version"], subdistrict=world["subdistrict"], community=world["community"],
            code="T1-G9", name="越界网格", boundary=box(E - 0.001, S, E + 0.01, N),
        )
    assert not Grid.objects.filter(code="T1-G9").exists()


def test_grid_sharing_the_boundary_edge_is_accepted(world):
    # A grid whose edge lies on the sub-district's edge is covered, not outside.
    Grid.objects.create(
        version=world["version"], subdistrict=world["subdistrict"], community=world["community"],
        code="T1-G3", name="边界网格", boundary=box(W, S, W + 0.002, S + 0.002),
    )


def test_moving_a_grid_out_by_update_is_refused(world):
    grid = world["grids"][1]
    grid.boundary = box(E, S, E + 0.01, N)
    with refused(), transaction.atomic():
        grid.save()


def test_community_outside_its_subdistrict_is_refused(world):
    with refused(), transaction.atomic():
        Community.objects.create(
            subdistrict=world["subdistrict"], code="T1-C9", name="外部社区", kind="village",
            boundary=box(E + 0.01, S, E + 0.02, N),
        )


def test_self_intersecting_grid_is_refused(world):
    bowtie = Polygon(((W, S), (E, N), (E, S), (W, N), (W, S)), srid=4326)
    with refused(match="grid_boundary_valid"), transaction.atomic():
        Grid.objects.create(
            version=world["version"], subdistrict=world["subdistrict"], community=world["community"],
            code="T1-GX", name="自交网格", boundary=MultiPolygon(bowtie, srid=4326),
        )


def test_published_version_needs_an_effective_time(world):
    with refused(match="boundary_version_published_has_times"), transaction.atomic():
        BoundaryVersion.objects.create(subdistrict=world["subdistrict"], number=2, status="published")
    BoundaryVersion.objects.create(subdistrict=world["subdistrict"], number=2, status="draft")


def test_incident_without_a_point_is_refused(world):
    with refused(match="incident_has_point"), transaction.atomic():
        incident(world, location=None).save()
    assert not Incident.objects.exists()


def test_incident_waiting_for_a_location_may_lack_a_point(world):
    incident(world, location=None, grid=None, status=Status.NEEDS_LOCATION).save()


def test_closed_incident_needs_closed_at_and_open_one_must_not_have_it(world):
    with refused(match="incident_closed_at_iff_closed"), transaction.atomic():
        incident(world, status=Status.CLOSED).save()
    with refused(match="incident_closed_at_iff_closed"), transaction.atomic():
        incident(world, status=Status.NEW, closed_at=T0).save()
    with refused(match="incident_closed_after_reported"), transaction.atomic():
        incident(world, status=Status.CLOSED, closed_at=T0 - timedelta(hours=1)).save()
    incident(world, status=Status.CLOSED, closed_at=T0 + timedelta(hours=2)).save()


def test_empty_description_is_refused(world):
    with refused(match="incident_description_not_empty"), transaction.atomic():
        incident(world, description="").save()


def test_same_channel_and_external_id_twice_is_refused(world):
    incident(world, external_id="QX-1").save()
    with refused(match="incident_channel_external_id_unique"), transaction.atomic():
        incident(world, number="20261101-0002", external_id="QX-1").save()
    # Without an external id (hotline calls) there is no such limit.
    incident(world, number="20261101-0003").save()
    incident(world, number="20261101-0004").save()


def test_timeline_is_append_only(world):
    case = incident(world)
    case.save()
    event = IncidentEvent.objects.create(
        incident=case, subdistrict=world["subdistrict"], kind="created", to_status="new", at=T0
    )
    with refused(match="append-only"), transaction.atomic():
        IncidentEvent.objects.filter(pk=event.pk).update(note="rewritten")
    with refused(match="append-only"), transaction.atomic():
        IncidentEvent.objects.filter(pk=event.pk).delete()
    assert IncidentEvent.objects.get(pk=event.pk).note == ""


def test_duty_shifts_of_one_member_never_overlap(world):
    member = world["member"]
    DutyShift.objects.create(member=member, starts_at=T0, ends_at=T0 + timedelta(hours=8))
    with refused(match="shift_no_overlap"), transaction.atomic():
        DutyShift.objects.create(member=member, starts_at=T0 + timedelta(hours=7), ends_at=T0 + timedelta(hours=12))
    # Back to back is fine: ranges are half-open.
    DutyShift.objects.create(member=member, starts_at=T0 + timedelta(hours=8), ends_at=T0 + timedelta(hours=16))
    with refused(match="shift_ends_after_start"), transaction.atomic():
        DutyShift.objects.create(member=member, starts_at=T0 + timedelta(days=2), ends_at=T0 + timedelta(days=1))


def test_member_phone_must_look_like_a_phone(world):
    member = world["member"]
    member.phone = "<script>"
    with refused(match="member_phone_format"), transaction.atomic():
        member.save()


def test_road_constraints(world):
    line_kwargs = {"subdistrict": world["subdistrict"], "name": "测试路", "road_class": "local",
                   "line": LineString((W, S), (W + 0.001, S), srid=4326)}
    with refused(match="road_speed_positive"), transaction.atomic():
        Road.objects.create(speed_kmh=0, source=1, target=2, length_m=96, **line_kwargs)
    with refused(match="road_not_a_loop"), transaction.atomic():
        Road.objects.create(speed_kmh=30, source=1, target=1, length_m=96, **line_kwargs)
    Road.objects.create(speed_kmh=30, source=1, target=2, length_m=96, **line_kwargs)


def test_police_type_category_must_have_police_scope():
    with refused(match="category_police_scope"), transaction.atomic():
        Category.objects.create(code="x", name="x", name_en="x", scope="fire", is_police=True, statistic_group="fire")
