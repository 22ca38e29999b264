"""The schema-driven fuzz run (issue 11): schemathesis generates requests from the OpenAPI document
(/api/schema/, loaded once through the app) for every operation, as each role, and sends them to
the ASGI app in-process (Django's ASGI handler, the HTTP half of config.asgi.application: the same
middleware and views as a real server, each request in the handler's worker thread with its own
database connection — so the data below is committed: a transactional test).

Every answer must be a 4xx or a success, never a server error, and match the document: a declared
status code, its content type and its body's schema (schemathesis' `not_a_server_error`,
`status_code_conformance`, `content_type_conformance`, `response_schema_conformance`). The document
declares the refusals (400/401/403/404/409/422) centrally (config/schema.py).

Bounded and deterministic (CI's budget): Hypothesis derandomized, a few examples per operation and
role, no shrinking, no stateful phase. Per operation and role: one probe first; a role the view
refuses (DRF's 403 without a `code`: the role check, before anything else runs) is done with it.
A role it admits gets valid requests ("positive"), with the path naming records that exist where
the fixture has one (an incident, an order, a hand-over, …) and with generated ids, then requests
that break the document ("negative": wrong types, missing fields, out-of-range values, strange
strings). Nothing is excluded.

A failure lists every operation, role and mode that failed with schemathesis' report and a curl
line to reproduce it."""

import os
import time
from collections import Counter
from datetime import timedelta

import pytest
import schemathesis
from django.contrib.gis.geos import Point
from django.core.management import call_command
from django.urls import reverse
from django.utils import timezone
from hypothesis import HealthCheck, Phase, given
from hypothesis import settings as hypothesis_settings
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient
from schemathesis.checks import not_a_server_error
from schemathesis.generation import GenerationMode
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from config.roles import UserRole
from dispatch.models import Alarm, DispatchOrder, Force, Member, TravelMode, Unit
from dispatch.services import incident_transition
from incidents.models import CallbackTask, Handover
from incidents.services import incident_intake, party_register
from tests.factories import S, W, make_channels, make_user, make_world, put_on_duty

CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]
ROLES = (UserRole.DISPATCHER, UserRole.CALL_TAKER, UserRole.COMMAND_ROOM, UserRole.LEADER, UserRole.PLANNER,
         UserRole.DEPARTMENT, UserRole.RESPONDER, UserRole.INTEGRATION)
# Examples: per operation and admitted role, valid requests naming existing records (after the probe,
# which names them too); per operation (as one admitted role), valid requests with generated ids and
# requests that break the document.
# GRIDLINK_FUZZ_SCALE multiplies them for a longer run by hand.
SCALE = int(os.environ.get("GRIDLINK_FUZZ_SCALE", "1"))
EXAMPLES = {"known": 1 * SCALE, "positive": 5 * SCALE, "negative": 5 * SCALE}
SCENE = Point(W + 0.004, S + 0.004, srid=4326)


