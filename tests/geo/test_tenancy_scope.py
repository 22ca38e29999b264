"""A user of one sub-district meets another's as if it did not exist (404), takes cases in only for
their own, and a user of several chooses, once, what a page is about (geo/tenancy.py)."""

import pytest
from asgiref.sync import async_to_sync
from django.contrib.gis.geos import Point

from config.errors import DomainError
from config.roles import UserRole
from geo.models import Tenancy
from geo.tenancy import SESSION_KEY
from incidents.models import Incident, Report
from incidents.services import incident_intake
from tests.factories import make_user
from tests.wall.test_wall_socket import closed_with, socket
from wall.consumers import CLOSE_NOT_FOUND

INCIDENTS = "/api/v1/incidents/"
INSIDE = Point(120.495, 30.495, srid=4326)  # inside both squares (tests.factories: the worlds overlap)


def other_case(world, other_world):
    """A case of the other sub-district, taken in by its own command room."""
    taker = make_user("t2-taker", UserRole.CALL_TAKER, tenants=[other_world["subdistrict"]])
    return incident_intake(channel=world["hotline"], category=world["category"], description="别处的事",
                           actor=taker, location=INSIDE, subdistrict=other_world["subdistrict"]).incident


def test_another_sub_districts_cases_lists_and_wall_are_404(world, other_world, api_as, users):
    case = other_case(world, other_world)
    client = api_as("dispatcher")
    assert client.get(INCIDENTS, {"subdistrict": "T1"}).status_code == 200
    assert client.get(INCIDENTS, {"subdistrict": "T2"}).status_code == 404
    assert client.get(f"{INCIDENTS}{case.pk}/").status_code == 404
    moved = client.post(f"{INCIDENTS}{case.pk}/transitions/", {"action": "verify"}, format="json")
    assert moved.status_code == 404
    assert Incident.objects.get(pk=case.pk).status == case.status  # nothing changed
    assert client.get("/api/v1/wall/T2/state/").status_code == 404
    assert client.get(f"/api/v1/wall/T2/incidents/{case.pk}/").status_code == 404
    assert client.get("/api/v1/geo/grids/", {"subdistrict": "T2"}).status_code == 404
    codes = {s["properties"]["code"] if "properties" in s else s["code"]
             for s in _features(client.get("/api/v1/geo/subdistricts/").json())}
    assert codes == {"T1"}
    # the sub-district's own command room sees it
    own = api_as(make_user("t2-disp", UserRole.DISPATCHER, tenants=[other_world["subdistrict"]]))
    assert own.get(f"{INCIDENTS}{case.pk}/").status_code == 200


def _features(body):
    return body["features"] if isinstance(body, dict) else body


@pytest.mark.django_db(transaction=True)
def test_the_wall_socket_of_another_sub_district_closes_as_unknown(world, other_world, users):
    assert async_to_sync(closed_with)(socket("/ws/wall/T2/", users.command_room)) == CLOSE_NOT_FOUND


def test_a_case_is_taken_in_only_for_the_takers_own_sub_district(world, other_world, api_as, users):
    before = Report.objects.count()
    body = {"channel": world["hotline"].code, "category": world["category"].code, "description": "别的街道的事",
            "location": {"type": "Point", "coordinates": [120.495, 30.495]}}
    refused = api_as("call_taker").post(INCIDENTS, {**body, "subdistrict": "T2"}, format="json")
    assert refused.status_code == 400 and refused.json()["code"] == "not_your_subdistrict", refused.content
    assert Report.objects.count() == before  # nothing saved
    with pytest.raises(DomainError) as error:
        incident_intake(channel=world["hotline"], category=world["category"], description="越界",
                        actor=users.call_taker, location=INSIDE, subdistrict=other_world["subdistrict"])
    assert error.value.code == "not_your_subdistrict"
    assert api_as("call_taker").post(INCIDENTS, {**body, "subdistrict": "T1"}, format="json").status_code == 201


def test_a_user_of_several_chooses_and_the_choice_is_kept(world, other_world, page_as, api_as):
    both = make_user("both", UserRole.DISPATCHER, tenants=[world["subdistrict"], other_world["subdistrict"]])
    refused = api_as(both).get(INCIDENTS)
    assert refused.status_code == 400
    assert refused.json()["code"] == "choose_subdistrict" and refused.json()["choices"] == ["T1", "T2"]

    browser = page_as(both)
    chooser = browser.get("/console/")
    assert chooser.status_code == 200 and 'data-testid="choose-subdistrict"' in chooser.text
    assert "/console/?subdistrict=T1" in chooser.text and "/console/?subdistrict=T2" in chooser.text
    assert browser.get("/console/", {"subdistrict": "T2"}).status_code == 200
    assert browser.session[SESSION_KEY] == "T2"
    again = browser.get("/console/")  # no code: the one chosen
    assert again.status_code == 200 and 'data-testid="choose-subdistrict"' not in again.text
    assert '"code": "T2"' in again.text
    # the header offers the switch; the switch page lists both, back to where the user was
    assert 'data-testid="choose-subdistrict-link"' in again.text
    switch = browser.get("/choose/", {"next": "/console/?x=1"})
    assert "/console/?x=1&amp;subdistrict=T1" in switch.text
    assert "https://evil.example" not in browser.get("/choose/", {"next": "https://evil.example/"}).text


def test_a_district_centre_user_sees_every_sub_district_of_the_district(world, other_world, api_as):
    for w in (world, other_world):
        w["subdistrict"].district = "余杭区"
        w["subdistrict"].save(update_fields=["district"])
    centre = make_user("centre-user", UserRole.LEADER, tenants=())
    Tenancy.objects.create(user=centre, district="余杭区")
    client = api_as(centre)
    assert client.get(INCIDENTS, {"subdistrict": "T1"}).status_code == 200
    assert client.get(INCIDENTS, {"subdistrict": "T2"}).status_code == 200
