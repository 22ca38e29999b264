// The department queue's pure text: dates in the server's time zone, the deadline a part is
// watched by (countdown to accept_by; report deadline red when overdue), the action's body.
import assert from "node:assert/strict";
import { test } from "node:test";

import { actionBody, formatDateTime, partDeadline } from "../static/gridlink/dept/format.js";

const TZ = "Asia/Shanghai";
const TEXT = {
  dueIn: "剩余 %(time)s", overdueBy: "已超时 %(time)s", noDeadline: "无时限",
  acceptBy: "%(time)s 前接收", reportBy: "%(time)s 前报送结果",
};
const NOW = Date.parse("2026-11-24T08:00:00+08:00");
const MIN = 60 * 1000;
const iso = (ms) => new Date(ms).toISOString();

test("date and time in the server's time zone", () => {
  assert.equal(formatDateTime("2026-11-24T00:05:00Z", TZ), "11-24 08:05");
  assert.equal(formatDateTime(null, TZ), "");
  assert.equal(formatDateTime("not a date", TZ), "");
});

test("a waiting part counts down to accept_by, amber under the threshold, red when overdue", () => {
  const ok = partDeadline({ state: "pending", accept_by: iso(NOW + 30 * MIN) }, NOW, TEXT, TZ, 600);
  assert.deepEqual([ok.kind, ok.state, ok.text, ok.countdown], ["accept", "ok", "11-24 08:30 前接收", "剩余 30:00"]);
  assert.equal(partDeadline({ state: "pending", accept_by: iso(NOW + 5 * MIN) }, NOW, TEXT, TZ, 600).state, "amber");
  const late = partDeadline({ state: "pending", accept_by: iso(NOW - 2 * MIN) }, NOW, TEXT, TZ, 600);
  assert.deepEqual([late.state, late.countdown], ["red", "已超时 02:00"]);
  assert.equal(partDeadline({ state: "pending", accept_by: null }, NOW, TEXT, TZ, 600).text, "无时限");
});

test("a part being worked on shows its report deadline, red when overdue", () => {
  const ok = partDeadline({ state: "accepted", deadline: iso(NOW + 48 * 60 * MIN) }, NOW, TEXT, TZ, 600);
  assert.deepEqual([ok.kind, ok.state, ok.text, ok.countdown], ["report", "ok", "11-26 08:00 前报送结果", ""]);
  const late = partDeadline({ state: "accepted", deadline: iso(NOW - 90 * MIN) }, NOW, TEXT, TZ, 600);
  assert.deepEqual([late.state, late.countdown], ["red", "已超时 1:30:00"]);
  assert.equal(partDeadline({ state: "completed" }, NOW, TEXT, TZ, 600).kind, "none");
});

test("the action's body names the unit and carries the text only when there is one", () => {
  assert.deepEqual(actionBody("accept_handover", 7), { action: "accept_handover", unit: 7 });
  assert.deepEqual(actionBody("complete", 7, "  已结清工资 "), { action: "complete", unit: 7, text: "已结清工资" });
});
