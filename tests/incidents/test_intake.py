"""Intake from every channel: idempotency under concurrent retries, duplicates and linking, the
"needs location" queue, outside-jurisdiction points, bad input, the gazetteer, and the result
callback to the district centre against a real local HTTP server."""

import json
import threading
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from django.contrib.gis.geos import Point
from django.db import connection
from django.utils import timezone

from config.errors import DomainError
from config.roles import UserRole
from dispatch.services import incident_merge, incident_transition
from geo.gazetteer import address_search, geocode, normalize_address
from geo.models import Address, Place
from incidents.feedback import feedback_deliver_due
from incidents.models import FeedbackDelivery, Incident, IncidentEvent, Report, Status
from incidents.services import (
    duplicate_candidates,
    incident_intake,
    incident_locate,
)
from incidents.validators import id_check_digit, validate_id_number
from tests.factories import E, N, S, W, make_user

P = Point(W + 0.004, S + 0.004, srid=4326)


@pytest.fixture
def ctx(world, users):
    """The shared world with its call-taker, dispatcher and the district centre's system, and a
    gazetteer: a residential complex and its addresses."""
    world.update(calltaker=users.call_taker, dispatcher=users.dispatcher, centre=users.integration)
    sub = world["subdistrict"]
    garden = Place.objects.create(subdistrict=sub, kind="residential_complex", name="金桂花园",
                                  location=Point(W + 0.012, S + 0.012, srid=4326))
    for text, dx, place in [("良睦路1288号", 0.003, None), ("良睦路1290号", 0.0035, None),
                            ("文一西路998号", 0.015, None), ("金桂花园3幢", 0.012, garden),
                            ("金桂花园3幢2单元", 0.012, garden), ("金桂花园5幢", 0.0125, garden)]:
        Address.objects.create(subdistrict=sub, text=text, place=place, location=Point(W + dx, S + dx, srid=4326))
    return world


def intake(ctx, **kw):
    fields = {"channel": ctx["hotline"], "category": ctx["category"], "description": "邻居装修噪音扰民",
              "actor": ctx["calltaker"], "location": P}
    fields.update(kw)
    return incident_intake(**fields)


# --- idempotency -------------------------------------------------------------------------------

@pytest.mark.django_db(transaction=True)
def test_twenty_concurrent_identical_orders_make_one_incident(world, users):
    centre = users.integration
    results, errors = [], []
    barrier = threading.Barrier(20)

    def post():
        try:
            barrier.wait()
            r = incident_intake(channel=world["district"], category=world["category"], description="区级派单:噪音扰民",
                                actor=centre, location=P, external_id="QX-2026-000123")
            results.append((r.incident.pk, r.created))
        except Exception as exc:  # noqa: BLE001 - collected and asserted below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=post) for _ in range(20)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert len({pk for pk, _ in results}) == 1
    assert sum(created for _, created in results) == 1
    assert Incident.objects.count() == 1 and Report.objects.count() == 1
    assert IncidentEvent.objects.filter(kind="created").count() == 1


def test_the_same_order_again_returns_the_existing_incident(ctx):
    first = intake(ctx, channel=ctx["district"], external_id="QX-1", actor=ctx["centre"])
    again = intake(ctx, channel=ctx["district"], external_id="QX-1", actor=ctx["centre"], description="重复推送")
    assert first.created and not again.created and again.incident.pk == first.incident.pk
    assert Incident.objects.count() == 1


def test_case_numbers_are_per_day_and_distinct(ctx):
    a, b = intake(ctx).incident, intake(ctx).incident
    day = timezone.localdate().strftime("%Y%m%d")
    assert a.number.startswith(day) and b.number.startswith(day) and a.number != b.number


# --- duplicates and linking ---------------------------------------------------------------------

