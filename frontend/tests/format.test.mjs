// The small text helpers and the API's error messages.
import assert from "node:assert/strict";
import { test } from "node:test";

import { cookieValue, errorMessage, urlFor } from "../static/gridlink/m/api.js";
import { fill, formatDateTime, formatDistance, formatTime, gridLabel } from "../static/gridlink/m/format.js";

const TEXT = { metres: "%(n)s 米", kilometres: "%(n)s 公里" };

test("templates are filled with plain text", () => {
  assert.equal(fill("已拒绝：%(reason)s", { reason: "<b>车坏了</b>" }), "已拒绝：<b>车坏了</b>");
  assert.equal(fill("%(missing)s!", {}), "!");
});

test("distances", () => {
  assert.equal(formatDistance(34, TEXT), "30 米");
  assert.equal(formatDistance(999, TEXT), "1000 米");
  assert.equal(formatDistance(1234, TEXT), "1.2 公里");
  assert.equal(formatDistance(12_345, TEXT), "12 公里");
  assert.equal(formatDistance(null, TEXT), "");
});

test("times in the server's time zone", () => {
  assert.equal(formatTime("2026-11-24T00:05:00Z", "Asia/Shanghai"), "08:05");
});

test("the server's message of a refusal", () => {
  assert.equal(errorMessage({ detail: "此指令已结束。", code: "refused" }, "x"), "此指令已结束。");
  assert.equal(errorMessage({ reason: ["必填。"], text: ["太长。"] }, "x"), "必填。 太长。");
  assert.equal(errorMessage(null, "请求失败"), "请求失败");
});

test("cookies and URL templates", () => {
  assert.equal(cookieValue("a=1; csrftoken=abc%3D; b=2", "csrftoken"), "abc=");
  assert.equal(cookieValue("", "csrftoken"), "");
  assert.equal(urlFor("/api/v1/m/orders/{id}/", 12), "/api/v1/m/orders/12/");
});

test("a date and time in the server's time zone", () => {
  assert.equal(formatDateTime("2026-11-24T00:05:00Z", "Asia/Shanghai"), "11-24 08:05");
  assert.equal(formatDateTime(Date.parse("2026-11-23T16:30:00Z"), "Asia/Shanghai"), "11-24 00:30");
  assert.equal(formatDateTime(null, "Asia/Shanghai"), "");
});

test("a grid of the version in force, and one of a version that takes effect later", () => {
  const text = { gridFrom: "%(time)s起" };
  const grid = { code: "G03", name: "<b>良渚</b>网格", community: "良渚社区", effective_from: "2026-12-05T00:00:00Z" };
  assert.deepEqual(gridLabel({ ...grid, upcoming: false }, text, "Asia/Shanghai"),
    { label: "G03 <b>良渚</b>网格", community: "良渚社区", from: "" });
  assert.deepEqual(gridLabel({ ...grid, upcoming: true }, text, "Asia/Shanghai"),
    { label: "G03 <b>良渚</b>网格", community: "良渚社区", from: "12-05 08:00起" });
});
