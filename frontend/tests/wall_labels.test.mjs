// The wall's event lines (static/wall/labels.js).
import assert from "node:assert/strict";
import { test } from "node:test";

import { PHOTO_GLYPH, eventLabel } from "../static/wall/labels.js";

const format = (template, values) => template.replace(/%\((\w+)\)s/g, (m, key) => String(values[key] ?? ""));
const words = {
  eventKinds: { status_changed: "状态变更", dispatched: "派单", transfer_requested: "申请转办", report: "现场报告" },
  statuses: { arrived: "已到场" },
  text: { transferRequested: "%(member)s 申请转至 %(unit)s" },
  format,
};

test("an event reads as its kind with what changed", () => {
  assert.equal(eventLabel({ kind: "status_changed", to: "arrived" }, words), "状态变更 · 已到场");
  assert.equal(eventLabel({ kind: "dispatched", data: { member_name: "张伟" } }, words), "派单 · 张伟");
  assert.equal(eventLabel({ kind: "transfer_requested", data: { member_name: "张伟", unit_name: "派出所" } }, words), "张伟 申请转至 派出所");
  assert.equal(eventLabel({ kind: "report", data: { photos: [1, 2] } }, words), "现场报告 · " + PHOTO_GLYPH + "2");
  assert.equal(eventLabel({ kind: "unknown" }, words), "unknown");
});
