// The planners' page, pure modules: (lon, lat) ↔ Leaflet (lat, lon) at the edge, shared vertices
// following a drag, an added or a removed vertex, the undo/redo stack, and the page's texts.
import assert from "node:assert/strict";
import { test } from "node:test";

import { aheadOf, gridsOf, inForceNumber, mergeGrids, otherEditors, sinceLines, summaryText } from "../static/gridlink/planner/format.js";
import { asMulti, boundsOf, depthOf, sameGeometry, swap, toLatLngs, toLineString, toMultiPolygon } from "../static/gridlink/planner/geometry.js";
import { createHistory, newIds, redoPlan, undoPlan } from "../static/gridlink/planner/history.js";
import {
  coincident, insertOnSharedEdge, moveVertices, removeSharedVertex, sameVertex, vertexPaths,
} from "../static/gridlink/planner/shared.js";

// Two unit squares side by side sharing the border x = 121 (lon), y from 30 to 31 (lat).
const WEST = { type: "MultiPolygon", coordinates: [[[[120, 30], [121, 30], [121, 31], [120, 31], [120, 30]]]] };
const EAST = { type: "Polygon", coordinates: [[[121, 30], [122, 30], [122, 31], [121, 31], [121, 30]]] };
const ll = (lng, lat) => ({ lat, lng });

// ---- geometry.js ----------------------------------------------------------------------------------

test("GeoJSON (lon, lat) becomes Leaflet (lat, lng) rings without the closing vertex", () => {
  const latlngs = toLatLngs(WEST);
  assert.equal(depthOf(latlngs), 3);
  assert.deepEqual(latlngs[0][0], [ll(120, 30), ll(121, 30), ll(121, 31), ll(120, 31)]);
});

test("a Polygon is drawn as a one-polygon multi-polygon", () => {
  const latlngs = toLatLngs(EAST);
  assert.equal(latlngs.length, 1);
  assert.equal(latlngs[0][0].length, 4);
});

test("back to GeoJSON: a MultiPolygon in (lon, lat) with closed rings, round trip exact", () => {
  assert.deepEqual(toMultiPolygon(toLatLngs(WEST)), WEST);
  assert.deepEqual(toMultiPolygon(toLatLngs(EAST)).coordinates, [EAST.coordinates]);
  // any Leaflet nesting, LatLng-like objects or [lat, lng] pairs
  assert.deepEqual(toMultiPolygon([[30, 120], [30, 121], [31, 121]]).coordinates, [[[[120, 30], [121, 30], [121, 31], [120, 30]]]]);
  assert.deepEqual(asMulti([ll(1, 2), ll(3, 4), ll(5, 6)]), [[[ll(1, 2), ll(3, 4), ll(5, 6)]]]);
});

test("a drawn line in (lon, lat); any geometry swapped to (lat, lon); bounds; equality", () => {
  assert.deepEqual(toLineString([ll(120.5, 29.9), ll(120.5, 31.1)]), { type: "LineString", coordinates: [[120.5, 29.9], [120.5, 31.1]] });
  assert.deepEqual(swap([[120, 30], [121, 31]]), [[30, 120], [31, 121]]);
  assert.deepEqual(boundsOf(WEST), [[30, 120], [31, 121]]);
  assert.equal(boundsOf({ type: "GeometryCollection", geometries: [] }), null);
  assert.ok(sameGeometry(WEST, toMultiPolygon(toLatLngs(WEST))));
  assert.ok(!sameGeometry(WEST, toMultiPolygon(toLatLngs(EAST))));
});

// ---- shared.js ----------------------------------------------------------------------------------

const grids = () => [
  { id: 1, latlngs: toLatLngs(WEST) },
  { id: 2, latlngs: toLatLngs(EAST) },
  { id: 3, latlngs: toLatLngs({ type: "Polygon", coordinates: [[[130, 40], [131, 40], [131, 41], [130, 40]]] }) },
];

test("the same vertex within 1e-9 degrees, not 1e-8", () => {
  assert.ok(sameVertex(ll(121, 31), ll(121 + 5e-10, 31 - 5e-10)));
  assert.ok(!sameVertex(ll(121, 31), ll(121 + 1e-8, 31)));
});

