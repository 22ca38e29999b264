// The wall's store (wall/static/wall/store.js): snapshot and events applied, duplicates dropped by
// event id (a late commit with a lower id still counts), the resume point, positions never back in
// time, the deadlines and overdue cases, the server's status groups.
import assert from "node:assert/strict";
import { test } from "node:test";

import { RESUME_OVERLAP, createWallStore } from "../../wall/static/wall/store.js";

// As frontend/page_config.py renders them (shared.statusGroups).
const GROUPS = {
  open: ["needs_location", "new", "dispatched", "arrived", "reported", "resolved", "transferred", "assigned",
    "in_progress", "completed", "reported_to_command", "fed_back"],
  done: ["resolved", "completed", "reported_to_command", "fed_back"],
  liveOrder: ["dispatched", "accepted"],
};
const NOW = Date.parse("2026-11-24T08:00:00+08:00");
const iso = (t) => new Date(t).toISOString();
const MIN = 60 * 1000;

function storeWithLog() {
  const store = createWallStore({ groups: GROUPS, clock: () => NOW });
  const log = [];
  store.subscribe((change) => log.push(change));
  return { store, log };
}

const snapshot = () => ({
  now: iso(NOW),
  incidents: [
    { id: 1, number: "A1", status: "new", point: [120, 30], reported_at: iso(NOW - 5 * MIN), orders: [] },
    { id: 2, number: "A2", status: "dispatched", point: [120.1, 30.1], reported_at: iso(NOW - 2 * MIN),
      orders: [{ id: 9, member: 7, state: "accepted", arrive_by: iso(NOW + 20 * MIN) }] },
    { id: 3, number: "A3", status: "resolved", point: [120.2, 30.2], reported_at: iso(NOW - 9 * MIN), orders: [] },
  ],
  members: [{ id: 7, name: "Li", status: "on_duty", point: [120, 30], at: iso(NOW - MIN) }],
  grids: [{ code: "G1", load: 2 }],
  counts: { today: 3, open: 2, overdue: 0 },
  alarms: [],
  events: [{ id: 40, at: iso(NOW - MIN) }, { id: 39, at: iso(NOW - 2 * MIN) }],
  last_event: 40,
});

test("a snapshot fills the store, marks responders on a live order busy and sets the cursor", () => {
  const { store, log } = storeWithLog();
  store.applySnapshot(snapshot(), "start");
  assert.deepEqual(store.openIncidents().map((i) => i.id), [2, 1]); // newest first, resolved is done
  assert.equal(store.member(7).status, "busy");
  assert.equal(store.state.lastEvent, 40);
  assert.equal(store.state.gridLoads.G1, 2);
  const last = log.at(-1);
  assert.equal(last.type, "snapshot");
  assert.equal(last.first, true);
  assert.equal(last.events.length, 2);
  assert.equal(store.state.ready, true);
});

test("an incident missing from the next snapshot is removed; a periodic one keeps the cursor", () => {
  const { store, log } = storeWithLog();
  store.applySnapshot(snapshot(), "start");
  const next = snapshot();
  next.incidents = next.incidents.filter((i) => i.id !== 1);
  next.last_event = 99;
  store.applySnapshot(next, "periodic");
  assert.equal(store.incident(1), null);
  assert.ok(log.some((c) => c.type === "removed" && c.incident.id === 1));
  assert.equal(store.state.lastEvent, 40);
  assert.equal(log.at(-1).events, null);
});

test("an event is applied once: the same id again is dropped", () => {
  const { store } = storeWithLog();
  store.applySnapshot(snapshot(), "start");
  assert.equal(store.applyEvent({ id: 40, incident: 1, kind: "created", at: iso(NOW) }), null); // in the snapshot
  const first = store.applyEvent({ id: 41, incident: 1, kind: "status_changed", status: "dispatched", at: iso(NOW) });
  assert.equal(first.summary, true);
  assert.equal(store.incident(1).status, "dispatched");
  assert.equal(store.applyEvent({ id: 41, incident: 1, kind: "status_changed", status: "dispatched", at: iso(NOW) }), null);
  assert.equal(store.state.lastEvent, 41);
});

test("an event committed late with a lower id still counts, and the cursor does not go back", () => {
  const { store } = storeWithLog();
  store.applySnapshot(snapshot(), "start");
  store.applyEvent({ id: 50, incident: 1, kind: "note", at: iso(NOW) });
  const late = store.applyEvent({ id: 45, incident: 2, kind: "note", at: iso(NOW) });
  assert.ok(late);
  assert.equal(store.state.lastEvent, 50);
});

test("the socket resumes a little before the newest event; nothing to resume before any", () => {
  const { store } = storeWithLog();
  assert.equal(store.resumeFrom(), null);
  store.caughtUp(1000);
  assert.equal(store.resumeFrom(), 1000 - RESUME_OVERLAP);
  store.caughtUp(10);
  assert.equal(store.state.lastEvent, 1000);
});

