"""The planners' API (/api/v1/planner/, planner/api.py): who may call it, the draft's life through
it (start, read, save, split, merge, presence, impact, staff moves, publish), the refusals' bodies
(`{"detail", "code"}` plus a stale save's `since` and a refused publication's `problems`), compare,
assignments, import (nothing written on a bad file) and export."""

import json
from datetime import timedelta

import pytest
import shapely
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone
from rest_framework.test import APIClient

from config.roles import UserRole
from geo import interchange
from geo.coverage import DraftGrid
from geo.models import BoundaryVersion
from tests.factories import make_user
from tests.planner_world import MX, MY, SPLIT_LINE, E, N, S, W, make_planner_world

pytestmark = pytest.mark.django_db
BASE = "/api/v1/planner/"


@pytest.fixture
def world():
    return make_planner_world()


@pytest.fixture
def api(world):
    client = APIClient()
    client.force_authenticate(world["planner"])
    return client


def url(path: str) -> str:
    return f"{BASE}{path}?subdistrict=P1"


def square(w, s, e, n) -> dict:
    return {"type": "Polygon", "coordinates": [[[w, s], [e, s], [e, n], [w, n], [w, s]]]}


def start(api) -> dict:
    answer = api.post(url("drafts/"), {"label": "调整"}, format="json")
    assert answer.status_code == 201, answer.content
    return answer.json()


def draft(api, number) -> dict:
    answer = api.get(url(f"drafts/{number}/"))
    assert answer.status_code == 200, answer.content
    return answer.json()


def feature(body, code) -> dict:
    return next(f for f in body["grids"]["features"] if f["properties"]["code"] == code)


@pytest.mark.parametrize("role", [UserRole.RESPONDER, UserRole.DEPARTMENT, UserRole.LEADER, UserRole.CALL_TAKER])
def test_other_roles_are_refused_and_anonymous_users_too(world, role):
    client = APIClient()
    for path in ("versions/", "assignments/", "drafts/"):
        assert client.get(url(path)).status_code in (401, 403)
    client.force_authenticate(make_user(f"pa-{role}", role))
    assert client.get(url("versions/")).status_code == 403
    assert client.post(url("drafts/"), {}, format="json").status_code == 403
    assert not BoundaryVersion.objects.filter(status="draft").exists()
    room = APIClient()
    room.force_authenticate(make_user("pa-room", UserRole.COMMAND_ROOM))
    assert room.get(url("versions/")).status_code == 200


def test_a_draft_through_the_api_from_start_to_publish(api, world):
    created = start(api)
    assert created == {"number": 2, "revision": 0}
    body = draft(api, 2)
    assert body["revision"] == 0 and body["problems"] == [] and body["based_on"] == 1
    assert [e["user"] for e in body["editors"]] == ["p1-planner"] and body["last_save"]["summary"]["op"] == "start"
    nw = feature(body, "P1-NW")
    assert nw["properties"]["community_name"] == "西社区" and nw["geometry"]["type"] == "MultiPolygon"

    split = api.post(url("drafts/2/split/"), {"revision": 0, "grid": nw["id"],
                                                "line": json.loads(SPLIT_LINE.geojson)}, format="json")
    assert split.status_code == 200, split.content
    assert split.json()["revision"] == 1 and split.json()["problems"] == []
    assert {f["properties"]["code"] for f in split.json()["grids"]["features"]} == {"P1-NW", "P1-NW-2", "P1-SW"}

    ne, se = feature(body, "P1-NE"), feature(body, "P1-SE")
    renamed = api.post(url("drafts/2/save/"), {"revision": 1, "delete": [], "upsert": [
        {"id": ne["id"], "code": "P1-NE", "name": "东北片", "community": ne["properties"]["community"]}]},
        format="json")
    assert renamed.status_code == 200 and renamed.json()["revision"] == 2
    merged = api.post(url("drafts/2/merge/"), {"revision": 2, "grids": [ne["id"], se["id"]]}, format="json")
    assert merged.status_code == 200 and merged.json()["deleted"] == [se["id"]]

    presence = api.post(url("drafts/2/presence/"))
    assert presence.status_code == 200 and presence.json()["last_save"]["summary"]["op"] == "merge"

    impact = api.get(url("drafts/2/impact/")).json()
    reasons = {r["name"]: (r["grid_code"], r["reason"]) for r in impact["members"]}
    assert reasons["西段网格员"] == ("P1-NW-2", "post") and reasons["东南网格员"] == ("P1-NE", "kept")
    moved = api.post(url("drafts/2/staff-moves/"), {"member": world["members"]["sw"].pk,
                                                    "grid": feature(split.json(), "P1-NW-2")["id"]}, format="json")
    assert moved.status_code == 200 and moved.json()["override"] is True

    assert api.post(url("drafts/2/publish/"), {}, format="json").status_code == 400  # the revision is required
    published = api.post(url("drafts/2/publish/"), {"revision": 3}, format="json")
    assert published.status_code == 200, published.content
    assert published.json()["number"] == 2
    versions = api.get(url("versions/")).json()
    assert [(v["number"], v["status"], v["in_force"], v["grids"]) for v in versions] == [
        (2, "published", True, 4), (1, "published", False, 4)]
    assert {g.code for g in world["members"]["sw"].grids.all()} == {"P1-SW", "P1-NW-2"}
    assert api.get(url("drafts/2/")).status_code == 404  # published: no draft any more
    again = api.post(url("drafts/2/save/"), {"revision": 3}, format="json")
    assert (again.status_code, again.json()["code"]) == (409, "published")

    compare = api.get(url("compare/"), {"a": 1, "b": 2})
    assert compare.status_code == 200
    statuses = {r["code"]: r["status"] for r in compare.json()["grids"]}
    assert statuses == {"P1-NE": "changed", "P1-NW": "changed", "P1-NW-2": "added", "P1-SE": "removed",
                        "P1-SW": "unchanged"}
    assert {f["id"] for f in compare.json()["changed"]["features"]} == {"P1-NE", "P1-NW", "P1-NW-2", "P1-SE"}


