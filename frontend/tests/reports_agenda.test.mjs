import assert from "node:assert/strict";
import { test } from "node:test";

import { spotOrder, spotRadius } from "../static/gridlink/reports/agenda-spots.js";

test("a hot issue's circle grows with its count and is capped", () => {
  assert.equal(spotRadius(3), 10);
  assert.ok(spotRadius(4) > spotRadius(3));
  assert.ok(spotRadius(20) > spotRadius(9));
  assert.equal(spotRadius(10000), 30);
  assert.equal(spotRadius("x"), spotRadius(1));
});

test("the biggest clusters are drawn first, ties by rank, without changing the input", () => {
  const spots = [{ rank: 2, count: 3 }, { rank: 1, count: 9 }, { rank: 3, count: 3 }];
  assert.deepEqual(spotOrder(spots).map((s) => s.rank), [1, 2, 3]);
  assert.deepEqual(spots.map((s) => s.rank), [2, 1, 3]);
  assert.deepEqual(spotOrder(undefined), []);
});
