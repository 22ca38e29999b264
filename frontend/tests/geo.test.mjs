// Position sharing: which fixes are kept (15 s passed or 10 m moved since the last kept one) and
// what is sent to the positions API (WGS 84, with the accuracy), in batches.
import assert from "node:assert/strict";
import { test } from "node:test";

import { createSharing, distanceMetres, positionItem, shouldKeep } from "../static/gridlink/m/geo.js";

const T0 = Date.parse("2026-11-24T08:00:00+08:00");
const HERE = { lon: 120.02, lat: 30.37, accuracy: 8, at: T0 };
// About 1 m of latitude in degrees.
const M = 1 / 111195;

test("the first fix is kept", () => {
  assert.equal(shouldKeep(null, HERE), true);
});

test("kept after 15 s even without moving, not before", () => {
  assert.equal(shouldKeep(HERE, { ...HERE, at: T0 + 14_999 }), false);
  assert.equal(shouldKeep(HERE, { ...HERE, at: T0 + 15_000 }), true);
});

test("kept after moving 10 m, not 9 m", () => {
  assert.equal(shouldKeep(HERE, { ...HERE, lat: HERE.lat + 9 * M, at: T0 + 1000 }), false);
  assert.equal(shouldKeep(HERE, { ...HERE, lat: HERE.lat + 10.05 * M, at: T0 + 1000 }), true);
});

test("the rule's numbers come from the server", () => {
  assert.equal(shouldKeep(HERE, { ...HERE, at: T0 + 5000 }, { seconds: 5, metres: 10 }), true);
});

test("distances in metres", () => {
  const d = distanceMetres(HERE, { lon: HERE.lon, lat: HERE.lat + 0.01 });
  assert.ok(Math.abs(d - 1111.95) < 0.5, String(d));
});

test("a position item is WGS 84 with its accuracy and an ISO time", () => {
  assert.deepEqual(positionItem(HERE, 7), {
    member: 7, at: "2026-11-24T00:00:00.000Z", lon: 120.02, lat: 30.37, accuracy_m: 8, datum: "WGS84",
  });
});

function fakeGeolocation() {
  const geo = { watchers: new Map(), next: 1 };
  geo.watchPosition = (ok, error) => {
    const id = geo.next++;
    geo.watchers.set(id, { ok, error });
    return id;
  };
  geo.clearWatch = (id) => geo.watchers.delete(id);
  geo.emit = (fix) => {
    for (const { ok } of geo.watchers.values()) {
      ok({ coords: { longitude: fix.lon, latitude: fix.lat, accuracy: fix.accuracy }, timestamp: fix.at });
    }
  };
  return geo;
}

const noTimers = { setInterval: () => 1, clearInterval: () => {} };

test("sharing keeps fixes by the rule and sends them in batches; paused when off duty", async () => {
  const geo = fakeGeolocation();
  const sent = [];
  const storage = new Map();
  const sharing = createSharing({
    geolocation: geo,
    storage: { getItem: (k) => storage.get(k) ?? null, setItem: (k, v) => storage.set(k, v) },
    storageKey: "share",
    memberId: 42,
    send: async (items) => {
      sent.push(items);
      return { ok: true, status: 201 };
    },
    timers: noTimers,
    now: () => T0 + 60_000,
  });
  assert.equal(sharing.state().status, "paused"); // not known to be on duty yet
  assert.equal(geo.watchers.size, 0);
  sharing.setActive(true);
  assert.equal(geo.watchers.size, 1);
  geo.emit(HERE); // the first: kept and sent at once
  await sharing.flush();
  assert.equal(sent.length, 1);
  assert.deepEqual(sent[0].map((item) => item.datum), ["WGS84"]);
  geo.emit({ ...HERE, at: T0 + 5000 }); // 5 s, not moved: dropped
  geo.emit({ ...HERE, lat: HERE.lat + 20 * M, at: T0 + 6000 }); // moved 20 m: kept
  geo.emit({ ...HERE, lat: HERE.lat + 20 * M, at: T0 + 21_000 }); // 15 s later: kept
  await sharing.flush();
  assert.equal(sent.length, 2);
  assert.deepEqual(sent[1].map((item) => item.at), [
    new Date(T0 + 6000).toISOString(), new Date(T0 + 21_000).toISOString(),
  ]);
  assert.equal(sharing.state().status, "on");
  sharing.setActive(false); // off duty
  assert.equal(geo.watchers.size, 0);
  assert.equal(sharing.state().status, "paused");
  sharing.setActive(true);
  sharing.toggle(); // the member turns it off: remembered
  assert.equal(storage.get("share"), "0");
  assert.equal(geo.watchers.size, 0);
  assert.equal(sharing.state().status, "off");
});

test("a failed send keeps the fixes for the next one; a refusal stops sharing", async () => {
  const geo = fakeGeolocation();
  let answer = { ok: false, status: 0 };
  const sent = [];
  const sharing = createSharing({
    geolocation: geo, storage: null, storageKey: "s", memberId: 1, timers: noTimers, now: () => T0,
    send: async (items) => {
      sent.push(items.length);
      return answer;
    },
  });
  sharing.setActive(true);
  geo.emit(HERE);
  await sharing.flush();
  geo.emit({ ...HERE, at: T0 + 15_000 });
  answer = { ok: false, status: 404, message: "No such member." };
  await sharing.flush();
  assert.deepEqual(sent, [1, 2]); // the first fix was sent again with the second
  assert.equal(sharing.state().status, "refused");
  assert.equal(geo.watchers.size, 0);
});

test("logging out stops sharing for good, after sending what was kept", async () => {
  const geo = fakeGeolocation();
  const sent = [];
  const sharing = createSharing({
    geolocation: geo,
    storage: null,
    storageKey: "share",
    memberId: 42,
    send: async (items) => {
      sent.push(items.length);
      return { ok: true, status: 201 };
    },
    timers: noTimers,
    now: () => T0 + 60_000,
  });
  sharing.setActive(true);
  geo.emit(HERE);
  await sharing.flush();
  geo.emit({ ...HERE, at: T0 + 20_000 }); // kept, waiting for the next batch
  await sharing.stop();
  assert.deepEqual(sent, [1, 1]);
  assert.equal(geo.watchers.size, 0);
  sharing.setActive(true); // a late refresh does not start it again
  assert.equal(geo.watchers.size, 0);
});
