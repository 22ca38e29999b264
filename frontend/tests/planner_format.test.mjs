// The planners' page's reading of the API's grid features, areas and the "in force from" input.
import assert from "node:assert/strict";
import { test } from "node:test";

import { formatArea, gridOf, instantOf } from "../static/gridlink/planner/format.js";

const SQUARE = { type: "MultiPolygon", coordinates: [[[[114, 30], [114.01, 30], [114.01, 30.01], [114, 30]]]] };

test("a grid feature as the page keeps it: the feature's id, its properties, its geometry", () => {
  const feature = { type: "Feature", id: 12, geometry: SQUARE,
    properties: { code: "G03", name: "三网格", community: 4, community_name: "东社区", area_m2: 1000 } };
  assert.deepEqual(gridOf(feature),
    { id: 12, code: "G03", name: "三网格", community: 4, community_name: "东社区", geometry: SQUARE });
});

test("a grid feature with missing properties reads as empty, never undefined", () => {
  assert.deepEqual(gridOf({ type: "Feature", id: 5, geometry: null }),
    { id: 5, code: "", name: "", community: null, community_name: "", geometry: null });
});

test("areas: whole square metres with the language's grouping; nothing for no number", () => {
  assert.equal(formatArea(1234567.4), "1,234,567");
  assert.equal(formatArea("2500.6"), "2,501");
  assert.equal(formatArea(1234567, "de-DE"), "1.234.567");
  for (const none of [null, undefined, "n/a", Number.NaN, Infinity]) assert.equal(formatArea(none), "", String(none));
});

test("the datetime-local input's wall-clock value becomes an instant; empty or invalid is null", () => {
  const local = "2026-12-05T08:00";
  assert.equal(instantOf(local), new Date(2026, 11, 5, 8, 0).toISOString());
  assert.equal(instantOf(""), null);
  assert.equal(instantOf(null), null);
  assert.equal(instantOf("tomorrow"), null);
});
