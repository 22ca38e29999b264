"""The planners' page (/planner/) in headless Chromium against the seeded demo sub-district: the
editing that only a browser proves — a shared vertex dragged with the mouse moves both grids'
borders and the saved draft validates; a split drawn with the mouse yields two valid grids; a save
based on an old revision is refused with who changed what since (and a grid name that is markup is
shown as text, never run); a new grid drawn with the mouse is saved, undone (deleted), and a refused
one leaves nothing behind; the view's addresses are drawn from zoom 16.

Each test starts its own draft from the version in force. Pixels are found from the map's view
(body[data-map-view], Web Mercator), the geometry is judged with shapely on what the API returns."""

import json
import math
from collections import defaultdict

import pytest
import shapely
from shapely.geometry import LineString, Point, shape

pytestmark = pytest.mark.browser

M_PER_DEG_LAT = 110_574.0


def m_per_deg_lon(lat: float) -> float:
    return 111_320.0 * math.cos(math.radians(lat))


def call(page, path: str, method: str = "GET", body: dict | None = None) -> tuple[int, object]:
    """The API as the page's user (its session and CSRF cookie)."""
    return page.evaluate(
        """async ([path, method, body]) => {
          const token = (document.cookie.match(/(?:^|; )csrftoken=([^;]*)/) || [])[1] || "";
          const response = await fetch(path, {method, credentials: "same-origin",
            headers: {"Content-Type": "application/json", "X-CSRFToken": decodeURIComponent(token)},
            body: body === null ? undefined : JSON.stringify(body)});
          return [response.status, await response.json()];
        }""",
        [path, method, body],
    )


def open_new_draft(page, login, e2e, role: str = "planner") -> int:
    """Log in, open /planner/, choose the version in force and start a draft from it: its number."""
    login(page, role)
    page.goto(e2e.url("/planner/"))
    page.wait_for_selector('body[data-planner-ready="1"][data-base-ready="1"]')
    status, versions = call(page, "/api/v1/planner/versions/")
    assert status == 200
    in_force = next(v["number"] for v in versions if v["in_force"])
    if page.locator("#pl-version").input_value() != str(in_force):
        page.select_option("#pl-version", str(in_force))
        wait_until(page, "document.body.dataset.revision === ''")
    page.click('[data-testid="start-draft"]')
    wait_until(page, "document.body.dataset.revision !== '' && document.body.dataset.revision !== undefined")
    number = int(page.locator("#pl-version").input_value())
    assert number > in_force
    return number


def wait_until(page, expression: str, timeout_s: float = 30) -> None:
    """Poll a JavaScript expression until it is true (Playwright's wait_for_function evaluates a
    string, which the page's CSP refuses: no eval)."""
    for _ in range(int(timeout_s * 10)):
        if page.evaluate(expression):
            return
        page.wait_for_timeout(100)
    pytest.fail(f"still false after {timeout_s} s: {expression}")


def draft(page, number: int) -> dict:
    status, data = call(page, f"/api/v1/planner/drafts/{number}/")
    assert status == 200, data
    return data


def grid_shapes(data: dict) -> dict[int, tuple[dict, object]]:
    return {f["id"]: (f["properties"], shape(f["geometry"])) for f in data["grids"]["features"]}


def pixel(page, lon: float, lat: float) -> tuple[float, float]:
    """The page pixel of (lon, lat) from the map's current view."""
    view = json.loads(page.evaluate("document.body.dataset.mapView"))
    box = page.locator("#pl-map").bounding_box()

    def merc(phi: float) -> float:
        return math.log(math.tan(math.pi / 4 + math.radians(phi) / 2))

    x = (lon - view["west"]) / (view["east"] - view["west"]) * view["width"]
    y = (merc(view["north"]) - merc(lat)) / (merc(view["north"]) - merc(view["south"])) * view["height"]
    return box["x"] + x, box["y"] + y


def settle(page) -> None:
    """Wait until the map's view stops changing (a fit or a zoom animates)."""
    last = None
    for _ in range(40):
        view = page.evaluate("document.body.dataset.mapView")
        if view == last:
            return
        last = view
        page.wait_for_timeout(250)


def select_grid(page, code: str) -> None:
    page.click(f'[data-testid="grid-item"][data-code="{code}"]')
    page.wait_for_selector(f'[data-testid="grid-item"][data-code="{code}"][aria-pressed="true"]')
    settle(page)


