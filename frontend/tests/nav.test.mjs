// Navigation links: WGS 84 → GCJ-02 against published pairs and against dispatch/gcj02.py, the geo:
// link, and AMap's URI with the converted point.
import assert from "node:assert/strict";
import { test } from "node:test";

import { amapUri, geoUri, wgs84ToGcj02 } from "../static/gridlink/m/nav.js";

function near(actual, expected, tolerance) {
  assert.ok(Math.abs(actual[0] - expected[0]) <= tolerance && Math.abs(actual[1] - expected[1]) <= tolerance,
    `${actual} vs ${expected} (±${tolerance})`);
}

test("AMap's documented pair (Beijing, Wangjing), to its 6 printed decimals", () => {
  near(wgs84ToGcj02(116.481499, 39.990475), [116.487586, 39.991754], 5e-7);
});

test("the coord-convert package's pair, at full precision", () => {
  near(wgs84ToGcj02(120.0, 40.0), [120.00567568355486, 40.0013047896019], 1e-12);
});

test("the same values as dispatch/gcj02.py in the demo sub-district", () => {
  // .venv/bin/python -c "from dispatch.gcj02 import wgs84_to_gcj02; print(wgs84_to_gcj02(120.02, 30.37))"
  near(wgs84ToGcj02(120.02, 30.37), [120.0247421865282, 30.367616033014176], 1e-12);
  near(wgs84ToGcj02(119.98, 30.4), [119.98464307084886, 30.39750243691682], 1e-12);
  near(wgs84ToGcj02(120.05, 30.35), [120.0548007760839, 30.347688250601063], 1e-12);
});

test("no offset outside China", () => {
  assert.deepEqual(wgs84ToGcj02(2.3522, 48.8566), [2.3522, 48.8566]);
});

test("the geo: link is WGS 84, latitude first, with the label as the query's name", () => {
  assert.equal(geoUri(120.02, 30.37, "幸福路 8 号"),
    "geo:30.370000,120.020000?q=30.370000,120.020000(%E5%B9%B8%E7%A6%8F%E8%B7%AF%208%20%E5%8F%B7)");
  assert.equal(geoUri(120.02, 30.37), "geo:30.370000,120.020000?q=30.370000,120.020000");
});

test("AMap's URI carries the GCJ-02 point and the member's travel mode", () => {
  const url = new URL(amapUri(120.02, 30.37, "现场", "ebike"));
  assert.equal(url.origin + url.pathname, "https://uri.amap.com/navigation");
  assert.equal(url.searchParams.get("to"), "120.024742,30.367616,现场");
  assert.equal(url.searchParams.get("coordinate"), "gaode");
  assert.equal(url.searchParams.get("mode"), "ride");
  assert.equal(new URL(amapUri(120.02, 30.37, "x", "foot")).searchParams.get("mode"), "walk");
});
