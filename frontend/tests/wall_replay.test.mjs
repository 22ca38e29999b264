// Replay of a day (static/wall/replay-model.js): statuses as they stood, positions
// interpolated on tracks, responders without a track moved along their route, the queue at a time.
import assert from "node:assert/strict";
import { test } from "node:test";

import { REPLAY_TRAVEL_MS, alongRoute, frameAt, panelsAt, prepareDay, statusAt, trackAt } from "../static/wall/replay-model.js";

const T0 = Date.parse("2026-11-23T00:00:00+08:00");
const iso = (t) => new Date(t).toISOString();
const MIN = 60000;
const isGone = (s) => s === "closed" || s === "merged";
const isDone = (s) => s === "resolved";

const day = prepareDay({
  date: "2026-11-23",
  start: iso(T0),
  end: iso(T0 + 24 * 60 * MIN),
  incidents: [
    { id: 1, number: "A1", point: [120, 30], reported_at: iso(T0 + 60 * MIN), category: { code: "fire", name: "Fire" },
      channel: { code: "110", name: "110" },
      statuses: [[iso(T0 + 60 * MIN), "new"], [iso(T0 + 70 * MIN), "resolved"], [iso(T0 + 90 * MIN), "closed"]] },
  ],
  orders: [{ member: 8, dispatched_at: iso(T0 + 61 * MIN), arrived_at: null, route: [[120, 30], [120, 31]] }],
  tracks: { 7: [[iso(T0 + 20 * MIN), 121, 31], [iso(T0 + 10 * MIN), 120, 30]] },
});

test("a track is sorted and interpolated; nothing before its first fix", () => {
  assert.equal(trackAt(day.tracks[7], T0), null);
  assert.deepEqual(trackAt(day.tracks[7], T0 + 15 * MIN), [120.5, 30.5]);
  assert.deepEqual(trackAt(day.tracks[7], T0 + 99 * MIN), [121, 31]);
});

test("a point along a route by its length", () => {
  const route = [[0, 0], [1, 0], [1, 1]];
  assert.deepEqual(alongRoute(route, 0.5), [1, 0]);
  assert.deepEqual(alongRoute(route, 0.75), [1, 0.5]);
  assert.deepEqual(alongRoute(route, 2), [1, 1]);
});

test("statuses as they stood", () => {
  const incident = day.incidents[0];
  assert.equal(statusAt(incident, T0), "new");
  assert.equal(statusAt(incident, T0 + 75 * MIN), "resolved");
});

test("a frame: cases on the map, responders on the way moved along their route", () => {
  const t = T0 + 61 * MIN + REPLAY_TRAVEL_MS / 2;
  const frame = frameAt(day, t, isGone);
  assert.deepEqual(frame.incidents.map((i) => [i.incident.id, i.status]), [[1, "new"]]);
  assert.deepEqual(frame.onTheWay, [0]);
  assert.deepEqual(frame.positions[8], [120, 30.5]);
  assert.equal(frame.busy[8], true);
  assert.equal(frameAt(day, T0 + 95 * MIN, isGone).incidents.length, 0); // closed
});

test("the panels at a time: the queue and the counts, redrawn only on change", () => {
  const words = { isGone, isDone, statuses: { new: "新" } };
  const early = panelsAt(day, T0 + 65 * MIN, words);
  assert.equal(early.open.length, 1);
  assert.equal(early.open[0].status_label, "新");
  assert.deepEqual(early.counts.by_category, [{ code: "fire", name: "Fire", count: 1 }]);
  assert.equal(panelsAt(day, T0 + 66 * MIN, words).key, early.key);
  const later = panelsAt(day, T0 + 75 * MIN, words);
  assert.equal(later.open.length, 0);
  assert.equal(later.counts.today, 1);
});
