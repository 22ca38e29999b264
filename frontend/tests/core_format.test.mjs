// The shared modules of the older pages (static/gridlink/core/): the shared configuration read from
// the page's json_script, the times in the server's time zone, the category glyphs, the "%(name)s"
// filler and the API helpers' pure parts. A fake `document` with the json_script elements stands in
// for the page; it is put in place before the modules are imported (core/shared.js reads it once).
import assert from "node:assert/strict";
import { test } from "node:test";

const SHARED = {
  timeZone: "UTC",
  statuses: { new: "新警情", closed: "已结案" },
  statusGroups: { open: ["new"], done: [], liveOrder: ["dispatched", "accepted"] },
  categoryGlyphs: { fire: "♨", theft: "✂" },
  scopeGlyphs: { police: "★" },
};
const ELEMENTS = {
  "gridlink-shared": JSON.stringify(SHARED),
  "page-config": JSON.stringify({ api: { x: "/api/x/{id}/" } }),
};

globalThis.document = {
  documentElement: { lang: "en" },
  getElementById: (id) => (id in ELEMENTS ? { textContent: ELEMENTS[id] } : null),
};

const { shared, pageConfig } = await import("../static/gridlink/core/shared.js");
const { time, age, glyphOf } = await import("../static/gridlink/core/format.js");
const { format } = await import("../static/gridlink/core/dom.js");
const { errorMessages, lonLatOf, rows, url } = await import("../static/gridlink/core/http.js");

test("the shared configuration is the page's #gridlink-shared", () => {
  assert.deepEqual(shared, SHARED);
});

test("a page's own configuration by id, and a clear error when it is missing", () => {
  assert.deepEqual(pageConfig("page-config"), { api: { x: "/api/x/{id}/" } });
  assert.throws(() => pageConfig("nope"), /#nope: the page's configuration/);
});

test("times are shown in the server's time zone, not the browser's", () => {
  assert.equal(time("2024-03-05T06:07:00Z"), "06:07");
  assert.match(time("2024-03-05T06:07:00Z", true), /03\/05.*06:07/);
  assert.equal(time(null), "");
  shared.timeZone = "Asia/Shanghai";
  try {
    assert.equal(time("2024-03-05T06:07:00Z"), "14:07");
  } finally {
    shared.timeZone = "UTC";
  }
});

test("ages are relative to now, in the page's language", () => {
  const fiveMinutesAgo = new Date(Date.now() - 5 * 60 * 1000 - 1000).toISOString();
  assert.match(age(fiveMinutesAgo), /5/);
  const twoHoursAgo = new Date(Date.now() - 2 * 3600 * 1000 - 1000).toISOString();
  assert.match(age(twoHoursAgo), /2/);
  assert.equal(age(""), "");
});

test("a category's glyph: its own, else its scope's, else a dot", () => {
  assert.equal(glyphOf({ code: "fire" }), "♨");
  assert.equal(glyphOf({ code: "new_kind", scope: "police" }), "★");
  assert.equal(glyphOf({ code: "new_kind" }, { new_kind: { scope: "police" } }), "★");
  assert.equal(glyphOf({ code: "new_kind", scope: "non_police" }), "●");
  assert.equal(glyphOf(null), "●");
});

test("%(name)s placeholders are filled with plain text", () => {
  assert.equal(format("%(a)s and %(b)s", { a: "<b>", b: 2 }), "<b> and 2");
  assert.equal(format("%(missing)s!", {}), "!");
});

test("list answers in every shape DRF gives, and points", () => {
  const feature = { type: "Feature", id: 7, geometry: { type: "Point", coordinates: [121, 31] }, properties: { name: "A" } };
  const collection = { type: "FeatureCollection", features: [feature] };
  assert.deepEqual(rows(collection), [{ name: "A", id: 7, lonLat: [121, 31] }]);
  assert.deepEqual(rows({ results: collection }), rows(collection));
  assert.deepEqual(rows({ results: [{ id: 1 }] }), [{ id: 1 }]);
  assert.deepEqual(rows(null), []);
  assert.deepEqual(lonLatOf(feature), [121, 31]);
  assert.deepEqual(lonLatOf({ lon: "121.5", lat: "31.5" }), [121.5, 31.5]);
  assert.deepEqual(lonLatOf({ location: { type: "Point", coordinates: [1, 2] } }), [1, 2]);
  assert.equal(lonLatOf({}), null);
});

test("the server's refusal as a message and per field", () => {
  assert.deepEqual(errorMessages({ data: { detail: "No.", code: "stale" } }, "x"), { message: "No.", fields: { stale: "No." } });
  assert.deepEqual(errorMessages({ data: { unit: ["Required."] } }, "x"), { message: "Required.", fields: { unit: "Required." } });
  assert.deepEqual(errorMessages({ data: null }, "fallback"), { message: "fallback", fields: {} });
  assert.equal(url("/api/v1/incidents/{id}/", "a b"), "/api/v1/incidents/a%20b/");
});
