"""Bad input answers 4xx, never 500 (issue 11), one class at a time, each with the probe's example
and one more; and the checks that find a class again where new code brings it back:

- NUL characters (U+0000) in a query, a path, a header, a form, a JSON body at any depth, a
  multipart field: 400 `nul_character` (config/middleware.py, config/parsers.py);
- JSON nested a thousand levels: 400 `json_too_deep` on every JSON endpoint (every DRF view of the
  URL conf parses with config/parsers.py);
- OPTIONS on every route of the URL conf, anonymous and as each staff role: never a 5xx;
- numbers: ASCII digits only (`config.inputs.ascii_int`); no `str.isdigit()` in our code;
- intake's `reported_at` and `deadline` within their bounds (incidents/validators.py);
- the gazetteer's `%` and `_` match themselves;
- a case of the needs-location queue can be closed as invalid, merged, and reopened;
- an IntegrityError that reaches the API answers 409/400.
"""

import re
from datetime import timedelta
from pathlib import Path

import pytest
from django.conf import settings
from django.contrib.gis.geos import Point
from django.db import IntegrityError, transaction
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, reverse
from django.utils import timezone
from rest_framework.test import APIClient
from rest_framework.views import APIView

from config.exceptions import api_exception_handler
from config.inputs import JSON_MAX_DEPTH, InputRefused, ascii_int, json_loads, like_escape
from config.parsers import CheckedFormParser, CheckedJSONParser, CheckedMultiPartParser
from config.roles import STAFF_ROLES
from geo.gazetteer import address_search
from geo.models import Address
from incidents.models import Category, Incident, IncidentEvent, Status
from incidents.serializers import IntakeInputSerializer
from incidents.services import incident_intake
from tests.factories import S, W, api_client, make_user

ROOT = Path(__file__).resolve().parents[2]
P = {"type": "Point", "coordinates": [W + 0.004, S + 0.004]}
INCIDENTS = reverse("incidents:incidents")
GAZETTEER = reverse("incidents:gazetteer")
DEEP = "[" * 1000 + "]" * 1000


@pytest.fixture
def ctx(world, users):
    world.update(dispatcher=users.dispatcher, centre=users.integration)
    for text, dx in [("良睦路1288号", 0.003), ("良睦路1290号", 0.0035), ("文一西路998号", 0.015)]:
        Address.objects.create(subdistrict=world["subdistrict"], text=text,
                               location=Point(W + dx, S + dx, srid=4326))
    return world


def api(user=None) -> APIClient:
    return api_client(user, language=None)


def intake_body(ctx, **kw) -> dict:
    body = {"channel": ctx["hotline"].code, "category": ctx["category"].code, "description": "楼道堆放杂物",
            "location": P, "subdistrict": "T1"}
    body.update(kw)
    return body


def refused(response, code: str, status: int = 400) -> bool:
    body = response.json()
    return response.status_code == status and body.get("code") == code


def needs_location_case(ctx, text="无法定位的地址某某处"):
    result = incident_intake(channel=ctx["hotline"], category=ctx["category"], description="有人反映情况",
                             actor=ctx["dispatcher"], address_text=text, subdistrict=ctx["subdistrict"])
    assert result.incident.status == Status.NEEDS_LOCATION and result.incident.location is None
    return result.incident


def placed_case(ctx) -> Incident:
    return incident_intake(channel=ctx["hotline"], category=ctx["category"], description="同一事件",
                           actor=ctx["dispatcher"], location=Point(W + 0.004, S + 0.004, srid=4326)).incident


# --- NUL characters ---------------------------------------------------------------------------------

def test_nul_in_a_query_value_answers_400(ctx):
    client = api(ctx["dispatcher"])
    assert refused(client.get(INCIDENTS, {"subdistrict": "T1\x00"}), "nul_character")
    assert refused(client.get(GAZETTEER, {"q": "良睦路\x00", "subdistrict": "T1"}), "nul_character")
    assert refused(client.get(reverse("geo:grids") + "?sub%00district=T1"), "nul_character")  # a key


