// The wall's clocks and countdowns (static/wall/time.js): amber in the last minutes, red and
// "+" once late; clocks and days in the sub-district's time zone whatever the machine's.
import assert from "node:assert/strict";
import { test } from "node:test";

import { clockText, countdown, dayOf, duration } from "../static/wall/time.js";

const NOW = Date.parse("2026-11-24T08:00:00+08:00");
const iso = (t) => new Date(t).toISOString();
const AMBER = 600;

test("durations read as m:ss or h:mm:ss", () => {
  assert.equal(duration(754), "12:34");
  assert.equal(duration(4000), "1:06:40");
  assert.equal(duration(-5), "0:00");
});

test("a countdown is ok, then amber under the threshold, then red and counting up", () => {
  assert.deepEqual(countdown(iso(NOW + 11 * 60000), NOW, AMBER), { text: "11:00", state: "ok", late: false, time: "11:00" });
  assert.equal(countdown(iso(NOW + 9 * 60000), NOW, AMBER).state, "amber");
  const late = countdown(iso(NOW - 65000), NOW, AMBER);
  assert.equal(late.state, "red");
  assert.equal(late.text, "+1:05");
  assert.equal(late.late, true);
});

test("clocks and days are the sub-district's", () => {
  const t = Date.parse("2026-11-24T23:30:05Z"); // 07:30 the next morning in Shanghai
  assert.equal(clockText(t, { timeZone: "Asia/Shanghai", lang: "en-GB" }), "07:30:05");
  assert.equal(clockText(t, { timeZone: "Asia/Shanghai", lang: "en-GB", seconds: false }), "07:30");
  assert.equal(dayOf(t, "Asia/Shanghai"), "2026-11-25");
  assert.equal(dayOf(t, "UTC"), "2026-11-24");
});