def test_nearby_open_incidents_are_offered_as_duplicates_and_linking_keeps_one(ctx):
    first = intake(ctx, caller_name="张先生", caller_phone="13900000001").incident
    second = intake(ctx, location=Point(P.x + 0.0005, P.y, srid=4326), caller_name="王女士")
    assert [i.pk for i in second.duplicates] == [first.pk]
    far = intake(ctx, location=Point(E - 0.001, N - 0.001, srid=4326))
    assert first.pk not in [i.pk for i in far.duplicates]
    # At intake: the call-taker links the call to the open case instead of opening one.
    linked = intake(ctx, link_to=first.pk, caller_name="赵先生", caller_phone="13900000003")
    assert not linked.created and linked.incident.pk == first.pk
    # After intake: the second case is merged into the first.
    incident_merge(incident_id=second.incident.pk, into_id=first.pk, actor=ctx["dispatcher"])
    second.incident.refresh_from_db()
    assert second.incident.status == Status.MERGED and second.incident.merged_into_id == first.pk
    assert sorted(first.reports.values_list("caller_name", flat=True)) == ["张先生", "王女士", "赵先生"]
    assert first.events.filter(kind=IncidentEvent.Kind.REPORT_LINKED).count() == 2


def test_old_or_closed_incidents_are_not_duplicates(ctx):
    old = intake(ctx, reported_at=timezone.now() - timedelta(days=2)).incident
    new = intake(ctx).incident
    assert old.pk not in [i.pk for i in duplicate_candidates(incident=new)]


# --- location ------------------------------------------------------------------------------------

def test_an_order_whose_address_cannot_be_found_waits_for_a_location(ctx):
    result = intake(ctx, channel=ctx["district"], external_id="QX-9", actor=ctx["centre"], location=None,
                    address_text="火星路1号")
    case = result.incident
    assert case.status == Status.NEEDS_LOCATION and case.location is None and case.grid is None
    incident_locate(incident_id=case.pk, point=P, actor=ctx["dispatcher"])
    case.refresh_from_db()
    assert case.status == Status.NEW and case.grid == ctx["grids"][0]
    assert case.events.filter(kind=IncidentEvent.Kind.LOCATED).exists()


def test_an_address_the_gazetteer_knows_is_geocoded(ctx):
    case = intake(ctx, location=None, address_text="金桂花园3栋").incident
    assert case.status == Status.NEW
    assert case.place.name == "金桂花园" and case.location.equals_exact(
        Address.objects.get(text="金桂花园3幢").location, 1e-9)


def test_a_point_just_outside_is_taken_as_outside_jurisdiction(ctx):
    case = intake(ctx, location=Point(E + 0.005, S + 0.005, srid=4326)).incident  # ~500 m east
    assert case.outside_jurisdiction and case.grid is None and case.status == Status.NEW


def test_a_point_far_away_is_refused_and_nothing_is_saved(ctx):
    with pytest.raises(DomainError) as err:
        intake(ctx, location=Point(121.47, 31.23, srid=4326))  # Shanghai
    assert err.value.code == "location"
    with pytest.raises(DomainError):
        intake(ctx, location=Point(200, 95, srid=4326))
    with pytest.raises(DomainError):
        intake(ctx, location=None, address_text="")
    assert not Incident.objects.exists() and not Report.objects.exists()


# --- bad input -----------------------------------------------------------------------------------

@pytest.mark.parametrize(("kw", "code"), [
    ({"description": ""}, "required"),
    ({"description": "长" * 4001}, "too_long"),
    ({"caller_phone": "call me maybe"}, "phone"),
    ({"channel": "district", "external_id": None}, "external_id"),
    ({"channel": "joint"}, "offices"),
])
def test_bad_input_is_refused_with_a_reason_and_leaves_nothing(ctx, kw, code):
    if "channel" in kw:
        kw["channel"] = ctx[kw["channel"]]
    with pytest.raises(DomainError) as err:
        intake(ctx, **kw)
    assert err.value.code == code
    assert not Incident.objects.exists() and not Report.objects.exists()


def test_html_in_a_description_is_kept_as_text(ctx):
    case = intake(ctx, description='<script>alert("x")</script> 有人打架').incident
    case.refresh_from_db()
    assert case.description == '<script>alert("x")</script> 有人打架'


def test_only_intake_roles_may_take_reports(ctx):
    planner = make_user("plan", UserRole.PLANNER)
    with pytest.raises(DomainError) as err:
        intake(ctx, actor=planner)
    assert err.value.http_status == 403