def test_nul_in_an_intake_code_at_any_depth_answers_400(ctx):
    client = api(ctx["dispatcher"])
    assert refused(client.post(INCIDENTS, intake_body(ctx, channel="test_hotline\x00"), format="json"),
                   "nul_character")
    deep = intake_body(ctx, location={"type": "Point", "coordinates": [W, S], "crs\x00": {"name": ["x\x00"]}})
    assert refused(client.post(INCIDENTS, deep, format="json"), "nul_character")
    assert not Incident.objects.exists()
    # An escaped backslash before "u0000" is text, not a NUL: taken.
    response = client.post(INCIDENTS, intake_body(ctx, description="路牌写着 \\u0000 字样"), format="json")
    assert response.status_code == 201
    # A lone surrogate cannot be stored either.
    response = client.post(INCIDENTS, '{"channel": "test_hotline", "description": "\\ud800"}',
                           content_type="application/json")
    assert refused(response, "invalid_unicode")


def test_nul_in_an_open311_api_key_and_a_path_part_answers_400_in_open311_shape(ctx):
    client = Client()
    response = client.get(reverse("open311:requests", args=["json"]), {"api_key": "abc\x00"})
    assert response.status_code == 400 and response.json()[0]["code"] == 400
    response = client.get("/open311/v2/requests/20260101-0001%00.json")
    assert response.status_code == 400 and response.json()[0]["code"] == 400
    response = client.get("/open311/v2/requests/20260101-0001%00.xml")
    assert response.status_code == 400 and b"<errors><error><code>400</code>" in response.content


def test_nul_in_a_url_path_part_headers_and_forms_answers_400(ctx):
    client = Client()
    client.force_login(ctx["dispatcher"])
    assert refused(client.get("/api/v1/wall/T1%00/state/"), "nul_character")
    # Headers used for lookups: the member of a shared phone, a token.
    response = client.post(reverse("incidents:incident-category", args=[1]), {"category": "x"},
                           content_type="application/json", HTTP_X_GRIDLINK_MEMBER="1\x00")
    assert refused(response, "nul_character")
    assert refused(Client().get(INCIDENTS, HTTP_AUTHORIZATION="Token abc\x00def"), "nul_character")
    # A url-encoded form (Open311's POST) and a multipart one (an on-site report with photos).
    response = Client().post(reverse("open311:requests", args=["json"]),
                             {"api_key": "k", "service_code": "test_dispute", "description": "a\x00b"})
    assert response.status_code == 400 and response.json()[0]["code"] == 400
    response = client.post(reverse("incidents:incident-transition", args=[placed_case(ctx).pk]),
                           {"action": "report_on_site", "text": "现场\x00"})  # multipart by default
    assert refused(response, "nul_character")
    # Pages: plain 400, never a lookup.
    assert Client().get("/incidents/1%00/").status_code in (400, 404)
    assert Client().get("/?subdistrict=T1%00").status_code == 400


# --- JSON nested deep -------------------------------------------------------------------------------

def test_json_a_thousand_levels_deep_answers_400_on_json_endpoints(ctx):
    case = placed_case(ctx)
    client = api(ctx["dispatcher"])
    for url in (INCIDENTS, reverse("incidents:incident-transition", args=[case.pk]),
                reverse("incidents:incident-merge", args=[case.pk])):
        assert refused(client.post(url, DEEP, content_type="application/json"), "json_too_deep")
    body = '{"positions": ' + DEEP + "}"
    assert refused(api(ctx["centre"]).post(reverse("positions:position-batch"), body, content_type="application/json"),
                   "json_too_deep")


def test_json_depth_is_counted_outside_strings_only():
    assert json_loads("[" * JSON_MAX_DEPTH + "]" * JSON_MAX_DEPTH) is not None
    with pytest.raises(InputRefused):
        json_loads("[" * (JSON_MAX_DEPTH + 1) + "]" * (JSON_MAX_DEPTH + 1))
    assert json_loads('{"a": "' + "[" * 500 + '\\"{"}') == {"a": "[" * 500 + '"{'}
    with pytest.raises(InputRefused):
        json_loads('{"a": NaN}')