def wait_saved(page, count: int) -> None:
    wait_until(page, f"Number(document.body.dataset.saves || 0) >= {count}")
    wait_until(page, "document.querySelector('#pl-status').dataset.kind !== 'info'")


def _edges_long(geometry, xy, metres: float) -> bool:
    """Whether the edges on both sides of vertex `xy` in `geometry` are at least `metres` long."""
    lon, lat = xy
    kx, ky = m_per_deg_lon(lat), M_PER_DEG_LAT
    for polygon in geometry.geoms:
        ring = list(polygon.exterior.coords[:-1])
        if xy in ring:
            i = ring.index(xy)
            for n in (ring[i - 1], ring[(i + 1) % len(ring)]):
                if math.hypot((n[0] - lon) * kx, (n[1] - lat) * ky) < metres:
                    return False
    return True


def _moved(geometry, xy, target):
    """`geometry` with its vertex `xy` at `target`."""
    def move(coords):
        coords = coords.copy()
        coords[(coords[:, 0] == xy[0]) & (coords[:, 1] == xy[1])] = target
        return coords

    return shapely.transform(geometry, move)


MOVE_M = 40


def shared_vertex(data: dict, communities: dict) -> tuple:
    """A vertex where grids of one community meet (the demo's are three-way junctions), inside the
    community, with long edges around it, and a move of MOVE_M that keeps every grid there valid and
    in its community: (vertex, target, the grid to edit, the ids of all grids holding the vertex)."""
    grids = grid_shapes(data)
    owners = defaultdict(set)
    for gid, (_props, geometry) in grids.items():
        for polygon in geometry.geoms:
            for xy in polygon.exterior.coords[:-1]:
                owners[xy].add(gid)
    for xy, ids in sorted(owners.items()):
        ordered = sorted(ids)
        community = grids[ordered[0]][0]["community"]
        if len(ids) < 2 or community is None or any(grids[g][0]["community"] != community for g in ordered):
            continue
        area = communities[community].buffer(1e-5)  # the layer's coordinates are rounded to 1e-6°
        lon, lat = xy
        if area.boundary.distance(Point(xy)) * M_PER_DEG_LAT < 3 * MOVE_M:
            continue
        if not all(_edges_long(grids[g][1], xy, 3 * MOVE_M) for g in ordered):
            continue
        c = grids[ordered[0]][1].centroid  # towards the middle of the grid edited
        kx = m_per_deg_lon(lat)
        dx, dy = (c.x - lon) * kx, (c.y - lat) * M_PER_DEG_LAT
        norm = math.hypot(dx, dy)
        target = (lon + dx / norm * MOVE_M / kx, lat + dy / norm * MOVE_M / M_PER_DEG_LAT)
        if all(_moved(grids[g][1], xy, target).is_valid and _moved(grids[g][1], xy, target).covered_by(area)
               for g in ordered):
            return xy, target, grids[ordered[0]][0]["code"], ordered
    pytest.fail("the demo grids have no shared vertex to drag")


def test_dragging_a_shared_vertex_moves_both_borders_and_the_draft_validates(page, login, e2e, artifacts_dir):
    number = open_new_draft(page, login, e2e)
    data = draft(page, number)
    assert data["problems"] == [], "the draft copied from the version in force validates"
    status, communities_fc = call(page, "/api/v1/geo/communities/")
    communities = {f["id"]: shape(f["geometry"]) for f in communities_fc["features"]}
    (lon, lat), (to_lon, to_lat), code, ids = shared_vertex(data, communities)
    edited = ids[0]

    select_grid(page, code)
    page.click('[data-testid="tool-edit"]')
    page.wait_for_selector(".leaflet-marker-icon.marker-icon:not(.marker-icon-middle)")
    x, y = pixel(page, lon, lat)
    x2, y2 = pixel(page, to_lon, to_lat)
    assert math.hypot(x2 - x, y2 - y) >= 8, "the move shows on screen"
    # Alt: no snapping, so that the vertex lands where the mouse lets go.
    page.keyboard.down("Alt")
    page.mouse.move(x, y)
    page.mouse.down()
    page.mouse.move((x + x2) / 2, (y + y2) / 2, steps=5)
    page.mouse.move(x2, y2, steps=5)
    page.mouse.up()
    page.keyboard.up("Alt")
    wait_saved(page, 1)
    page.screenshot(path=str(artifacts_dir / "planner-shared-vertex.png"))

    before = grid_shapes(data)
    after = grid_shapes(draft(page, number))

    def vertices(geometry):
        return {xy for polygon in geometry.geoms for xy in polygon.exterior.coords}

    new = vertices(after[edited][1]) - vertices(before[edited][1])
    assert len(new) == 1, new
    (nx, ny), = new
    assert math.hypot((nx - to_lon) * m_per_deg_lon(ny), (ny - to_lat) * M_PER_DEG_LAT) < 5, "where the mouse let go"
    for gid in ids:  # every grid that shared the vertex (the demo's junctions join three)
        assert (lon, lat) not in vertices(after[gid][1]), f"the old vertex left grid {gid}"
        assert (nx, ny) in vertices(after[gid][1]), f"grid {gid} holds the moved vertex: its border moved too"
    unchanged = [gid for gid in before if gid not in ids]
    assert all(after[gid][1].equals_exact(before[gid][1], 0) for gid in unchanged), "the other grids stay"
    assert draft(page, number)["problems"] == []
    assert page.evaluate("document.body.dataset.problems") == "0"
    assert page.locator('[data-testid="conflict"]').is_hidden()

    # Undo saves the grids as they were: every one of them back to its old border.
    page.click('[data-testid="undo"]')
    wait_saved(page, 2)
    undone = grid_shapes(draft(page, number))
    assert all(undone[gid][1].equals_exact(before[gid][1], 0) for gid in ids)