test("a closing event takes the case off; a dispatch makes the responder busy", () => {
  const { store } = storeWithLog();
  store.applySnapshot(snapshot(), "start");
  store.member(7).status = "on_duty";
  store.applyEvent({ id: 60, incident: 2, kind: "dispatched", data: { member: 7 }, at: iso(NOW) });
  assert.equal(store.member(7).status, "busy");
  const result = store.applyEvent({ id: 61, incident: 1, kind: "status_changed", status: "closed", at: iso(NOW) });
  assert.equal(result.gone, true);
  assert.equal(store.incident(1), null);
  assert.equal(store.isGone("merged"), true);
  assert.equal(store.isGone(undefined), false);
});

test("during a replay an event only moves the cursor", () => {
  const { store } = storeWithLog();
  store.applySnapshot(snapshot(), "start");
  store.applyEvent({ id: 70, incident: 1, kind: "status_changed", status: "closed", at: iso(NOW) }, { cursorOnly: true });
  assert.equal(store.incident(1).status, "new");
  assert.equal(store.state.lastEvent, 70);
});

test("positions never go back in time and survive an older snapshot", () => {
  const { store } = storeWithLog();
  store.applySnapshot(snapshot(), "start");
  assert.equal(store.applyPositions([{ member: 7, lon: 121, lat: 31, at: iso(NOW) }]).length, 1);
  assert.equal(store.applyPositions([{ member: 7, lon: 122, lat: 32, at: iso(NOW - 30 * MIN) }]).length, 0);
  assert.deepEqual(store.member(7).point, [121, 31]);
  store.applySnapshot(snapshot(), "periodic"); // read before the position came
  assert.deepEqual(store.member(7).point, [121, 31]);
});

test("deadlines come from live orders; a passed one makes the case overdue", () => {
  const { store } = storeWithLog();
  store.applySnapshot(snapshot(), "start");
  const two = store.incident(2);
  assert.equal(store.countdownDeadline(two), iso(NOW + 20 * MIN));
  assert.equal(store.isOverdue(two), false);
  assert.deepEqual(store.overdueIncidents(NOW + 21 * MIN).map((i) => i.id), [2]);
  assert.equal(store.countdownDeadline(store.incident(1)), null);
});

test("the card's timeline is kept when the state's shape comes again", () => {
  const { store } = storeWithLog();
  store.upsertIncident({ id: 5, status: "new", timeline: [{ id: 1 }] });
  store.upsertIncident({ id: 5, status: "dispatched" });
  assert.deepEqual(store.incident(5).timeline, [{ id: 1 }]);
});

// Rows as the frames carry them (the snapshot's shape), times in the server's zone.
const local = (t) => new Date(t + 8 * 60 * MIN).toISOString().slice(0, 19) + "+08:00";
const row = (fields) => ({
  number: "B", point: [120, 30], reported_at: local(NOW - MIN), orders: [],
  category: { code: "noise", name: "噪音" }, channel: { code: "hotline", name: "热线" }, grid: { code: "G1", name: "一" },
  ...fields,
});

test("an event's row is applied as it is: a new case appears, a status change redraws it, counts follow", () => {
  const store = createWallStore({ groups: GROUPS, clock: () => NOW, timeZone: "Asia/Shanghai" });
  store.applySnapshot(snapshot(), "start");
  const created = store.applyEvent({ id: 41, incident: 5, kind: "created", status: "new", at: iso(NOW) },
    { row: row({ id: 5, status: "new" }) });
  assert.equal(created.previous, null);
  assert.equal(store.incident(5).number, "B");
  assert.equal(store.state.gridLoads.G1, 1);
  assert.equal(store.state.counts.today, 1); // only id 5 has a category and a local time today
  assert.deepEqual(store.state.counts.by_category, [{ code: "noise", name: "噪音", count: 1 }]);
  const order = { id: 9, member: 7, state: "dispatched", arrive_by: iso(NOW + 10 * MIN) };
  const changed = store.applyEvent({ id: 42, incident: 5, kind: "status_changed", status: "dispatched", at: iso(NOW) },
    { row: row({ id: 5, status: "dispatched", orders: [order] }) });
  assert.equal(changed.previous.status, "new");
  assert.equal(store.incident(5).orders.length, 1);
  assert.equal(store.member(7).status, "busy");
  assert.equal(store.state.counts.open, 4);
});

test("a row of a case closed today keeps it (off the map); null takes it off the board", () => {
  const store = createWallStore({ groups: GROUPS, clock: () => NOW, timeZone: "Asia/Shanghai" });
  store.applySnapshot(snapshot(), "start");
  const closed = store.applyEvent({ id: 41, incident: 1, kind: "status_changed", status: "closed", at: iso(NOW) },
    { row: row({ id: 1, status: "closed" }) });
  assert.equal(closed.gone, true);
  assert.equal(store.incident(1).status, "closed");
  assert.equal(store.state.counts.open, 2);
  const merged = store.applyEvent({ id: 42, incident: 2, kind: "merged", status: "merged", at: iso(NOW) }, { row: null });
  assert.equal(merged.gone, true);
  assert.equal(store.incident(2), null);
});