def _walk(patterns, prefix=""):
    for pattern in patterns:
        if isinstance(pattern, URLResolver):
            yield from _walk(pattern.url_patterns, prefix + str(pattern.pattern))
        elif isinstance(pattern, URLPattern):
            yield prefix + str(pattern.pattern), pattern


def _url(route: str) -> str:
    route = re.sub(r"<int:\w+>", "1", route.lstrip("^").rstrip("$"))
    route = re.sub(r"<(?:\w+:)?\w+>", "x", route)
    return "/" + re.sub(r"[\^$?]|\\Z|\(\?P<\w+>[^)]*\)", "x", route)


def test_every_api_view_parses_bodies_with_the_checked_parsers():
    """Finds the class again: a DRF view naming DRF's own parsers would let deep JSON and NUL in."""
    checked = (CheckedJSONParser, CheckedFormParser, CheckedMultiPartParser)
    unchecked = []
    for route, pattern in _walk(get_resolver().url_patterns):
        view = getattr(pattern.callback, "cls", None)
        if view is not None and issubclass(view, APIView):
            unchecked += [(route, p.__name__) for p in view.parser_classes if not issubclass(p, checked)]
    assert unchecked == []


# --- OPTIONS ------------------------------------------------------------------------------------------

def test_options_on_every_route_never_answers_5xx(ctx):
    """Anonymous, and a user holding every staff role: role checks are any-of, so this user passes
    every check a single staff role passes and reaches the deepest code (DRF's metadata describes a
    POST body only to a user allowed to post it); the others stop at a 401/403/redirect."""
    anonymous = Client(raise_request_exception=False)
    staff = Client(raise_request_exception=False)
    staff.force_login(make_user("all_staff", *sorted(STAFF_ROLES)))
    failures = []
    for route, _pattern in _walk(get_resolver().url_patterns):
        if route.startswith("admin/"):
            continue  # Django's admin: its own views, not ours (and staff-only)
        url = _url(route)
        for client in (anonymous, staff):
            status = client.options(url).status_code
            if status >= 500:
                failures.append((url, status))
    assert failures == []
    response = staff.options(reverse("dispatch:order-accept", args=[1]))  # the probe's example
    assert response.status_code == 200 and "POST" in response["Allow"]


# --- numbers ------------------------------------------------------------------------------------------

def test_a_superscript_digit_is_not_a_number(ctx):
    client = api(ctx["dispatcher"])
    response = client.get(reverse("dispatch:alarms"), {"incident": "²", "subdistrict": "T1"})
    assert response.status_code == 400 and "incident" in response.json()
    # Arabic-Indic digits: int() reads "١" as 1; a grid version is ASCII digits.
    response = client.get(reverse("geo:grids"), {"subdistrict": "T1", "version": "١"})
    assert response.status_code == 400 and "version" in response.json()
    assert client.get(reverse("geo:grids"), {"subdistrict": "T1", "version": "1"}).status_code == 200


def test_id_numbers_and_phones_in_other_scripts_are_400_not_a_database_error(ctx):
    incident = placed_case(ctx)
    client = api(ctx["dispatcher"])
    url = reverse("incidents:incident-parties", args=[incident.pk])
    arabic = "١١٠١٠٥١٩٤٩١٢٣١٠٠٢X"  # the standard's example number in Arabic-Indic digits
    assert refused(client.post(url, {"name": "李四", "id_number": arabic}, format="json"), "id_number")
    assert refused(client.post(url, {"name": "李四", "phone": "١٣٨٠٠٠٠٠٠٠١"}, format="json"), "phone")


def test_ascii_int():
    assert ascii_int("42") == 42 and ascii_int(7) == 7
    for bad in ("²", "١", " 1", "1_0", "+1", "", "1" * 30, True, None, 1.5):
        assert ascii_int(bad) is None
    assert ascii_int("-3", signed=True) == -3 and ascii_int("0", minimum=1) is None


