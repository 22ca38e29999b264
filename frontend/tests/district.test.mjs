// The district map's style and popups (static/gridlink/district/style.js).
import assert from "node:assert/strict";
import { test } from "node:test";

import { districtStyle, popupRows, tileUrl, ZOOMS } from "../static/gridlink/district/style.js";

const CONFIG = {
  library: "/static/vendor/maplibre/maplibre-gl.mjs",
  tiles: "/api/v1/tiles/{layer}/{z}/{x}/{y}.pbf",
  incident: "/incidents/{id}/",
  basemap: null,
  center: /** @type {[number, number]} */ ([120, 30]),
  zoom: 11,
  bounds: null,
  layers: { grids: "网格", incidents: "警情", members: "人员" },
  text: { code: "编号", subdistrict: "街道", version: "版本", status: "状态", category: "类别", major: "重大",
    reportedAt: "报警时间", force: "力量", onDuty: "在岗", offDuty: "不在岗", atHome: "在家", open: "打开", loadError: "x" },
  forces: { grid_worker: "网格员" },
};

test("one vector source per layer, absolute tile URLs, no basemap offline", () => {
  const style = districtStyle(CONFIG, "https://gl.example");
  assert.deepEqual(Object.keys(style.sources), ["grids", "incidents", "members"]);
  assert.deepEqual(style.sources.members, {
    type: "vector", tiles: ["https://gl.example/api/v1/tiles/members/{z}/{x}/{y}.pbf"],
    minzoom: ZOOMS.members.min, maxzoom: ZOOMS.members.max,
  });
  assert.equal(tileUrl(CONFIG.tiles, "grids", "http://127.0.0.1:8000"), "http://127.0.0.1:8000/api/v1/tiles/grids/{z}/{x}/{y}.pbf");
  const withBasemap = districtStyle({ ...CONFIG, basemap: { url: "https://{s}.tile.example/{z}/{x}/{y}.png", attribution: "©" } }, "https://gl.example");
  assert.equal(withBasemap.layers[1].id, "basemap");
});

test("popups: plain text rows, empty values left out, a case links to its page", () => {
  const words = { statuses: { new: "新警情" }, format: () => "12-04 08:00" };
  const incident = popupRows("incidents", { id: 7, number: "<b>A1</b>", status: "new", major: false,
    category_name: "纠纷", subdistrict: "T1", reported_at: 1 }, CONFIG, words);
  assert.equal(incident.title, "<b>A1</b>");
  assert.deepEqual(incident.rows, [["类别", "纠纷"], ["状态", "新警情"], ["街道", "T1"], ["报警时间", "12-04 08:00"]]);
  assert.equal(incident.link, "/incidents/7/");
  const member = popupRows("members", { name: "张伟", code: "M1", force: "grid_worker", on_duty: true, at_home: false },
    CONFIG, words);
  assert.deepEqual(member.rows, [["编号", "M1"], ["力量", "网格员"], ["", "在岗"]]);
});