@pytest.fixture
def fuzz_world(settings):
    """One sub-district (tests/factories.py) with a user of each role and their API tokens, and a
    record of each kind the paths name: a dispatched case with its order, a person and an alarm, a
    case assigned to an office, a case waiting for a location, a call-back."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]  # eight users
    world = make_world()
    world.update(make_channels())
    sub, member = world["subdistrict"], world["member"]
    office = Unit.objects.create(subdistrict=sub, code="T1-LAB", name="劳动保障中队", kind=Unit.Kind.LABOUR_SECURITY)
    clerk = Member.objects.create(subdistrict=sub, unit=office, code="T1-L1", name="王芳", force=Force.OFFICE_STAFF,
                                  phone="13900000002", travel_mode=TravelMode.CAR, home=SCENE)
    put_on_duty(member)
    linked = {UserRole.RESPONDER: member, UserRole.DEPARTMENT: clerk}
    users = {role: make_user(f"fuzz-{role}", role, member=linked.get(role)) for role in ROLES}
    dispatcher = users[UserRole.DISPATCHER]

    def intake(**kw):
        return incident_intake(channel=world["hotline"], category=world["category"], actor=dispatcher,
                               description="小区门口两人因停车发生争执", caller_name="李雷", caller_phone="13700000003",
                               **kw).incident

    on_site = intake(location=SCENE, address_text="幸福路 1 号")
    incident_transition(incident_id=on_site.pk, action="dispatch", actor=dispatcher, members=[member],
                        method=DispatchOrder.Method.PHONE)
    order = DispatchOrder.objects.get(incident=on_site)
    party = party_register(incident_id=on_site.pk, actor=dispatcher, name="韩梅梅", phone="13600000004",
                           id_number="11010519491231002X")
    now = timezone.now()
    alarm = Alarm.objects.create(subdistrict=sub, incident=on_site, order=order, kind=Alarm.Kind.ARRIVAL_OVERDUE,
                                 due_at=now - timedelta(minutes=1), raised_at=now, notified=[member.pk])
    assigned = incident_intake(channel=world["joint"], category=world["category"], actor=dispatcher,
                               description="联席会商交办:某小区拖欠工资", address_text="幸福路 8 号",
                               subdistrict=sub, offices=[office]).incident
    intake(address_text="不知道在哪里")  # the needs-location queue
    callback = CallbackTask.objects.create(incident=on_site, phone="13700000003", name="李雷", created_at=now)
    return {
        "tokens": {role: Token.objects.create(user=user).key for role, user in users.items()},
        # Path parameters naming existing records, by the path segment before them.
        "known": {"incidents": on_site.pk, "orders": order.pk, "parties": party.pk, "alarms": alarm.pk,
                  "parts": Handover.objects.get(incident=assigned).pk, "members": member.pk,
                  "callbacks": callback.pk, "code": sub.code, "service_request_id": on_site.number},
    }


def known_path_parameters(operation, known: dict) -> dict | None:
    """The operation's path parameters set to records that exist (None if one cannot be)."""
    segments = operation.path.strip("/").split("/")
    values = {}
    for parameter in operation.path_parameters:
        name = parameter.name
        if name in known:
            values[name] = known[name]
            continue
        template = "{" + name + "}"
        index = next((i for i, s in enumerate(segments) if s == template or s.startswith(template)), None)
        if name == "fmt":
            values[name] = "json"
        elif index and segments[index - 1] in known:
            values[name] = known[segments[index - 1]]
        else:
            return None
    return values


def negatable(operation) -> bool:
    """Whether a request can break the document (else a negative run finds no example to make): a
    body, or a parameter that is required or constrained beyond "any string" (a query value, a path
    segment or a header is a string on the wire)."""
    if operation.body:
        return True
    parameters = [*operation.path_parameters, *operation.query, *operation.headers]
    for parameter in parameters:
        definition = parameter.definition
        schema = definition.get("schema", {})
        if definition.get("required") and definition.get("in") != "path":
            return True
        if schema.get("type", "string") != "string" or set(schema) & {"enum", "format", "pattern", "minLength",
                                                                        "maxLength"}:
            return True
    return False


def _json(response):
    try:
        return response.json()
    except ValueError:
        return None


class Refused(Exception):
    """The role check refused the probe: nothing further to learn as this role."""


def _run(operation, *, token: str, mode: GenerationMode, examples: int, path_parameters=None, probe=False,
         statuses: Counter):
    strategy = operation.as_strategy(generation_mode=mode, path_parameters=path_parameters)

    @hypothesis_settings(max_examples=examples, derandomize=True, database=None, deadline=None,
                         phases=[Phase.explicit, Phase.generate], suppress_health_check=list(HealthCheck))
    @given(case=strategy)
    def run(case):
        if case.query is not None and "api_key" in case.query:
            case.query["api_key"] = token  # Open311's key: this role's token
        response = case.call(headers={"Authorization": f"Token {token}"})
        statuses[response.status_code] += 1
        case.validate_response(response, checks=CHECKS)
        body = _json(response) if probe and response.status_code == 403 else None
        if isinstance(body, dict) and "code" not in body:
            raise Refused

    run()