def test_no_isdigit_in_our_code():
    """Finds the class again: str.isdigit/isnumeric/isdecimal say yes to "²" and "١"."""
    found = []
    for folder in ("config", "incidents", "dispatch", "geo", "planner", "wall", "frontend", "fixtures", "audit"):
        for path in (ROOT / folder).rglob("*.py"):
            if "node_modules" in path.parts or "migrations" in path.parts:
                continue
            for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
                if re.search(r"\.is(?:digit|numeric|decimal)\(", line):
                    found.append(f"{path.relative_to(ROOT)}:{n}")
    assert found == []


# --- intake times ------------------------------------------------------------------------------------

def test_reported_at_and_deadline_bounds(ctx):
    client = api(ctx["dispatcher"])
    for reported_at in ("0001-01-01T00:00:00Z", "2099-01-01T00:00:00+08:00"):  # the probe's examples
        response = client.post(INCIDENTS, intake_body(ctx, reported_at=reported_at), format="json")
        assert response.status_code == 400 and "reported_at" in response.json()
    assert not Incident.objects.exists()
    now = timezone.now()
    hours = settings.INTAKE_BACKDATE_MAX_HOURS
    too_old = intake_body(ctx, reported_at=(now - timedelta(hours=hours, minutes=5)).isoformat())
    assert "reported_at" in client.post(INCIDENTS, too_old, format="json").json()
    ahead = now + timedelta(seconds=settings.INTAKE_CLOCK_SKEW_SECONDS + 60)
    assert "reported_at" in client.post(INCIDENTS, intake_body(ctx, reported_at=ahead.isoformat()), format="json").json()
    back_dated = now - timedelta(hours=hours - 1)
    response = client.post(INCIDENTS, intake_body(ctx, reported_at=back_dated.isoformat()), format="json")
    assert response.status_code == 201
    # The deadline of an assignment form: after the report, within INTAKE_DEADLINE_MAX_DAYS.
    office = ctx["unit"]
    form = {"channel": ctx["joint"].code, "category": ctx["category"].code, "description": "联席交办：整治占道",
            "subdistrict": "T1", "offices": [office.pk], "external_id": "LX-1"}
    for deadline in (now - timedelta(hours=1), now + timedelta(days=settings.INTAKE_DEADLINE_MAX_DAYS + 1)):
        response = client.post(INCIDENTS, {**form, "deadline": deadline.isoformat()}, format="json")
        assert response.status_code == 400 and "deadline" in response.json()
    response = client.post(INCIDENTS, {**form, "deadline": (now + timedelta(days=7)).isoformat()}, format="json")
    assert response.status_code == 201
    # A retry of a report already taken is answered with its case, however late it comes.
    retry = client.post(INCIDENTS, {**form, "deadline": (now + timedelta(days=7)).isoformat(),
                                    "reported_at": (now - timedelta(hours=hours + 24)).isoformat()}, format="json")
    assert retry.status_code == 200 and retry.json()["id"] == response.json()["id"]


def test_the_bounds_are_in_the_api_document():
    fields = IntakeInputSerializer().fields
    assert "INTAKE_BACKDATE_MAX_HOURS" in fields["reported_at"].help_text
    assert "INTAKE_CLOCK_SKEW_SECONDS" in fields["reported_at"].help_text
    assert "INTAKE_DEADLINE_MAX_DAYS" in fields["deadline"].help_text


# --- LIKE wildcards ------------------------------------------------------------------------------------

def test_percent_in_the_gazetteer_matches_itself(ctx):
    response = api(ctx["dispatcher"]).get(GAZETTEER, {"q": "%", "subdistrict": "T1"})
    assert response.status_code == 200 and response.json() == []
    assert address_search(ctx["subdistrict"], "_") == []
    assert [m.address.text for m in address_search(ctx["subdistrict"], "良睦路1288号")][0] == "良睦路1288号"
    Address.objects.create(subdistrict=ctx["subdistrict"], text="100%广场", location=Point(W, S, srid=4326))
    assert [m.address.text for m in address_search(ctx["subdistrict"], "100%")] == ["100%广场"]


