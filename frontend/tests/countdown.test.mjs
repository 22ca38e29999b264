// The arrival countdown: ok at 11 minutes, amber under 10, red when overdue (as on the wall map).
import assert from "node:assert/strict";
import { test } from "node:test";

import { countdown, countdownState, formatDuration } from "../static/gridlink/m/countdown.js";

const TEXT = { dueIn: "剩余 %(time)s", overdueBy: "已超时 %(time)s", noDeadline: "无到场时限" };
const NOW = Date.parse("2026-11-24T08:00:00+08:00");
const MIN = 60 * 1000;

test("11 minutes before the deadline is ok", () => {
  const c = countdown(NOW + 11 * MIN, NOW, TEXT);
  assert.equal(c.state, "ok");
  assert.equal(c.text, "剩余 11:00");
});

test("9 minutes before the deadline is amber", () => {
  const c = countdown(NOW + 9 * MIN, NOW, TEXT);
  assert.equal(c.state, "amber");
  assert.equal(c.text, "剩余 09:00");
});

test("the amber threshold: exactly 10 minutes is still ok, a second less is amber", () => {
  assert.equal(countdown(NOW + 10 * MIN, NOW, TEXT).state, "ok");
  assert.equal(countdown(NOW + 10 * MIN - 1000, NOW, TEXT).state, "amber");
  assert.equal(countdown(NOW + 20 * MIN, NOW, TEXT, 30 * 60).state, "amber"); // the server's threshold
});

test("overdue is red and says by how much", () => {
  const c = countdown(NOW - (2 * MIN + 5000), NOW, TEXT);
  assert.equal(c.state, "red");
  assert.equal(c.text, "已超时 02:05");
  assert.equal(countdown(NOW, NOW, TEXT).state, "red");
});

test("no deadline", () => {
  assert.deepEqual(countdown(null, NOW, TEXT), { state: "none", seconds: null, text: "无到场时限" });
});

test("durations", () => {
  assert.equal(formatDuration(0), "00:00");
  assert.equal(formatDuration(59.9), "00:59");
  assert.equal(formatDuration(3725), "1:02:05");
  assert.equal(countdownState(1), "amber");
});