def test_a_stale_save_is_refused_with_the_saves_missed(api, world):
    start(api)
    ne = feature(draft(api, 2), "P1-NE")
    change = {"id": ne["id"], "code": "P1-NE", "name": "改名", "community": ne["properties"]["community"]}
    other = APIClient()
    other.force_authenticate(make_user("pa-second", UserRole.PLANNER))
    assert other.post(url("drafts/2/save/"), {"revision": 0, "upsert": [change]}, format="json").status_code == 200
    stale = api.post(url("drafts/2/save/"), {"revision": 0, "upsert": [{**change, "name": "又改"}]}, format="json")
    assert stale.status_code == 409
    body = stale.json()
    assert body["code"] == "stale" and body["detail"] and body["revision"] == 1
    assert [(s["revision"], s["user"], s["summary"]["changed"]) for s in body["since"]] == [(1, "pa-second", ["P1-NE"])]
    assert feature(draft(api, 2), "P1-NE")["properties"]["name"] == "改名"


def test_a_save_sent_twice_with_its_idempotency_key_is_applied_once(api, world):
    """A page that lost the answer (a dropped connection) sends the save again with the same key:
    the stored answer comes back, the draft moves one revision, not two (and is not refused stale)."""
    start(api)
    ne = feature(draft(api, 2), "P1-NE")
    body = {"revision": 0, "upsert": [{"id": ne["id"], "code": "P1-NE", "name": "改名",
                                       "community": ne["properties"]["community"]}]}
    first = api.post(url("drafts/2/save/"), body, format="json", HTTP_IDEMPOTENCY_KEY="save-1")
    again = api.post(url("drafts/2/save/"), body, format="json", HTTP_IDEMPOTENCY_KEY="save-1")
    assert first.status_code == again.status_code == 200 and again["Idempotent-Replayed"] == "true"
    assert again.json() == first.json() and first.json()["revision"] == 1
    assert draft(api, 2)["revision"] == 1


def test_bad_edits_answer_400_with_a_message_and_write_nothing(api, world):
    start(api)
    body = draft(api, 2)
    nw = feature(body, "P1-NW")
    cases = [
        ("split/", {"revision": 0, "grid": nw["id"],
                    "line": {"type": "LineString", "coordinates": [[W + 0.001, MY + 0.001], [W + 0.002, MY + 0.002]]}},
         "line"),
        ("split/", {"revision": 0, "grid": nw["id"], "line": square(W, S, E, N)}, "line"),
        ("merge/", {"revision": 0, "grids": [nw["id"], feature(body, "P1-SE")["id"]]}, "grids"),
        ("save/", {"revision": 0, "upsert": [{"id": nw["id"], "code": "P1-SW", "name": "x"}]}, "code"),
    ]
    for path, data, code in cases:
        answer = api.post(url(f"drafts/2/{path}"), data, format="json")
        assert (answer.status_code, answer.json()["code"]) == (400, code), answer.content
        assert answer.json()["detail"]
    malformed = api.post(url("drafts/2/save/"), {"revision": "x", "upsert": [{"geometry": "nope"}]}, format="json")
    assert malformed.status_code == 400
    assert draft(api, 2)["revision"] == 0