def split_candidate(data: dict) -> tuple:
    """A grid that a west-east line through its centroid cuts in two halves of a fair size."""
    for gid, (props, geometry) in sorted(grid_shapes(data).items(), key=lambda item: item[1][0]["code"]):
        if len(geometry.geoms) != 1:
            continue
        c = geometry.centroid
        minx, _miny, maxx, _maxy = geometry.bounds
        margin = 30 / m_per_deg_lon(c.y)
        line = LineString([(minx - margin, c.y), (maxx + margin, c.y)])
        crossings = geometry.boundary.intersection(line)
        if crossings.geom_type != "MultiPoint" or len(crossings.geoms) != 2:
            continue
        above = geometry.intersection(shapely.box(minx - 1, c.y, maxx + 1, 90))
        if not 0.3 < above.area / geometry.area < 0.7:
            continue
        return gid, props["code"], line
    pytest.fail("no grid of the demo to split with a straight line")


def test_a_split_drawn_with_the_mouse_yields_two_valid_grids(page, login, e2e, artifacts_dir):
    number = open_new_draft(page, login, e2e)
    data = draft(page, number)
    gid, code, line = split_candidate(data)

    select_grid(page, code)
    page.click('[data-testid="tool-split"]')
    wait_until(page, "document.body.dataset.tool === 'split'")
    (x1, y1), (x2, y2) = (pixel(page, *xy) for xy in line.coords)
    page.keyboard.down("Alt")
    page.mouse.click(x1, y1)
    page.mouse.click(x2, y2)
    page.mouse.click(x2, y2)  # the last point again: the line is finished
    page.keyboard.up("Alt")
    wait_saved(page, 1)
    page.screenshot(path=str(artifacts_dir / "planner-split.png"))

    after = draft(page, number)
    grids = {props["code"]: geometry for props, geometry in grid_shapes(after).values()}
    assert code in grids and f"{code}-2" in grids, sorted(grids)
    assert len(grids) == len(data["grids"]["features"]) + 1
    whole = shape(next(f["geometry"] for f in data["grids"]["features"] if f["id"] == gid))
    parts = [grids[code], grids[f"{code}-2"]]
    assert all(part.is_valid for part in parts)
    assert abs(sum(part.area for part in parts) - whole.area) < whole.area * 1e-6
    assert after["problems"] == []
    page.wait_for_selector(f'[data-testid="grid-item"][data-code="{code}-2"]')
    assert page.evaluate("document.body.dataset.problems") == "0"


# A grid name that would run script if any view put it in as HTML (a tooltip, the list, the form).
XSS_NAME = '<img src=x onerror="document.body.dataset.pwned=1">'