def test_like_escape():
    assert like_escape("a%b_c\\d") == "a\\%b\\_c\\\\d"


# --- the needs-location queue ---------------------------------------------------------------------------

def test_a_case_waiting_for_a_location_can_be_closed_as_invalid_and_reopened(ctx):
    case = needs_location_case(ctx)
    client = api(ctx["dispatcher"])
    url = reverse("incidents:incident-transition", args=[case.pk])
    response = client.post(url, {"action": "cancel", "text": "重复报警，无法核实地点"}, format="json")
    assert response.status_code == 200, response.content
    case.refresh_from_db()
    assert case.status == Status.CLOSED and case.location is None and case.closed_at is not None
    assert case.events.filter(kind=IncidentEvent.Kind.STATUS_CHANGED, to_status=Status.CLOSED).exists()
    response = client.post(url, {"action": "reopen", "text": "来电人补充了地址"}, format="json")
    assert response.status_code == 200, response.content
    case.refresh_from_db()
    assert case.status == Status.NEEDS_LOCATION
    # The database still keeps a case resolved on site placed: only one never placed ends without a point.
    with pytest.raises(IntegrityError), transaction.atomic():
        Incident.objects.filter(pk=case.pk).update(status=Status.CLOSED, closed_at=timezone.now(),
                                                   resolved_at=timezone.now())


def test_a_case_waiting_for_a_location_can_be_merged(ctx):
    dup = needs_location_case(ctx)
    into = placed_case(ctx)
    response = api(ctx["dispatcher"]).post(reverse("incidents:incident-merge", args=[dup.pk]), {"into": into.pk},
                                           format="json")
    assert response.status_code == 200, response.content
    dup.refresh_from_db()
    assert dup.status == Status.MERGED and dup.merged_into_id == into.pk
    assert dup.events.filter(kind=IncidentEvent.Kind.STATUS_CHANGED, to_status=Status.MERGED).exists()
    # And the other way: a placed case merged into one still waiting for its location.
    other = needs_location_case(ctx, text="另一处无法定位")
    response = api(ctx["dispatcher"]).post(reverse("incidents:incident-merge", args=[into.pk]), {"into": other.pk},
                                           format="json")
    assert response.status_code == 200, response.content


def test_an_integrity_error_reaching_the_api_is_a_409_or_400(ctx):
    def error(write) -> IntegrityError:
        try:
            with transaction.atomic():
                write()
        except IntegrityError as exc:
            return exc
        raise AssertionError("the database took it")

    unique = error(lambda: Category.objects.create(code=ctx["category"].code, name="重复", name_en="dup",
                                                   scope=Category.Scope.NON_POLICE, statistic_group="petition"))
    check = error(lambda: Incident.objects.filter(pk=needs_location_case(ctx).pk).update(description=""))
    assert api_exception_handler(unique, {}).status_code == 409
    response = api_exception_handler(check, {})
    assert response.status_code == 400 and response.data["code"] == "invalid"


def test_an_unclosed_string_and_an_oversized_body_are_refused(settings):
    """The depth scan is one pass whatever the text holds (an unclosed string made the old regex
    quadratic: minutes of CPU per request before login); a body over DATA_UPLOAD_MAX_MEMORY_SIZE is
    a 413 before it is parsed."""
    from io import BytesIO

    from config.parsers import CheckedJSONParser

    with pytest.raises(InputRefused) as refused_:
        json_loads('{"a": "' + "[x\\" * 70_000)
    assert refused_.value.code == "parse_error"
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1000
    with pytest.raises(InputRefused) as refused_:
        CheckedJSONParser().parse(BytesIO(b"[" + b"1," * 600 + b"1]"), parser_context={})
    assert (refused_.value.code, refused_.value.http_status) == ("body_too_large", 413)
