// The console's pure logic (static/gridlink/console/cases.js): the case fields the queues show
// whatever the API row's shape, the bodies the forms post, the suggested categories, the offices'
// lead, the call-back body, the highlight's clock.
import assert from "node:assert/strict";
import { test } from "node:test";

import {
  assignBody, byNewest, callBody, callbackBody, callbackCase, caseView, codeOf, coordsLabel, createHighlight,
  debounce, indexByCode, nameOf, pointBody, pointParams, resultCase, suggestionRows, tickOffice,
} from "../static/gridlink/console/cases.js";

const CATEGORIES = indexByCode([
  { code: "public_order", name: "Public order", police: true, major: false },
  { code: "fire", name: "Fire", police: true, major: true },
  { code: "dispute", name: "Neighbour dispute", police: false, major: false },
]);
const STATUSES = { new: "新警情", needs_location: "待定位" };
const latlng = { lat: 31.2345678912, lng: 121.4567891234 };

test("names and codes of plain values and objects", () => {
  assert.equal(nameOf(null), "");
  assert.equal(nameOf("A1"), "A1");
  assert.equal(nameOf({ name: "网格一", code: "G1" }), "网格一");
  assert.equal(nameOf({ label: "L" }), "L");
  assert.equal(codeOf({ code: "G1", id: 3 }), "G1");
  assert.equal(codeOf({ id: 3 }), 3);
  assert.equal(codeOf(undefined), "");
});

test("a flat API row: the picker's category name, the server's status label, the point", () => {
  const view = caseView(
    {
      id: 7, number: "20260101-0007", status: "new", category: "dispute", category_name: "邻里纠纷",
      major: 1, grid_name: "G-01", community: { name: "幸福社区" }, address: "幸福里 8 幢",
      description: "<b>吵架</b>", reported_at: "2026-01-01T02:00:00Z", lonLat: [121.4, 31.2],
    },
    { categories: CATEGORIES, statuses: STATUSES },
  );
  assert.deepEqual(view, {
    id: 7, number: "20260101-0007", status: "new", statusLabel: "新警情", category: "Neighbour dispute",
    police: false, major: true, grid: "G-01", community: "幸福社区", address: "幸福里 8 幢",
    description: "<b>吵架</b>", reportedAt: "2026-01-01T02:00:00Z", outside: false, lonLat: [121.4, 31.2],
  });
});

test("a nested row: status and category objects, the location as GeoJSON, no number yet", () => {
  const view = caseView(
    {
      id: 9, status: { code: "needs_location", label: "Needs location" }, category: { code: "other", name: "其他", is_police: true },
      location: { type: "Point", coordinates: [121.5, 31.3] }, created_at: "2026-01-01T03:00:00Z", outside_jurisdiction: true,
    },
    { categories: CATEGORIES, statuses: STATUSES },
  );
  assert.equal(view.number, "#9");
  assert.equal(view.status, "needs_location");
  assert.equal(view.statusLabel, "Needs location");
  assert.equal(view.category, "其他");
  assert.equal(view.police, true);
  assert.equal(view.outside, true);
  assert.equal(view.reportedAt, "2026-01-01T03:00:00Z");
  assert.deepEqual(view.lonLat, [121.5, 31.3]);
  // The police flag from the picker when the row has none; the code when nothing names the status.
  const bare = caseView({ id: 1, status: "odd", category: "fire" }, { categories: CATEGORIES, statuses: STATUSES });
  assert.equal(bare.police, true);
  assert.equal(bare.statusLabel, "odd");
  assert.equal(bare.lonLat, null);
});

test("queues are newest first, a case without a time last", () => {
  const views = [{ reportedAt: "2026-01-01T01:00:00Z" }, { reportedAt: null }, { reportedAt: "2026-01-01T03:00:00Z" }];
  assert.deepEqual(views.sort(byNewest).map((v) => v.reportedAt), ["2026-01-01T03:00:00Z", "2026-01-01T01:00:00Z", null]);
});

test("points: GeoJSON (lon, lat) with 7 decimals, the query names the datum", () => {
  assert.deepEqual(pointBody(latlng), { type: "Point", coordinates: [121.4567891, 31.2345679] });
  assert.deepEqual(pointParams(latlng, "GCJ02"), { lon: "121.4567891", lat: "31.2345679", datum: "GCJ02" });
  assert.equal(coordsLabel(latlng), "121.45679, 31.23457");
});