def test_a_stale_save_shows_who_changed_what_and_names_are_text(page, browser, login, e2e):
    """The colleague's name for the grid is markup: after the reload the list, the form and the
    map's tooltip show it literally, and it never runs."""
    number = open_new_draft(page, login, e2e)
    data = draft(page, number)
    feature = sorted(data["grids"]["features"], key=lambda f: f["properties"]["code"])[0]
    code = feature["properties"]["code"]

    # A colleague (the command room) renames the grid meanwhile.
    other = browser.new_context(locale="zh-CN", timezone_id="Asia/Shanghai")
    try:
        colleague = other.new_page()
        login(colleague, "command")
        colleague.goto(e2e.url("/planner/"))
        status, answer = call(colleague, f"/api/v1/planner/drafts/{number}/save/", "POST", {
            "revision": data["revision"],
            "upsert": [{"id": feature["id"], "code": code, "name": XSS_NAME, "community": feature["properties"]["community"]}],
        })
        assert status == 200, answer
    finally:
        other.close()

    # This page still holds the old revision: its rename is refused, nothing is overwritten.
    select_grid(page, code)
    page.fill('[data-testid="grid-name"]', "我改的名")
    page.click('[data-testid="grid-form"] button[type="submit"]')
    conflict = page.locator('[data-testid="conflict"]')
    conflict.wait_for(state="visible")
    lines = conflict.locator("li").all_inner_texts()
    assert len(lines) == 1 and code in lines[0] and str(answer["revision"]) in lines[0], lines
    assert grid_shapes(draft(page, number))[feature["id"]][0]["name"] == XSS_NAME

    page.click('[data-testid="reload"]')
    conflict.wait_for(state="hidden")
    wait_until(page, f"document.body.dataset.revision === '{answer['revision']}'")
    item = page.locator(f'[data-testid="grid-item"][data-code="{code}"]')
    assert XSS_NAME in item.inner_text()  # the list: text, not an element
    assert item.locator("img").count() == 0
    assert page.locator('[data-testid="grid-name"]').input_value() == XSS_NAME  # the form (still selected)

    # The map's tooltip: hover the grid's inside.
    settle(page)
    inside = shape(feature["geometry"]).representative_point()
    page.mouse.move(*pixel(page, inside.x, inside.y))
    tooltip = page.locator(".leaflet-tooltip", has_text=code)
    tooltip.wait_for(state="visible")
    assert XSS_NAME in tooltip.inner_text()
    assert page.locator(".leaflet-tooltip img, #pl-panel-grids img").count() == 0
    page.wait_for_timeout(300)  # an image's onerror would have fired by now
    assert page.evaluate("document.body.dataset.pwned") is None


def test_publishing_sends_the_revision_shown_and_a_refusal_says_why(page, login, e2e):
    number = open_new_draft(page, login, e2e)
    data = draft(page, number)
    feature = sorted(data["grids"]["features"], key=lambda f: f["properties"]["code"])[0]
    page.click('[data-testid="tab-publish"]')
    shown = page.locator('[data-testid="publish-revision"]')
    shown.wait_for(state="visible")
    assert str(data["revision"]) in shown.inner_text()

    # Saved behind the page's back (as a colleague would): the revision the page shows is stale now.
    status, answer = call(page, f"/api/v1/planner/drafts/{number}/save/", "POST", {
        "revision": data["revision"],
        "upsert": [{"id": feature["id"], "code": feature["properties"]["code"], "name": "另存的名",
                    "community": feature["properties"]["community"]}],
    })
    assert status == 200, answer
    page.click('[data-testid="publish"]')  # asks once more
    page.click('[data-testid="publish"]')
    refused = page.locator('[data-testid="publish-refused"]')
    refused.wait_for(state="visible")
    assert str(answer["revision"]) in refused.inner_text()  # the server's message: theirs and ours
    page.locator('[data-testid="conflict"]').wait_for(state="visible")  # who saved what since
    assert draft(page, number)["revision"] == answer["revision"]  # still a draft: nothing published


NEW_GRID_STROKE = "#237804"  # editor.js's NEW_GRID_STYLE: the drawn polygon until it is saved


def new_grid_triangle(data: dict) -> tuple[str, list[tuple[float, float]]]:
    """A grid with room for a triangle of about 80 m inside it, away from its border (no snapping
    needed to keep it inside): (the grid's code, the triangle's corners (lon, lat))."""
    for props, geometry in sorted(grid_shapes(data).values(), key=lambda item: item[0]["code"]):
        c = geometry.representative_point()
        kx = m_per_deg_lon(c.y)
        corners = [(c.x - 40 / kx, c.y - 30 / M_PER_DEG_LAT), (c.x + 40 / kx, c.y - 30 / M_PER_DEG_LAT),
                   (c.x, c.y + 40 / M_PER_DEG_LAT)]
        if shapely.Polygon(corners).buffer(40 / M_PER_DEG_LAT).within(geometry):
            return props["code"], corners
    pytest.fail("no grid of the demo with room for a new one")