@pytest.mark.django_db(transaction=True)
def test_every_operation_as_every_role_answers_no_5xx_and_as_documented(fuzz_world, capsys):
    from config.asgi import django_asgi_app

    world = fuzz_world
    tokens = world["tokens"]
    began = time.monotonic()
    schema = schemathesis.openapi.from_asgi("/api/schema/?format=json", django_asgi_app,
                                           headers={"Authorization": f"Token {tokens[UserRole.COMMAND_ROOM]}"})
    loaded = time.monotonic() - began
    failures, statuses, pairs, admitted_pairs = [], Counter(), 0, 0

    def attempt(operation, role: str, name: str, mode=GenerationMode.POSITIVE, **kwargs) -> bool:
        """One run; False when the role check refused the probe."""
        try:
            _run(operation, token=tokens[role], mode=mode, probe=name == "probe", statuses=statuses, **kwargs)
        except Refused:
            return False
        except (Exception, BaseExceptionGroup) as exc:  # noqa: BLE001 - every failure is reported below
            failures.append(f"{operation.label} as {role} ({name}):\n{exc}")
        return True

    for index, result in enumerate(schema.get_all_operations()):
        operation = result.ok()
        known = known_path_parameters(operation, world["known"]) if operation.path_parameters else None
        admitted = []
        for role in ROLES:
            pairs += 1
            if attempt(operation, role, "probe", examples=1, path_parameters=known):
                admitted.append(role)
                if known:
                    attempt(operation, role, "known", examples=EXAMPLES["known"], path_parameters=known)
        admitted_pairs += len(admitted)
        if admitted:  # what a view makes of its input does not depend on the role: one role each, in turn
            role = admitted[index % len(admitted)]
            attempt(operation, role, "positive", examples=EXAMPLES["positive"])
            if negatable(operation):
                attempt(operation, role, "negative", mode=GenerationMode.NEGATIVE, examples=EXAMPLES["negative"])
    with capsys.disabled():
        print(f"\nfuzz: {pairs} operation×role pairs ({admitted_pairs} admitted), {sum(statuses.values())} requests "
              f"{dict(sorted(statuses.items()))}; schema {loaded:.0f} s, total {time.monotonic() - began:.0f} s")
    assert not failures, f"{len(failures)} failures:\n\n" + "\n\n".join(failures)


# --- the document itself, and what the fuzz run found ----------------------------------------------

def test_the_document_is_valid_openapi_without_warnings(tmp_path):
    """drf-spectacular's own check: the document validates against the OpenAPI 3 schema, and no
    warning (an enum naming collision, a field it could not type) is left."""
    call_command("spectacular", "--validate", "--fail-on-warn", "--file", str(tmp_path / "schema.yaml"))


@pytest.mark.django_db
def test_an_unknown_api_address_answers_json_not_a_page(client):
    """A path the router does not match (`/api/v1/incidents/1.5/`, a float where an id goes) was
    Django's HTML 404 page; the APIs answer their own error shapes."""
    api = client.get("/api/v1/incidents/1.5/")
    assert (api.status_code, api["Content-Type"]) == (404, "application/json")
    assert api.json()["code"] == "not_found" and api.json()["detail"]
    assert client.get("/api/v1/no-such-thing/").json()["code"] == "not_found"
    open311 = client.get("/open311/v2/requests/a/b.json")
    assert open311.status_code == 404 and open311.json()[0]["code"] == 404
    page = client.get("/no-such-page/")
    assert page.status_code == 404 and page["Content-Type"].startswith("text/html")


@pytest.mark.django_db
@pytest.mark.parametrize(("day", "status"), [("0007-06-08", 400), ("1999-12-31", 400), ("2000-01-01", 200)])
def test_a_replay_before_2000_is_refused(day, status):
    """A replay of year 7 answered times in the local mean time of the tz database (+08:05:43), an
    offset no RFC 3339 client reads; nothing is that old."""
    world = make_world()
    client = APIClient()
    client.force_authenticate(make_user("wall-dispatcher", UserRole.DISPATCHER))
    response = client.get(reverse("wall:replay", args=[world["subdistrict"].code]), {"date": day})
    assert response.status_code == status, response.content
    if status == 400:
        assert list(response.json()) == ["date"]