test("a shared vertex is found in the neighbour, not in the dragged grid or an unrelated one", () => {
  assert.deepEqual(vertexPaths(toLatLngs(EAST), ll(121, 31)), [[0, 0, 3]]);
  assert.deepEqual(coincident(grids(), ll(121, 31), 1), [{ id: 2, paths: [[0, 0, 3]] }]);
  assert.deepEqual(coincident(grids(), ll(120, 31), 1), []);
});

test("moving the shared vertex in both grids keeps their border shared, inputs untouched", () => {
  const all = grids();
  const to = ll(121.25, 31.1);
  const west = moveVertices(all[0].latlngs, vertexPaths(all[0].latlngs, ll(121, 31)), to);
  const east = moveVertices(all[1].latlngs, coincident(all, ll(121, 31), 1)[0].paths, to);
  assert.deepEqual(west[0][0][2], to);
  assert.deepEqual(east[0][0][3], to);
  assert.deepEqual(all[1].latlngs[0][0][3], ll(121, 31), "the input is not changed");
  // the border of the two, as (lon, lat) segments, is the same
  const border = (g) => g.coordinates[0][0].filter(([x]) => x !== 120 && x !== 122);
  assert.deepEqual(new Set(border(toMultiPolygon(west)).map(String)), new Set(border(toMultiPolygon(east)).map(String)));
});

test("a vertex added on a shared edge goes into the neighbour, in either direction", () => {
  const east = toLatLngs(EAST); // its ring runs (121, 31) → (121, 30) on the shared edge
  const inserted = insertOnSharedEdge(east, ll(121, 30), ll(121, 31), ll(121.1, 30.5));
  assert.deepEqual(inserted.paths, [[0, 0, 4]]);
  assert.deepEqual(inserted.latlngs[0][0][4], ll(121.1, 30.5));
  assert.equal(inserted.latlngs[0][0].length, 5);
  assert.equal(insertOnSharedEdge(east, ll(122, 30), ll(121, 31), ll(0, 0)), null, "a diagonal is no edge");
});

test("a vertex removed from a shared border goes from the neighbour too, not from a junction elsewhere", () => {
  // both grids hold (121, 30.5) between (121, 30) and (121, 31)
  const west = toLatLngs({ type: "Polygon", coordinates: [[[120, 30], [121, 30], [121, 30.5], [121, 31], [120, 31], [120, 30]]] });
  const east = toLatLngs({ type: "Polygon", coordinates: [[[121, 30], [122, 30], [122, 31], [121, 31], [121, 30.5], [121, 30]]] });
  const result = removeSharedVertex(east, ll(121, 30.5), ll(121, 30), ll(121, 31));
  assert.deepEqual(result[0][0], [ll(121, 30), ll(122, 30), ll(122, 31), ll(121, 31)]);
  assert.equal(removeSharedVertex(west, ll(121, 30.5), ll(120, 30), ll(121, 31)), null);
});

// ---- history.js ---------------------------------------------------------------------------------

const g = (id, code, geometry = WEST) => ({ id, code, name: code, community: 7, geometry });

test("undo sends the grids as they were; redo as they became", () => {
  const entry = { op: "save", before: [g(1, "A", WEST)], after: [g(1, "A", EAST)] };
  assert.deepEqual(undoPlan(entry), { upsert: [g(1, "A", WEST)], delete: [] });
  assert.deepEqual(redoPlan(entry), { upsert: [g(1, "A", EAST)], delete: [] });
});

test("undoing a split deletes the new part; undoing a merge brings the second grid back", () => {
  const split = { op: "split", before: [g(1, "A")], after: [g(1, "A", EAST), g(9, "A-2")] };
  assert.deepEqual(undoPlan(split).delete, [9]);
  const merge = { op: "merge", before: [g(1, "A"), g(2, "B")], after: [g(1, "A", EAST)] };
  assert.deepEqual(undoPlan(merge), { upsert: [g(1, "A"), g(2, "B")], delete: [] });
  assert.deepEqual(redoPlan(merge).delete, [2]);
});