# --- gazetteer ----------------------------------------------------------------------------------

@pytest.mark.parametrize(("query", "expected"), [
    ("良睦路1288号", "良睦路1288号"),
    ("良睦路1288", "良睦路1288号"),       # partial
    ("良木路1288号", "良睦路1288号"),     # a wrong character
    ("金桂花园3栋", "金桂花园3幢"),        # 栋 for 幢
    ("花园3幢", "金桂花园3幢"),           # missing the name's start
    ("金桂花园３幢２单元", "金桂花园3幢2单元"),  # full-width digits
])
def test_gazetteer_finds_partial_and_slightly_wrong_text(ctx, query, expected):
    matches = address_search(ctx["subdistrict"], query)
    assert matches and matches[0].address.text == expected


def test_geocode_refuses_to_guess(ctx):
    assert geocode(ctx["subdistrict"], "火星路1号") is None
    assert geocode(ctx["subdistrict"], "良睦路1288号").text == "良睦路1288号"
    assert normalize_address(" 金桂花园 3号楼 ") == "金桂花园3幢"


# --- ID numbers ---------------------------------------------------------------------------------

def test_id_number_check_digit():
    assert id_check_digit("11010519491231002") == "X"
    assert validate_id_number("11010519491231002x") == "11010519491231002X"
    for bad in ["11010519491231002", "110105194912310021", "11010519491332002X", "abc"]:
        with pytest.raises(DomainError):
            validate_id_number(bad)


# --- result callback to the district centre ------------------------------------------------------

class FlakyCentre(BaseHTTPRequestHandler):
    """Plays the district linkage centre: fails twice, then acknowledges."""

    failures_left = 2
    received: list = []

    def do_POST(self):  # noqa: N802 - http.server's naming
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        type(self).received.append(body)
        if type(self).failures_left > 0:
            type(self).failures_left -= 1
            self.send_response(503)
            self.end_headers()
            self.wfile.write(b"busy")
            return
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(b'{"ack": true}')

    def log_message(self, *args):
        pass


@pytest.fixture
def centre_server():
    FlakyCentre.failures_left, FlakyCentre.received = 2, []
    server = ThreadingHTTPServer(("127.0.0.1", 0), FlakyCentre)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/callback"
    server.shutdown()


def test_result_is_posted_back_and_retried_with_backoff_until_acknowledged(ctx, centre_server):
    ctx["district"].callback_url = centre_server
    ctx["district"].save()
    case = intake(ctx, channel=ctx["district"], external_id="QX-77", actor=ctx["centre"]).incident
    Incident.objects.filter(pk=case.pk).update(status=Status.RESOLVED, resolved_at=timezone.now())
    incident_transition(incident_id=case.pk, action="feed_back", actor=ctx["dispatcher"], text="已处置完毕")
    delivery = FeedbackDelivery.objects.get(incident=case)
    t0 = timezone.now()
    assert feedback_deliver_due(now=t0) == 1
    delivery.refresh_from_db()
    assert delivery.state == "pending" and delivery.attempts == 1
    first_retry = delivery.next_attempt_at
    assert feedback_deliver_due(now=t0) == 0  # not due yet
    assert feedback_deliver_due(now=first_retry) == 1
    delivery.refresh_from_db()
    assert delivery.next_attempt_at - first_retry > first_retry - t0  # the wait doubles
    assert feedback_deliver_due(now=delivery.next_attempt_at) == 1
    delivery.refresh_from_db()
    assert delivery.state == "delivered" and delivery.attempts == 3
    assert [a.http_status for a in delivery.attempt_log.all()] == [503, 503, 200]
    assert FlakyCentre.received[-1]["external_id"] == "QX-77" and FlakyCentre.received[-1]["result"] == "已处置完毕"
    assert case.events.filter(kind=IncidentEvent.Kind.FEEDBACK_DELIVERED).count() == 1
    assert feedback_deliver_due(now=delivery.next_attempt_at + timedelta(hours=2)) == 0
