// The outbox (queue.js): actions kept on the phone while there is no signal and sent, in order, with
// the Idempotency-Key made when they were queued. Storage in memory here (the phone's is IndexedDB).
import assert from "node:assert/strict";
import { test } from "node:test";

import { backoffMs, createQueue, memoryStore, retryDelayMs, verdict } from "../static/gridlink/m/queue.js";

const T0 = Date.parse("2026-11-24T08:00:00+08:00");

/** A fake server: answers statuses from `script` (the last repeats), records every request. */
function fakeServer(script = [201]) {
  const calls = [];
  let i = 0;
  const send = async (entry) => {
    const status = script[Math.min(i, script.length - 1)];
    i += 1;
    calls.push({ url: entry.url, key: entry.key, body: entry.body, status });
    if (status === 0) return { ok: false, status: 0, data: null, message: "offline" };
    const ok = status >= 200 && status < 300;
    return { ok, status, data: ok ? {} : { detail: `refused ${status}` }, message: ok ? "" : `refused ${status}` };
  };
  return { send, calls, answer: (next) => { script = next; i = 0; } };
}

function setup({ script, clock = { t: T0 }, random = () => 0.5 } = {}) {
  const server = fakeServer(script);
  const store = memoryStore();
  let keys = 0;
  const settled = [];
  const seen = [];
  const queue = createQueue({
    store,
    send: server.send,
    newKey: () => `k-${++keys}`,
    now: () => clock.t,
    random,
    onChange: (entries) => seen.push(entries.length),
    onSettled: (entry, result, info) => settled.push({ label: entry.label, status: result.status, ...info }),
  });
  return { queue, server, store, settled, seen, clock };
}

const action = (label, extra = {}) => ({ url: `/api/v1/incidents/7/transitions/`, body: { action: "note", text: label }, label, orderId: 3, action: "note", ...extra });

test("online, an action is sent at once and answered; nothing waits", async () => {
  const { queue, server } = setup({ script: [201] });
  const sent = await queue.add(action("a"));
  assert.equal(sent.queued, false);
  assert.equal(sent.result.status, 201);
  assert.equal(server.calls.length, 1);
  assert.equal(server.calls[0].key, "k-1");
  assert.deepEqual(await queue.entries(), []);
});

test("a network failure keeps the entry, with its attempt and error", async () => {
  const { queue } = setup({ script: [0] });
  const sent = await queue.add(action("a"));
  assert.equal(sent.queued, true);
  const [entry] = await queue.entries();
  assert.equal(entry.label, "a");
  assert.equal(entry.key, "k-1");
  assert.equal(entry.attempts, 1);
  assert.equal(entry.lastStatus, 0);
  assert.equal(entry.lastError, "offline");
  assert.equal(entry.nextAttemptAt, 0); // tried again at the next chance, no backoff
  assert.equal(entry.queuedAt, T0);
  for (const field of ["id", "key", "url", "body", "label", "orderId", "queuedAt", "attempts", "lastError"]) {
    assert.ok(field in entry, field);
  }
});

test("FIFO: later actions wait for the earlier ones and go in order when the signal returns", async () => {
  const { queue, server, settled } = setup({ script: [0] });
  for (const label of ["arrive", "note 1", "note 2"]) {
    assert.equal((await queue.add(action(label))).queued, true);
  }
  // Offline, only the head is tried each time: a later entry never overtakes it.
  assert.deepEqual(server.calls.map((c) => c.body.text), ["arrive", "arrive", "arrive"]);
  assert.deepEqual((await queue.entries()).map((e) => e.label), ["arrive", "note 1", "note 2"]);
  server.answer([201]);
  await queue.flush();
  assert.deepEqual(server.calls.slice(3).map((c) => c.body.text), ["arrive", "note 1", "note 2"]);
  assert.deepEqual(await queue.entries(), []);
  assert.deepEqual(settled.map((s) => [s.label, s.status, s.awaited]),
    [["arrive", 201, false], ["note 1", 201, false], ["note 2", 201, false]]);
});

test("every retry sends the key made when the action was queued", async () => {
  const { queue, server } = setup({ script: [0, 0, 0, 201] });
  await queue.add(action("a"));
  await queue.flush();
  await queue.flush();
  await queue.flush();
  assert.equal(server.calls.length, 4);
  assert.deepEqual([...new Set(server.calls.map((c) => c.key))], ["k-1"]);
  assert.deepEqual([...new Set(server.calls.map((c) => JSON.stringify(c.body)))], [JSON.stringify(action("a").body)]);
  assert.deepEqual(await queue.entries(), []);
});

test("a 4xx answer removes the entry and reports the refusal; the next one goes on", async () => {
  const { queue, server, settled } = setup({ script: [0] });
  await queue.add(action("resolve"));
  await queue.add(action("note"));
  server.answer([409, 201]);
  await queue.flush();
  assert.deepEqual(settled.map((s) => [s.label, s.status]), [["resolve", 409], ["note", 201]]);
  assert.deepEqual(await queue.entries(), []);
});

