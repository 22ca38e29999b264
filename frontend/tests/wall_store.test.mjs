// The wall's store (static/wall/store.js): snapshot and events applied, duplicates dropped by
// event id (a late commit with a lower id still counts), the resume point, positions never back in
// time, the deadlines and overdue cases, the server's status groups; and what changes with no event
// and no snapshot (tick()): duty by the shifts, busy ending with the order, snoozes running out,
// the day's turn, alarms kept from their events, staff's changes to responders (a members frame).
import assert from "node:assert/strict";
import { test } from "node:test";

import { RESUME_OVERLAP, createWallStore } from "../static/wall/store.js";

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

test("an incident missing from the next snapshot is removed; the day's reload keeps the cursor", () => {
  const { store, log } = storeWithLog();
  store.applySnapshot(snapshot(), "start");
  const next = snapshot();
  next.incidents = next.incidents.filter((i) => i.id !== 1);
  next.last_event = 99;
  store.applySnapshot(next, "day");
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
  store.applySnapshot(snapshot(), "day"); // read before the position came
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

// ---- what changes with no event and no snapshot ----

const BUSY = { statuses: ["new", "dispatched", "arrived", "reported"], orderStates: ["dispatched", "accepted", "arrived"] };
const POST = [120.3, 30.3];
const HOME_POST = [120.4, 30.4];

/** A store whose clock the test moves (`clock.t`), in the server's zone. */
function timedStore(options = {}) {
  const clock = { t: NOW };
  const store = createWallStore({ groups: GROUPS, clock: () => clock.t, timeZone: "Asia/Shanghai", busy: BUSY, ...options });
  const log = [];
  store.subscribe((change) => log.push(change));
  return { store, clock, log };
}

const shift = (from, to, post = null) => ({ starts_at: local(from), ends_at: local(to), post });

test("a responder goes off duty when the shift ends and on again when the next starts, with no snapshot", () => {
  const { store, clock, log } = timedStore();
  const state = snapshot();
  state.incidents = [];
  state.members = [
    // on duty until 08:30, again 09:00-10:00 at a post of that shift; no position shared
    { id: 7, name: "Li", status: "on_duty", point: HOME_POST, at: null, source: "duty_post", duty_post: HOME_POST,
      shifts: [shift(NOW - 60 * MIN, NOW + 30 * MIN), shift(NOW + 60 * MIN, NOW + 120 * MIN, POST)] },
    // a shift starting as the first ends: on duty throughout
    { id: 8, name: "Wu", status: "on_duty", point: [120, 30], at: iso(NOW - MIN), source: "live", duty_post: null,
      shifts: [shift(NOW - 60 * MIN, NOW + 30 * MIN), shift(NOW + 30 * MIN, NOW + 90 * MIN)] },
  ];
  store.applySnapshot(state, "start");
  store.tick();
  assert.equal(store.member(7).status, "on_duty");
  clock.t = NOW + 30 * MIN - 1000;
  store.tick();
  assert.equal(store.member(7).status, "on_duty");
  log.length = 0;
  clock.t = NOW + 30 * MIN; // the end is not part of the shift
  store.tick();
  assert.equal(store.member(7).status, "off_duty");
  assert.equal(store.member(7).point, null); // off duty and no position: not drawn
  assert.equal(store.member(8).status, "on_duty");
  assert.deepEqual(log.filter((c) => c.type === "member").map((c) => c.member.id), [7]);
  clock.t = NOW + 60 * MIN;
  store.tick();
  assert.equal(store.member(7).status, "on_duty");
  assert.deepEqual(store.member(7).point, POST); // at the post of that shift
  assert.equal(store.member(7).source, "duty_post");
  clock.t = NOW + 120 * MIN;
  store.tick();
  assert.equal(store.member(7).status, "off_duty");
  assert.equal(store.member(8).status, "off_duty");
  assert.deepEqual(store.member(8).point, [120, 30]); // a shared position stays drawn
});

test("a busy responder stays busy past the shift's end, and is off duty once the order is stood down", () => {
  const { store, clock } = timedStore();
  const state = snapshot(); // member 7 holds an accepted order on case 2
  state.members = [{ id: 7, name: "Li", status: "busy", point: [120, 30], at: iso(NOW - MIN), duty_post: null,
    shifts: [shift(NOW - 60 * MIN, NOW + 10 * MIN)] }];
  store.applySnapshot(state, "start");
  clock.t = NOW + 20 * MIN;
  store.tick();
  assert.equal(store.member(7).status, "busy");
  const order = { ...state.incidents[1].orders[0], state: "stood_down" };
  store.applyEvent({ id: 41, incident: 2, kind: "order_stood_down", status: "dispatched", at: iso(clock.t) },
    { row: row({ id: 2, status: "dispatched", orders: [order] }) });
  assert.equal(store.member(7).status, "off_duty");
  assert.equal(store.busyCount(), 0);
});

test("a position not renewed turns stale after staleMinutes", () => {
  const { store, clock } = timedStore({ staleMinutes: 15 });
  store.applySnapshot(snapshot(), "start"); // member 7's position is a minute old
  store.tick();
  assert.equal(Boolean(store.member(7).stale), false);
  clock.t = NOW + 15 * MIN;
  store.tick();
  assert.equal(store.member(7).stale, true);
  store.applyPositions([{ member: 7, lon: 121, lat: 31, at: iso(clock.t) }]);
  assert.equal(store.member(7).stale, false);
});

const snoozed = (until) => ({
  id: 3, kind: "arrival_overdue", kind_label: "到场超时", incident: 2, number: "A2", due_at: iso(NOW - MIN),
  raised_at: iso(NOW - 10 * MIN), state: "snoozed", note: "", snoozed_until: until, member: 7, member_name: "Li",
});

test("a snoozed alarm shows again when the snooze runs out, with no event", () => {
  const { store, clock, log } = timedStore();
  const state = snapshot();
  state.alarms = [snoozed(iso(NOW + 5 * MIN))];
  store.applySnapshot(state, "start");
  store.tick();
  assert.equal(store.state.alarms[0].state, "snoozed");
  log.length = 0;
  clock.t = NOW + 5 * MIN;
  store.tick();
  assert.equal(store.state.alarms[0].state, "open");
  assert.equal(store.state.alarms[0].snoozed_until, null);
  assert.deepEqual(log.map((c) => c.type), ["alarms"]);
  // The SLA clock's reopening event a few seconds later changes nothing more.
  store.applyEvent({ id: 41, incident: 2, number: "A2", kind: "alarm", at: iso(clock.t + 5000), note: "",
    data: { alarm: 3, alarm_kind: "arrival_overdue", alarm_state: "open", reopened: true, snoozed_until: iso(NOW + 5 * MIN) } });
  assert.equal(store.state.alarms.length, 1);
  assert.equal(store.state.alarms[0].state, "open");
});

test("alarms are kept from their events: raised, snoozed, acknowledged; a late older event is ignored", () => {
  const { store, log } = timedStore({ alarmKinds: { handover_accept_overdue: "移交未接收" } });
  store.applySnapshot(snapshot(), "start");
  const alarm = (id, kind, data) => ({ id, incident: 1, number: "A1", kind, at: iso(NOW), note: "…",
    data: { alarm: 5, alarm_kind: "handover_accept_overdue", ...data } });
  store.applyEvent(alarm(41, "alarm", { alarm_state: "open", due_at: iso(NOW - MIN) }));
  assert.equal(log.at(-1).type, "alarms");
  assert.deepEqual(
    { ...store.state.alarms[0] },
    { id: 5, kind: "handover_accept_overdue", kind_label: "移交未接收", incident: 1, number: "A1", due_at: iso(NOW - MIN),
      raised_at: iso(NOW), state: "open", note: "…", snoozed_until: null, member: null, member_name: null },
  );
  store.applyEvent(alarm(43, "alarm_handled", { alarm_state: "snoozed", action: "snoozed", until: iso(NOW + 9 * MIN) }));
  assert.equal(store.state.alarms[0].state, "snoozed");
  assert.equal(store.state.alarms[0].snoozed_until, iso(NOW + 9 * MIN));
  store.applyEvent(alarm(42, "alarm", { alarm_state: "open", escalation: "at_top" })); // committed late
  assert.equal(store.state.alarms[0].state, "snoozed");
  store.applyEvent(alarm(44, "alarm_handled", { alarm_state: "acknowledged", action: "acknowledged" }));
  assert.deepEqual(store.state.alarms, []);
});

test("at midnight the cases closed leave the board and today's counts start again, with no snapshot", () => {
  const { store, clock, log } = timedStore();
  store.applySnapshot(snapshot(), "start");
  const reported = (t, id, status) => store.applyEvent({ id, incident: id, kind: "created", status, at: iso(t) },
    { row: row({ id, status, reported_at: local(t) }) });
  reported(NOW - 2 * MIN, 41, "new");
  reported(NOW - 3 * MIN, 42, "closed"); // closed today: on the board until midnight
  assert.equal(store.state.counts.today, 2);
  assert.ok(store.incident(42));
  const midnight = Date.parse("2026-11-25T00:00:00+08:00");
  clock.t = midnight - 1000;
  assert.equal(store.tick(), false);
  assert.ok(store.incident(42));
  log.length = 0;
  clock.t = midnight;
  assert.equal(store.tick(), true);
  assert.equal(store.incident(42), null);
  assert.ok(store.incident(41)); // open cases stay, whatever their day
  assert.equal(store.state.counts.today, 0);
  assert.deepEqual(store.state.counts.by_category, []);
  assert.equal(store.state.counts.open, 4);
  assert.equal(store.state.gridLoads.G1, 1);
  assert.deepEqual(log.filter((c) => c.type !== "member").map((c) => c.type), ["removed", "day"]);
  assert.equal(store.state.day, "2026-11-25");
  clock.t = midnight + 1000;
  assert.equal(store.tick(), false); // once a day
  reported(clock.t, 43, "new");
  assert.equal(store.state.counts.today, 1);
});

test("a members frame puts the responders staff changed in, as the snapshot has them, and takes others off", () => {
  const { store, clock } = timedStore();
  const state = snapshot();
  state.incidents = [];
  state.members.push({ id: 9, name: "Zhao", status: "on_duty", point: null, at: null, shifts: [] });
  store.applySnapshot(state, "start");
  store.applyPositions([{ member: 7, lon: 121, lat: 31, at: iso(NOW) }]);
  // a shift added for member 7 from 08:10; their row was read before the position came
  const li = { id: 7, name: "Li", status: "off_duty", point: [120, 30], at: iso(NOW - MIN), duty_post: null,
    shifts: [shift(NOW + 10 * MIN, NOW + 60 * MIN)] };
  store.applyMembers({ subdistrict: "T1", members: [li], removed: [9] }, "T1");
  assert.deepEqual(store.member(7).point, [121, 31]); // the newer position stays
  assert.deepEqual(store.member(7).shifts, li.shifts);
  assert.equal(store.member(9), null);
  store.tick();
  assert.equal(store.member(7).status, "off_duty");
  clock.t = NOW + 10 * MIN;
  store.tick();
  assert.equal(store.member(7).status, "on_duty");
  // Moved to another sub-district: off this wall.
  store.applyMembers({ subdistrict: "T2", members: [{ ...li, shifts: [] }], removed: [] }, "T1");
  assert.equal(store.member(7), null);
  assert.deepEqual(store.members(), []);
});
