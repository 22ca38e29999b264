// "My team" (team.js): the call links, the sections a leader's roles show, an order overdue, a case's
// age, whom an alarm asks to call, and which alarms' acknowledgements wait in the outbox.
import assert from "node:assert/strict";
import { test } from "node:test";

import { ageText, alarmContact, isOverdue, queuedAlarmIds, teamSections, telUri } from "../static/gridlink/m/team.js";

const NOW = Date.parse("2026-11-24T08:00:00+08:00");
const MIN = 60 * 1000;
const iso = (ms) => new Date(ms).toISOString();
const TEXT = { ageMinutes: "%(minutes)s分钟前", ageHours: "%(hours)s小时%(minutes)s分钟前" };

test("a phone becomes a tel: link of its digits; nothing usable gives none", () => {
  assert.equal(telUri("13800000001"), "tel:13800000001");
  assert.equal(telUri("138-0000-0001"), "tel:13800000001");
  assert.equal(telUri(" +86 138 0000 0001 "), "tel:+8613800000001");
  assert.equal(telUri("javascript:alert(1)"), "");
  assert.equal(telUri(""), "");
  assert.equal(telUri(null), "");
  assert.equal(telUri("88"), "");
});

test("the sections follow the roles: a plain responder gets none, alarms come first", () => {
  assert.deepEqual(teamSections([]), []);
  assert.deepEqual(teamSections(undefined), []);
  assert.deepEqual(teamSections(["grid_leader"]), ["incidents"]);
  assert.deepEqual(teamSections(["unit_leader"]), ["alarms", "orders"]);
  assert.deepEqual(teamSections(["grid_leader", "unit_leader"]), ["alarms", "orders", "incidents"]);
  assert.deepEqual(teamSections(["something_else"]), []);
});

test("an order is overdue only while on the way past its deadline", () => {
  const past = iso(NOW - MIN);
  assert.equal(isOverdue({ state: "dispatched", arrive_by: past }, NOW), true);
  assert.equal(isOverdue({ state: "accepted", arrive_by: past }, NOW), true);
  assert.equal(isOverdue({ state: "arrived", arrive_by: past }, NOW), false);
  assert.equal(isOverdue({ state: "dispatched", arrive_by: iso(NOW + MIN) }, NOW), false);
  assert.equal(isOverdue({ state: "dispatched", arrive_by: null }, NOW), false);
});

test("a case's age in minutes, then hours and minutes", () => {
  assert.equal(ageText(iso(NOW - 12 * MIN), NOW, TEXT), "12分钟前");
  assert.equal(ageText(iso(NOW - 65 * MIN), NOW, TEXT), "1小时05分钟前");
  assert.equal(ageText(iso(NOW + MIN), NOW, TEXT), "0分钟前"); // a phone's clock a little behind
});

test("an alarm asks to call the late member, else the late office, else nobody", () => {
  const member = { id: 1, name: "张伟", unit: "网格中队", phone: "13800000001" };
  assert.deepEqual(alarmContact({ member, unit: null }), { name: "张伟", phone: "13800000001" });
  assert.deepEqual(alarmContact({ member: null, unit: { name: "城管中队", phone: "88612345" } }),
    { name: "城管中队", phone: "88612345" });
  assert.equal(alarmContact({ member: null, unit: { name: "城管中队", phone: "" } }), null);
  assert.equal(alarmContact({ member: null, unit: null }), null);
});

test("the alarms whose acknowledgement waits are read from the outbox's URLs", () => {
  const template = "/api/v1/m/alarms/{id}/acknowledge/";
  const entries = [
    { url: "/api/v1/m/alarms/12/acknowledge/" },
    { url: "/api/v1/m/alarms/7/acknowledge/" },
    { url: "/api/v1/dispatch/orders/12/accept/" },
    { url: "/api/v1/m/alarms//acknowledge/" },
    { url: "/api/v1/m/alarms/1x/acknowledge/" },
  ];
  assert.deepEqual([...queuedAlarmIds(entries, template)].sort((a, b) => a - b), [7, 12]);
  assert.deepEqual([...queuedAlarmIds([], template)], []);
});