test("undoing a new grid deletes it; redoing sends it again (app.js drops its id: a new row)", () => {
  const created = { op: "create", before: [], after: [g(12, "N")] };
  assert.deepEqual(undoPlan(created), { upsert: [], delete: [12] });
  assert.deepEqual(redoPlan(created), { upsert: [g(12, "N")], delete: [] });
  const history = createHistory();
  history.push(created);
  history.undone();
  history.renumber(newIds([g(12, "N")], [{ id: 13, code: "N" }]));
  assert.deepEqual(history.redoable().after, [g(13, "N")]);
});

test("the stack: undo, redo, a new save forgets what was undone; ids renumbered", () => {
  const history = createHistory({ limit: 3 });
  assert.equal(history.undoable(), null);
  const e = (n) => ({ op: "save", before: [g(n, `G${n}`)], after: [g(n, `G${n}`, EAST)] });
  [1, 2, 3, 4].forEach((n) => history.push(e(n)));
  assert.deepEqual(history.size, { done: 3, undone: 0 }, "the oldest beyond the limit is dropped");
  assert.equal(history.undoable().before[0].id, 4);
  history.undone();
  assert.equal(history.undoable().before[0].id, 3);
  assert.equal(history.redoable().before[0].id, 4);
  history.push(e(5));
  assert.equal(history.redoable(), null);
  history.renumber(new Map([[5, 50]]));
  assert.equal(history.undoable().after[0].id, 50);
  history.redone();
  assert.deepEqual(history.size, { done: 3, undone: 0 });
  assert.deepEqual(newIds([g(2, "B")], [{ id: 12, code: "B" }, { id: 1, code: "A" }]), new Map([[2, 12]]));
});

// ---- format.js ----------------------------------------------------------------------------------

const TEXT = {
  staleLine: "rev %(revision)s %(name)s %(time)s: %(what)s",
  changed: "changed %(codes)s", added: "added %(codes)s", deleted: "deleted %(codes)s",
};
const OPS = { save: "edited", split: "split" };

test("a stale save's log: who saved which revision when, and what it did", () => {
  const since = [{ revision: 8, name: "王工", at: "2026-05-01T02:05:00Z", summary: { op: "split", changed: ["G01"], added: ["G01-2"] } }];
  assert.deepEqual(sinceLines(since, TEXT, OPS, "Asia/Shanghai"), ["rev 8 王工 05-01 10:05: split: changed G01, added G01-2"]);
  assert.equal(summaryText({ op: "save", deleted: ["X"] }, TEXT, OPS), "edited: deleted X");
});

test("other editors, newer revisions, the version in force", () => {
  assert.deepEqual(otherEditors([{ user: 1, name: "me" }, { user: 2, name: "李" }], 1), ["李"]);
  assert.ok(aheadOf(5, 4) && !aheadOf(4, 4) && !aheadOf(undefined, 4));
  const versions = [
    { number: 1, status: "published", effective_from: "2026-01-01T00:00:00Z" },
    { number: 2, status: "published", effective_from: "2026-06-01T00:00:00Z" },
    { number: 3, status: "draft", effective_from: null },
  ];
  assert.equal(inForceNumber(versions, Date.parse("2026-05-01T00:00:00Z")), 1);
  assert.equal(inForceNumber(versions, Date.parse("2026-07-01T00:00:00Z")), 2);
});

test("grids from a FeatureCollection (id on the feature or in the properties), merged after a save", () => {
  const fc = { type: "FeatureCollection", features: [
    { type: "Feature", id: 2, properties: { code: "B", name: "b", community: 7 }, geometry: EAST },
    { type: "Feature", properties: { id: 1, code: "A", name: "a", community: null }, geometry: WEST },
  ] };
  const list = gridsOf(fc);
  assert.deepEqual(list.map((x) => [x.id, x.code]), [[1, "A"], [2, "B"]]);
  const merged = mergeGrids(list, [{ ...list[0], name: "a2" }, { id: 3, code: "A-2" }], [2]);
  assert.deepEqual(merged.map((x) => [x.id, x.code, x.name]), [[1, "A", "a2"], [3, "A-2", undefined]]);
});
