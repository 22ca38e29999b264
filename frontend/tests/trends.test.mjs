// The year-over-year page's colour rules (static/gridlink/reports/trends-format.js) and the
// hot-spot layer's helpers (static/gridlink/heat.js).
import { test } from "node:test";
import assert from "node:assert/strict";

import { growthClass, growthColour, monthNumber, ratePercent } from "../static/gridlink/reports/trends-format.js";
import { heatMax, heatUrl } from "../static/gridlink/heat.js";

test("a grid's growth class follows the zero-growth grades", () => {
  assert.equal(growthClass({ this: 0, last: 0, change: 0, new: false }), "none");
  assert.equal(growthClass({ this: 3, last: 0, change: null, new: true }), "poor");
  assert.equal(growthClass({ this: 8, last: 10, change: -0.2, new: false }), "down");
  assert.equal(growthClass({ this: 10, last: 10, change: 0, new: false }), "flat");
  assert.equal(growthClass({ this: 11, last: 10, change: 0.1, new: false }), "fair");
  assert.equal(growthClass({ this: 12, last: 10, change: 0.2, new: false }), "poor");
  assert.equal(growthClass(undefined), "none");
  assert.equal(growthColour({ this: 12, last: 10, change: 0.2 }), "#d73027");
});

test("month numbers and percentages for the charts", () => {
  assert.equal(monthNumber("2026-03"), "3");
  assert.equal(monthNumber("2026-12"), "12");
  assert.equal(ratePercent(0.8333), 83.3);
  assert.equal(ratePercent(null), null);
});

test("the heat API address keeps the sub-district and sets the choices", () => {
  assert.equal(heatUrl("/api/v1/reports/heat/?subdistrict=A1", 30, ""), "/api/v1/reports/heat/?subdistrict=A1&days=30");
  assert.equal(heatUrl("/api/v1/reports/heat/?subdistrict=A1", "7", "fire"),
    "/api/v1/reports/heat/?subdistrict=A1&days=7&category=fire");
});

test("the hottest colour is the 95th percentile of the cells' counts, at least 2", () => {
  assert.equal(heatMax([]), 1);
  assert.equal(heatMax([[0, 0, 1]]), 2);
  const points = Array.from({ length: 100 }, (_, i) => [0, 0, i + 1]);
  assert.equal(heatMax(points), 96);
});