test("a refusal of the action just taken comes back to the caller", async () => {
  const { queue, settled } = setup({ script: [409] });
  const sent = await queue.add(action("accept"));
  assert.equal(sent.queued, false);
  assert.equal(sent.result.status, 409);
  assert.equal(sent.result.message, "refused 409");
  assert.deepEqual(settled.map((s) => s.awaited), [true]);
  assert.deepEqual(await queue.entries(), []);
});

test("a 5xx keeps the entry and waits with a growing delay before trying again", async () => {
  const clock = { t: T0 };
  const { queue, server } = setup({ script: [503], clock });
  await queue.add(action("a"));
  let [entry] = await queue.entries();
  assert.equal(entry.failures, 1);
  assert.equal(entry.nextAttemptAt, T0 + 20_000);
  await queue.flush(); // too early: not sent
  assert.equal(server.calls.length, 1);
  clock.t = T0 + 20_000;
  await queue.flush();
  assert.equal(server.calls.length, 2);
  [entry] = await queue.entries();
  assert.equal(entry.failures, 2);
  assert.equal(entry.nextAttemptAt, clock.t + 40_000);
  // a later action waits behind it
  assert.equal((await queue.add(action("b"))).queued, true);
  assert.equal(server.calls.length, 2);
});

test("nothing is dropped after 50 failures, of either kind; it goes when the server answers", async () => {
  const clock = { t: T0 };
  const { queue, server } = setup({ script: [0], clock });
  await queue.add(action("a"));
  await queue.add(action("b"));
  for (let i = 0; i < 50; i++) {
    server.answer([i % 2 ? 0 : 500]);
    clock.t += MAX_WAIT;
    await queue.flush();
  }
  const entries = await queue.entries();
  assert.deepEqual(entries.map((e) => e.label), ["a", "b"]);
  assert.equal(entries[0].attempts, 52); // queuing "a" and "b" tried it too
  assert.equal(entries[1].attempts, 0);
  server.answer([201]);
  clock.t += MAX_WAIT;
  await queue.flush();
  assert.deepEqual(await queue.entries(), []);
  assert.deepEqual([...new Set(server.calls.filter((c) => c.body.text === "a").map((c) => c.key))], ["k-1"]);
});
const MAX_WAIT = 10 * 60_000;

test("the bar is told every change", async () => {
  const { queue, server, seen } = setup({ script: [0] });
  await queue.add(action("a"));
  await queue.add(action("b"));
  server.answer([201]);
  await queue.flush();
  assert.deepEqual(seen, [1, 1, 2, 2, 1, 0]);
});

test("a pass already under way goes on to an action queued meanwhile, once", async () => {
  const { queue, server } = setup({ script: [0] });
  await queue.add(action("a"));
  server.answer([201]);
  const [flushed, added] = await Promise.all([queue.flush(), queue.add(action("b"))]);
  assert.equal(flushed, undefined);
  assert.equal(added.queued, false);
  assert.deepEqual(server.calls.slice(1).map((c) => c.body.text), ["a", "b"]);
});

test("answers that ask to wait, and refusals", () => {
  assert.equal(verdict(200), "done");
  assert.equal(verdict(201), "done");
  assert.equal(verdict(0), "offline");
  assert.equal(verdict(400), "refused");
  assert.equal(verdict(409), "refused");
  assert.equal(verdict(422), "refused");
  for (const status of [401, 403, 408, 429, 500, 502, 503]) assert.equal(verdict(status), "wait", String(status));
  // A signed-out session or a CSRF failure (DRF: no code) waits for a new login; the service's own
  // refusal (a domain error with its code, e.g. the member was stood down meanwhile) leaves the queue.
  assert.equal(verdict(403, { detail: "CSRF Failed: CSRF token missing." }), "wait");
  assert.equal(verdict(403, { detail: "只有已派出的人员可以这样做。", code: "forbidden" }), "refused");
});

test("retry delays: ~20 s jittered; backoff doubles up to 5 min", () => {
  assert.equal(retryDelayMs(() => 0), 15_000);
  assert.equal(retryDelayMs(() => 0.5), 20_000);
  assert.equal(retryDelayMs(() => 1), 25_000);
  assert.deepEqual([1, 2, 3, 4, 5, 6, 50].map((n) => backoffMs(n, () => 0.5)),
    [20_000, 40_000, 80_000, 160_000, 300_000, 300_000, 300_000]);
  assert.equal(backoffMs(1, () => 0), 15_000);
});

test("the timer tries again every ~20 s until stopped", async () => {
  const pending = [];
  const timers = { setTimeout: (fn, ms) => (pending.push({ fn, ms }), pending.length), clearTimeout: () => pending.splice(0) };
  const { queue, server } = setup({ script: [0] });
  await queue.add(action("a"));
  await queue.start(timers);
  assert.equal(pending.length, 1);
  assert.equal(pending[0].ms, 20_000);
  server.answer([201]);
  await pending.shift().fn();
  assert.deepEqual(await queue.entries(), []);
  assert.equal(pending.length, 1); // scheduled again
  queue.stop();
  assert.equal(pending.length, 0);
});