def draw_polygon(page, corners) -> None:
    page.click('[data-testid="tool-draw"]')
    wait_until(page, "document.body.dataset.tool === 'draw'")
    points = [pixel(page, *xy) for xy in corners]
    page.keyboard.down("Alt")  # no snapping: the corners land where clicked
    for x, y in points:
        page.mouse.click(x, y)
    page.mouse.click(*points[0])  # the first corner again closes the polygon
    page.keyboard.up("Alt")
    page.wait_for_selector('[data-testid="new-grid-form"]')


def test_a_new_grid_drawn_is_saved_and_undo_deletes_it(page, login, e2e, artifacts_dir):
    number = open_new_draft(page, login, e2e)
    data = draft(page, number)
    code, corners = new_grid_triangle(data)
    select_grid(page, code)  # zooms there
    # Zoomed in from 16: the view's addresses are drawn, as many as the layer API gives for the view.
    box = page.locator("#pl-map").bounding_box()
    page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    page.mouse.wheel(0, -300)  # closer in (a large grid's fit may stop short of 16)
    settle(page)
    view = json.loads(page.evaluate("document.body.dataset.mapView"))
    assert math.log2(view["width"] * 360 / ((view["east"] - view["west"]) * 256)) >= 16
    # The layer is drawn for the view the map came to rest on (a late step of the zoom may still move
    # it after settle), and holds as many addresses as the layer API gives for that view.
    in_view = ("(() => { const v = JSON.parse(document.body.dataset.mapView);"
               " return [v.west, v.south, v.east, v.north].map((x) => x.toFixed(6)).join(','); })()")
    wait_until(page, f"document.body.dataset.addressesBbox === {in_view}")
    bbox = page.evaluate("document.body.dataset.addressesBbox")
    status, addresses = call(page, f"/api/v1/geo/addresses/?bbox={bbox}")
    assert status == 200 and addresses["features"], "the demo has addresses in view"
    assert page.evaluate("document.body.dataset.addresses") == str(len(addresses["features"]))
    select_grid(page, code)

    draw_polygon(page, corners)
    assert page.locator(f'path[stroke="{NEW_GRID_STROKE}"]').count() == 1
    page.fill('[data-testid="new-grid-form"] [data-testid="grid-code"]', "E2E-NEW")
    page.fill('[data-testid="new-grid-form"] [data-testid="grid-name"]', "新画的网格")
    page.click('[data-testid="new-grid-save"]')
    wait_saved(page, 1)
    page.screenshot(path=str(artifacts_dir / "planner-new-grid.png"))
    after = draft(page, number)
    grids = {props["code"]: geometry for props, geometry in grid_shapes(after).values()}
    assert len(grids) == len(data["grids"]["features"]) + 1
    drawn = shapely.Polygon(corners)
    # Where it was drawn, within the clicks' rounding to pixels (a few metres at the zoom of a large grid).
    assert grids["E2E-NEW"].symmetric_difference(drawn).area < drawn.area * 0.2
    offset = grids["E2E-NEW"].centroid
    assert math.hypot((offset.x - drawn.centroid.x) * m_per_deg_lon(offset.y),
                      (offset.y - drawn.centroid.y) * M_PER_DEG_LAT) < 8
    assert page.locator(f'path[stroke="{NEW_GRID_STROKE}"]').count() == 0, "the drawing gave way to the saved grid"
    page.wait_for_selector('[data-testid="grid-item"][data-code="E2E-NEW"][aria-pressed="true"]')

    # Undo of a creation deletes the grid.
    page.click('[data-testid="undo"]')
    wait_saved(page, 2)
    assert "E2E-NEW" not in {props["code"] for props, _g in grid_shapes(draft(page, number)).values()}
    page.wait_for_selector('[data-testid="grid-item"][data-code="E2E-NEW"]', state="detached")

    # A refused save (a code already used) removes the drawing and says why.
    draw_polygon(page, corners)
    page.fill('[data-testid="new-grid-form"] [data-testid="grid-code"]', code)
    page.fill('[data-testid="new-grid-form"] [data-testid="grid-name"]', "重名")
    page.click('[data-testid="new-grid-save"]')
    wait_saved(page, 3)
    assert page.locator("#pl-status").get_attribute("data-kind") == "error"
    assert code in page.locator("#pl-status").inner_text()
    assert page.locator(f'path[stroke="{NEW_GRID_STROKE}"]').count() == 0
    assert page.locator('[data-testid="new-grid-form"]').count() == 0
    assert len(draft(page, number)["grids"]["features"]) == len(data["grids"]["features"])