def test_a_draft_with_problems_is_not_published_and_the_answer_lists_them(api, world):
    start(api)
    ne = feature(draft(api, 2), "P1-NE")
    api.post(url("drafts/2/save/"), {"revision": 0, "upsert": [
        {"id": ne["id"], "code": "P1-NE", "name": "东北", "community": ne["properties"]["community"],
         "geometry": square(MX + 0.002, MY, E, N)}]}, format="json")
    refused = api.post(url("drafts/2/publish/"), {"revision": 1, "effective_from": timezone.now().isoformat()},
                       format="json")
    assert refused.status_code == 400 and refused.json()["code"] == "problems"
    assert "gap" in {p["kind"] for p in refused.json()["problems"]}
    past = api.post(url("drafts/2/publish/"), {"revision": 1,
                                                "effective_from": (timezone.now() - timedelta(days=1)).isoformat()},
                    format="json")
    assert (past.status_code, past.json()["code"]) == (400, "effective_from")
    assert BoundaryVersion.objects.get(number=2).status == "draft"


def test_assignments_list_and_set_the_grids_of_the_version_in_force(api, world):
    listed = api.get(url("assignments/")).json()
    assert listed["version"] == 1
    rows = {r["name"]: [g["code"] for g in r["grids"]] for r in listed["members"]}
    assert rows["网格长"] == ["P1-NW"] and len(rows) == 6
    sw, grids = world["members"]["sw"], world["grids"]
    answer = api.post(url("assignments/"), {"member": sw.pk, "grids": [grids["SW"].pk, grids["SE"].pk]}, format="json")
    assert answer.status_code == 200 and [g["code"] for g in answer.json()["grids"]] == ["P1-SE", "P1-SW"]
    wrong = api.post(url("assignments/"), {"member": sw.pk, "grids": [10**9]}, format="json")
    assert wrong.status_code == 400


def grid_file(grids: list[DraftGrid], fmt="geojson") -> SimpleUploadedFile:
    content, filename, content_type = interchange.write_grids(grids, fmt, 4326)
    return SimpleUploadedFile(filename, content, content_type=content_type)


def test_import_a_file_as_a_draft_or_check_it_and_nothing_is_written_on_a_bad_file(api, world):
    grids = [DraftGrid("A1", "甲", "P1-CW", shapely.box(W, S, MX, N)),
             DraftGrid("B1", "乙", "P1-CE", shapely.box(MX, S, E, N))]
    checked = api.post(url("import/") + "&dry_run=1", {"file": grid_file(grids)}, format="multipart")
    assert checked.status_code == 200 and checked.json()["problems"] == []
    assert [f["properties"]["code"] for f in checked.json()["grids"]["features"]] == ["A1", "B1"]
    assert BoundaryVersion.objects.count() == 1

    bad = [
        SimpleUploadedFile("grids.geojson", b"{not json", content_type="application/geo+json"),
        grid_file([grids[0], DraftGrid("B1", "乙", "NOPE", grids[1].boundary)]),  # unknown community
        SimpleUploadedFile("grids.csv", b"code,name\n", content_type="text/csv"),
    ]
    for upload in bad:
        answer = api.post(url("import/"), {"file": upload}, format="multipart")
        assert answer.status_code == 400 and answer.json()["detail"], answer.content
    assert BoundaryVersion.objects.count() == 1

    created = api.post(url("import/"), {"file": grid_file(grids, "gpkg"), "label": "导入"}, format="multipart")
    assert created.status_code == 201 and created.json() == {"number": 2}
    assert sorted(f["properties"]["code"] for f in draft(api, 2)["grids"]["features"]) == ["A1", "B1"]


@pytest.mark.parametrize(("fmt", "crs"), [("geojson", "4326"), ("gpkg", "4549"), ("shp", "4326")])
def test_export_a_version_as_a_file(api, world, fmt, crs):
    answer = api.get(url("versions/1/export/"), {"format": fmt, "crs": crs})
    assert answer.status_code == 200 and answer["Content-Type"] == interchange.FORMATS[fmt][2]
    assert "attachment" in answer["Content-Disposition"]
    name = answer["Content-Disposition"].split('filename="')[1].rstrip('"')
    back = interchange.read_grids(answer.content, name)
    assert sorted(g.code for g in back) == ["P1-NE", "P1-NW", "P1-SE", "P1-SW"]
    assert api.get(url("versions/1/export/"), {"format": "kml"}).status_code == 400
    assert api.get(url("versions/9/export/")).status_code == 404


# --- review: publishing names its revision; outdated drafts; oversize files; other sub-districts ---------