test("a hotline call: trimmed text, unchosen hotline and category left out, the pin's datum, a link", () => {
  const values = { channel: "", category: "", description: "  打架 ", caller_phone: " 138 ", caller_name: "", address: "", major: false };
  assert.deepEqual(callBody(values, null, null), { description: "打架", major: false, caller_phone: "138" });
  const full = callBody({ ...values, channel: "hotline_110", category: "fire", major: true }, { latlng, datum: "WGS84" }, 42);
  assert.deepEqual(full, {
    description: "打架", major: true, channel: "hotline_110", category: "fire", caller_phone: "138",
    location: { type: "Point", coordinates: [121.4567891, 31.2345679] }, datum: "WGS84", link_to: 42,
  });
});

test("an assignment form: the joint channel, the offices in order ticked", () => {
  let offices = tickOffice([], 3, true);
  offices = tickOffice(offices, 1, true);
  offices = tickOffice(offices, 3, false);
  offices = tickOffice(offices, 3, true);
  assert.deepEqual(offices, [1, 3]);
  const body = assignBody({ description: " 占道 ", category: "dispute", deadline: "", address: "  " }, { channel: "joint", offices, pin: null });
  assert.deepEqual(body, { channel: "joint", description: "占道", offices: [1, 3], category: "dispute" });
  offices.push(9);
  assert.deepEqual(body.offices, [1, 3], "the body keeps its own copy");
  const placed = assignBody({ description: "x", deadline: "2026-01-02T10:00", address: "路口" }, { channel: "joint", offices: [], pin: { latlng, datum: "GCJ02" } });
  assert.equal(placed.deadline, "2026-01-02T10:00");
  assert.equal(placed.address, "路口");
  assert.equal(placed.datum, "GCJ02");
});

test("the case an intake answers with, in any of its shapes", () => {
  assert.deepEqual(resultCase({ id: 5, number: "N5" }), { id: 5, number: "N5" });
  assert.deepEqual(resultCase({ incident: { id: 6, number: "N6" }, linked: true }), { id: 6, number: "N6" });
  const feature = { type: "Feature", id: 8, geometry: { type: "Point", coordinates: [1, 2] }, properties: { number: "N8" } };
  assert.deepEqual(resultCase(feature), { number: "N8", id: 8, lonLat: [1, 2] });
  assert.deepEqual(resultCase(null), {});
});

test("suggested categories: known ones only, in the API's order, whatever the wrapper", () => {
  const rows = [{ code: "fire", score: 3 }, { code: "unknown", score: 2 }, { category: { code: "dispute" }, score: 1 }];
  const expected = [{ code: "fire", score: 3 }, { code: "dispute", score: 1 }];
  assert.deepEqual(suggestionRows(rows, CATEGORIES), expected);
  assert.deepEqual(suggestionRows({ suggestions: rows }, CATEGORIES), expected);
  assert.deepEqual(suggestionRows({ results: rows }, CATEGORIES), expected);
  assert.deepEqual(suggestionRows(null, CATEGORIES), []);
});

test("a call-back: satisfaction only when reached, the note trimmed", () => {
  assert.deepEqual(callbackBody({ state: "done", satisfaction: "dissatisfied", note: " 不满意 ", reopen: true }),
    { state: "done", note: "不满意", reopen: true, satisfaction: "dissatisfied" });
  assert.deepEqual(callbackBody({ state: "unreachable", satisfaction: "satisfied", note: "", reopen: false }),
    { state: "unreachable", note: "", reopen: false });
  assert.deepEqual(callbackCase({ incident: 4, incident_number: "N4" }), { id: 4, number: "N4" });
  assert.deepEqual(callbackCase({ incident: { id: 5, number: "N5" } }), { id: 5, number: "N5" });
  assert.deepEqual(callbackCase({ incident_id: 6 }), { id: 6, number: "#6" });
});

test("the case just taken stays highlighted for 20 s", () => {
  let now = 1000;
  const highlight = createHighlight(20000, () => now);
  assert.equal(highlight.id, null);
  assert.equal(highlight.isFresh(null), false);
  highlight.set(7);
  assert.equal(highlight.isFresh(7), true);
  assert.equal(highlight.isFresh(8), false);
  now += 20001;
  assert.equal(highlight.isFresh(7), false);
  assert.equal(highlight.id, 7, "the map's marker stays marked until the next one");
});

test("debounce: one call after a burst, with the last arguments", async () => {
  const calls = [];
  const typed = debounce((value) => calls.push(value), 20);
  typed("a");
  typed("ab");
  typed("abc");
  await new Promise((resolve) => setTimeout(resolve, 50));
  assert.deepEqual(calls, ["abc"]);
});