def test_publishing_a_draft_saved_since_or_outdated_is_refused_with_the_reason(api, world):
    start(api), start(api)  # drafts 2 and 3, both copies of version 1
    ne = feature(draft(api, 2), "P1-NE")
    other = APIClient()
    other.force_authenticate(make_user("pa-second", UserRole.PLANNER))
    change = {"id": ne["id"], "code": "P1-NE", "name": "改名", "community": ne["properties"]["community"]}
    assert other.post(url("drafts/2/save/"), {"revision": 0, "upsert": [change]}, format="json").status_code == 200
    stale = api.post(url("drafts/2/publish/"), {"revision": 0}, format="json")
    assert (stale.status_code, stale.json()["code"], stale.json()["revision"]) == (409, "stale", 1)
    assert [(s["revision"], s["user"]) for s in stale.json()["since"]] == [(1, "pa-second")]
    assert api.post(url("drafts/2/publish/"), {"revision": 1}, format="json").status_code == 200
    outdated = api.post(url("drafts/3/publish/"), {"revision": 0}, format="json")
    assert (outdated.status_code, outdated.json()["code"], outdated.json()["latest"]) == (409, "outdated", 2)
    assert "2" in outdated.json()["detail"] and "3" in outdated.json()["detail"]
    assert BoundaryVersion.objects.get(subdistrict=world["subdistrict"], number=3).status == "draft"


def test_an_oversize_file_is_refused_before_it_is_read_and_nothing_is_written(api, world, monkeypatch):
    read = []
    monkeypatch.setattr(interchange, "MAX_BYTES", 64)
    monkeypatch.setattr(interchange, "read_grids", lambda data, name: read.append(name) or [])
    for query in ("", "&dry_run=1"):
        upload = SimpleUploadedFile("grids.geojson", b"{" + b" " * 100 + b"}", content_type="application/geo+json")
        answer = api.post(url("import/") + query, {"file": upload}, format="multipart")
        assert (answer.status_code, answer.json()["code"]) == (400, "import") and answer.json()["detail"]
    assert read == [] and BoundaryVersion.objects.count() == 1


@pytest.fixture
def other_world(world):
    return make_planner_world("P2")


def test_a_planner_reaches_only_the_sub_district_asked_for(api, world, other_world):
    theirs = APIClient()
    theirs.force_authenticate(other_world["planner"])
    assert theirs.post(f"{BASE}drafts/?subdistrict=P2", {}, format="json").json()["number"] == 2
    their_body = theirs.get(f"{BASE}drafts/2/?subdistrict=P2").json()
    their_ne = feature(their_body, "P2-NE")
    # Their version 2 asked for with ?subdistrict=P1 (which has no version 2): not found, whatever the call.
    for method, path, data in (("get", "drafts/2/", None), ("get", "drafts/2/impact/", None),
                               ("get", "versions/2/export/", None), ("get", "compare/?a=1&b=2", None),
                               ("post", "drafts/2/save/", {"revision": 0, "upsert": [], "delete": [their_ne["id"]]}),
                               ("post", "drafts/2/publish/", {"revision": 0}),
                               ("post", "drafts/", {"based_on": 2})):
        target = url(path) if "?" not in path else f"{BASE}{path}&subdistrict=P1"
        answer = getattr(api, method)(target, data, format="json") if data is not None else api.get(target)
        assert answer.status_code == 404, (path, answer.content)
    mine = start(api)["number"]
    body = draft(api, mine)
    nw, ne = feature(body, "P1-NW"), feature(body, "P1-NE")
    community = {"id": ne["id"], "code": "P1-NE", "name": "东北", "community": other_world["communities"]["E"].pk}
    for path, data in (
        ("save/", {"revision": 0, "upsert": [{**community, "id": their_ne["id"], "code": "P2-NE"}]}),
        ("save/", {"revision": 0, "delete": [their_ne["id"]]}),
        ("save/", {"revision": 0, "upsert": [community]}),
        ("split/", {"revision": 0, "grid": their_ne["id"], "line": json.loads(SPLIT_LINE.geojson)}),
        ("merge/", {"revision": 0, "grids": [nw["id"], their_ne["id"]]}),
        ("staff-moves/", {"member": other_world["members"]["ne"].pk, "grid": ne["id"]}),
    ):
        answer = api.post(url(f"drafts/{mine}/{path}"), data, format="json")
        assert answer.status_code in (400, 404) and answer.json()["detail"], (path, answer.content)
    assigned = api.post(url("assignments/"), {"member": other_world["members"]["ne"].pk,
                                              "grids": [world["grids"]["NE"].pk]}, format="json")
    assert assigned.status_code == 404
    assert draft(api, mine)["revision"] == 0
    assert theirs.get(f"{BASE}drafts/2/?subdistrict=P2").json() == their_body  # nothing of theirs written
    assert {g.code for g in other_world["members"]["ne"].grids.all()} == {"P2-NE"}
