// The outbox on a phone shared by a shift, and against the server's key window: each entry records
// its member; only the logged-in member's entries are sent, the others' are held (never sent under
// the wrong login, never dropped) and shown only as a count per member; each goes with its member's
// header, and the server's `wrong_member` stops the queue with the entry kept; an entry older than
// the key window minus a margin waits for the member's "send anyway" or "discard". A report's photos
// travel with their entry. The first release's per-member databases move into the one outbox.
import assert from "node:assert/strict";
import { test } from "node:test";

import { formDataOf } from "../static/gridlink/m/api.js";
import {
  createQueue, heldSummary, holdOf, legacyOutboxes, memberHeaders, memoryStore, migratedEntries, migrateLegacyOutboxes,
  STALE_MARGIN_MS, staleAfterMs, verdict,
} from "../static/gridlink/m/queue.js";

const T0 = Date.parse("2026-11-24T08:00:00+08:00");
const HOUR = 3600_000;
const ZHANG = { id: 11, name: "张伟" };
const CHEN = { id: 12, name: "陈静" };

/** One phone: a shared store; `login(member)` opens the app as that member (a new queue). */
function phone({ script = [201], keyHours = 336, clock = { t: T0 } } = {}) {
  const store = memoryStore();
  const calls = [];
  let answer = script;
  let keys = 0;
  const send = async (entry) => {
    const status = answer[Math.min(calls.length, answer.length - 1)] ?? answer.at(-1);
    calls.push({ label: entry.label, key: entry.key, member: entry.memberId, files: entry.files.length, status });
    return status === 0
      ? { ok: false, status: 0, data: null, message: "offline" }
      : { ok: status < 300, status, data: {}, message: status < 300 ? "" : "refused" };
  };
  const login = (member) =>
    createQueue({ store, send, newKey: () => `k-${++keys}`, member, keyHours, now: () => clock.t, random: () => 0.5 });
  return { store, calls, login, clock, online: () => (answer = [201]), offline: () => (answer = [0]) };
}

const action = (label, extra = {}) => ({ url: "/api/v1/incidents/7/transitions/", body: { action: "note", text: label },
  label, orderId: 3, action: "note", ...extra });

test("each entry records the member who took the action", async () => {
  const p = phone({ script: [0] });
  await p.login(ZHANG).add(action("a"));
  const [entry] = await p.store.all();
  assert.equal(entry.memberId, ZHANG.id);
  assert.equal(entry.memberName, ZHANG.name);
});

test("another member's entries are held: never sent under this login, never dropped", async () => {
  const p = phone({ script: [0] });
  const zhang = p.login(ZHANG);
  await zhang.add(action("zhang 1"));
  await zhang.add(action("zhang 2"));
  // Zhang logs out with two actions waiting; Chen logs in on the same phone, online.
  const before = p.calls.length; // Zhang's own tries, offline
  p.online();
  const chen = p.login(CHEN);
  await chen.flush();
  assert.equal(p.calls.length, before);
  assert.deepEqual((await chen.entries()).map((e) => [e.label, chen.hold(e)]),
    [["zhang 1", "member"], ["zhang 2", "member"]]);
  // Chen's own action goes at once: the others' do not hold it up.
  const sent = await chen.add(action("chen 1"));
  assert.equal(sent.queued, false);
  assert.deepEqual(p.calls.slice(before).map((c) => [c.label, c.member]), [["chen 1", CHEN.id]]);
  // Chen may neither send nor discard Zhang's.
  const [first] = await chen.entries();
  assert.equal(await chen.discard(first.id), false);
  assert.equal(await chen.release(first.id), false);
  assert.equal((await chen.entries()).length, 2);
  // Zhang logs in again: his go, in order, with the keys made when he queued them.
  const again = p.login(ZHANG);
  await again.flush();
  assert.deepEqual(p.calls.slice(before + 1).map((c) => [c.label, c.key, c.member]),
    [["zhang 1", "k-1", ZHANG.id], ["zhang 2", "k-2", ZHANG.id]]);
  assert.deepEqual(await again.entries(), []);
});

test("an entry of unknown member (none recorded) is held, not sent", () => {
  assert.equal(holdOf({ queuedAt: T0 }, { memberId: ZHANG.id, now: T0 }), "member");
  assert.equal(holdOf({ queuedAt: T0, memberId: ZHANG.id }, { memberId: ZHANG.id, now: T0 }), null);
});

test("stale: the key window minus a day (at most half the window)", () => {
  assert.equal(staleAfterMs(336), 336 * HOUR - STALE_MARGIN_MS); // 13 days
  assert.equal(staleAfterMs(48), 24 * HOUR);
  assert.equal(staleAfterMs(1), 0.5 * HOUR);
  const entry = { memberId: ZHANG.id, queuedAt: T0 };
  const at = (ms) => holdOf(entry, { memberId: ZHANG.id, now: T0 + ms, keyHours: 336 });
  assert.equal(at(staleAfterMs(336) - 1), null);
  assert.equal(at(staleAfterMs(336)), "stale");
  assert.equal(holdOf({ ...entry, released: true }, { memberId: ZHANG.id, now: T0 + 400 * HOUR, keyHours: 336 }), null);
  assert.equal(holdOf(entry, { memberId: ZHANG.id, now: T0 + 400 * HOUR, keyHours: null }), null);
});

test("a stale entry waits for the member, and the ones behind it too; 'send anyway' sends it with its key", async () => {
  const p = phone({ script: [0], keyHours: 336 });
  const zhang = p.login(ZHANG);
  await zhang.add(action("old arrive"));
  p.clock.t += 12 * 24 * HOUR;
  await zhang.add(action("later note"));
  // Thirteen days after the first was queued, online again: nothing goes by itself.
  p.clock.t = T0 + staleAfterMs(336);
  p.online();
  const before = p.calls.length;
  await zhang.flush();
  assert.equal(p.calls.length, before);
  const [old, later] = await zhang.entries();
  assert.equal(zhang.hold(old), "stale");
  assert.equal(zhang.hold(later), null);
  assert.equal((await zhang.add(action("new note"))).queued, true); // behind the stale one
  assert.equal(await zhang.release(old.id), true);
  assert.deepEqual(p.calls.slice(before).map((c) => [c.label, c.key]),
    [["old arrive", "k-1"], ["later note", "k-2"], ["new note", "k-3"]]);
  assert.deepEqual(await zhang.entries(), []);
});

test("'discard' removes the stale entry unsent and lets the next ones go", async () => {
  const p = phone({ script: [0], keyHours: 48 });
  const zhang = p.login(ZHANG);
  await zhang.add(action("old resolve"));
  await zhang.add(action("old note"));
  p.clock.t += 30 * HOUR;
  p.online();
  const [old] = await zhang.entries();
  assert.equal(zhang.hold(old), "stale");
  const before = p.calls.length;
  assert.equal(await zhang.discard(old.id), true);
  // The note was queued at the same time: stale as well, it waits for its own decision.
  const [note] = await zhang.entries();
  assert.equal(note.label, "old note");
  assert.equal(p.calls.length, before);
  await zhang.discard(note.id);
  assert.deepEqual(await zhang.entries(), []);
  assert.equal(p.calls.length, before); // nothing of it reached the server
});

test("a report's photos are stored with the entry and sent on each retry", async () => {
  const p = phone({ script: [0] });
  const zhang = p.login(ZHANG);
  const photo = { name: "scene.jpg", type: "image/jpeg", size: 3, blob: new Blob([new Uint8Array([0xff, 0xd8, 0xff])], { type: "image/jpeg" }) };
  await zhang.add(action("report", { action: "report_on_site", body: { action: "report_on_site", text: "现场" }, files: [photo] }));
  const [entry] = await p.store.all();
  assert.equal(entry.files.length, 1);
  assert.equal(entry.files[0].name, "scene.jpg");
  assert.equal(entry.files[0].size, 3);
  assert.deepEqual([...new Uint8Array(await entry.files[0].blob.arrayBuffer())], [0xff, 0xd8, 0xff]);
  p.online();
  await zhang.flush();
  assert.deepEqual(p.calls.map((c) => [c.key, c.files]), [["k-1", 1], ["k-1", 1]]);
});

test("the multipart body: the fields, then each photo as one more `photos`, bytes untouched", async () => {
  const bytes = new Uint8Array([0xff, 0xd8, 0xff, 0xe1, 0x00, 0x10, 0x45, 0x78, 0x69, 0x66]); // JPEG with an EXIF block
  const photos = [
    { name: "a.jpg", type: "image/jpeg", size: bytes.length, blob: new Blob([bytes], { type: "image/jpeg" }) },
    { name: "b.png", type: "image/png", size: 1, blob: new Blob([new Uint8Array([1])], { type: "image/png" }) },
  ];
  const form = formDataOf({ action: "report_on_site", text: "双方已劝离", unit: null }, photos);
  assert.deepEqual([...form.keys()], ["action", "text", "photos", "photos"]);
  assert.equal(form.get("action"), "report_on_site");
  assert.equal(form.get("text"), "双方已劝离");
  const [a, b] = form.getAll("photos");
  assert.equal(a.name, "a.jpg");
  assert.equal(a.type, "image/jpeg");
  assert.deepEqual(new Uint8Array(await a.arrayBuffer()), bytes);
  assert.equal(b.name, "b.png");
});

// ---- another member's session -----------------------------------------------------------------------

test("each entry is sent with its member's header; none for an entry of unknown member", () => {
  assert.deepEqual(memberHeaders({ memberId: 11 }), { "X-GridLink-Member": "11" });
  assert.deepEqual(memberHeaders({ memberId: null }), {});
  assert.deepEqual(memberHeaders({}), {});
});

test("409 wrong_member waits (never dropped); another 409 is a refusal", () => {
  assert.equal(verdict(409, { detail: "…", code: "wrong_member" }), "wait");
  assert.equal(verdict(409, { detail: "该指令已接受。", code: "refused" }), "refused");
  assert.equal(verdict(409, null), "refused");
});

test("sent under another member's session: the entry stays untouched and the queue stops", async () => {
  const store = memoryStore();
  const calls = [];
  let answer = { ok: false, status: 409, data: { detail: "another member", code: "wrong_member" }, message: "another member" };
  const wrong = [];
  const queue = createQueue({
    store, newKey: (() => { let n = 0; return () => `k-${++n}`; })(), member: ZHANG, now: () => T0,
    send: async (entry) => {
      calls.push({ key: entry.key, headers: memberHeaders(entry) });
      return answer;
    },
    onWrongMember: (entry, result) => wrong.push([entry.key, result.status]),
  });
  const sent = await queue.add(action("zhang 1"));
  assert.equal(sent.queued, true);
  await queue.add(action("zhang 2"));
  assert.deepEqual(calls, [{ key: "k-1", headers: { "X-GridLink-Member": String(ZHANG.id) } }]);
  assert.deepEqual(wrong, [["k-1", 409]]);
  const [first, second] = await queue.entries();
  assert.equal(first.attempts, 0);
  assert.equal(first.nextAttemptAt, 0);
  assert.equal(second.label, "zhang 2");
  await queue.flush(); // stopped: nothing more goes from this page
  assert.equal(calls.length, 1);
  // Zhang's page loaded again under his login: both go, with their keys.
  answer = { ok: true, status: 200, data: {}, message: "" };
  const timers = { setTimeout: () => 1, clearTimeout: () => {} };
  await queue.start(timers);
  assert.deepEqual(calls.map((c) => c.key), ["k-1", "k-1", "k-2"]);
  assert.deepEqual(await queue.entries(), []);
});

test("the bar shows another member's entries only as a count per member, never their labels", () => {
  const entries = [
    { memberId: ZHANG.id, memberName: ZHANG.name, label: "到场 · 案件 20261124-0001" },
    { memberId: CHEN.id, memberName: CHEN.name, label: "备注 · 案件 20261124-0002 · 王某" },
    { memberId: 13, memberName: "", label: "x" },
    { memberId: CHEN.id, memberName: CHEN.name, label: "办结 · 案件 20261124-0002" },
  ];
  const held = heldSummary(entries, ZHANG.id);
  assert.deepEqual(held, [{ memberId: CHEN.id, name: CHEN.name, count: 2 }, { memberId: 13, name: "", count: 1 }]);
  assert.ok(!JSON.stringify(held).includes("案件"));
  assert.deepEqual(heldSummary(entries.slice(0, 1), ZHANG.id), []);
});

// ---- the first release's per-member databases ----------------------------------------------------------

test("the old per-member databases are found by name; nothing else is", () => {
  assert.deepEqual(legacyOutboxes(["gridlink-m-outbox-12", "gridlink-m-outbox", "gridlink-m-team-outbox-12",
    "gridlink-m-outbox-7", "gridlink-m-outbox-x1", "other", null]), [
    { name: "gridlink-m-outbox-7", memberId: 7 }, { name: "gridlink-m-outbox-12", memberId: 12 }]);
});

test("old rows become entries of their member, in their order, with their keys", () => {
  const rows = [
    { id: 5, key: "k-b", url: "/b/", body: {}, label: "b", queuedAt: T0 + 1 },
    { id: 2, key: "k-a", url: "/a/", body: {}, label: "a", queuedAt: T0 },
  ];
  const entries = migratedEntries(rows, { memberId: ZHANG.id, member: ZHANG });
  assert.deepEqual(entries.map((e) => [e.key, e.memberId, e.memberName, e.files, e.released, "id" in e]),
    [["k-a", ZHANG.id, ZHANG.name, [], false, false], ["k-b", ZHANG.id, ZHANG.name, [], false, false]]);
  // Another member's database: stamped with its member, the name unknown.
  assert.deepEqual(migratedEntries(rows, { memberId: CHEN.id, member: ZHANG }).map((e) => [e.memberId, e.memberName]),
    [[CHEN.id, ""], [CHEN.id, ""]]);
  // Rows moved before (a migration cut short) are left out.
  assert.deepEqual(migratedEntries(rows, { memberId: 1, knownKeys: new Set(["k-a"]) }).map((e) => e.key), ["k-b"]);
});

/** Old databases in memory, as `migrateLegacyOutboxes` sees them; `failAdd` breaks the new store. */
function legacyPhone(databases, { listed = true } = {}) {
  const dbs = new Map(Object.entries(databases).map(([name, rows]) => [name, rows.map((r) => ({ ...r }))]));
  const dropped = [];
  return {
    dbs, dropped,
    legacy: {
      list: async () => (listed ? [...dbs.keys()] : null),
      read: async (name) => (dbs.has(name) ? dbs.get(name).map((r) => ({ ...r })) : null),
      removeRows: async (name, ids) => {
        dbs.set(name, dbs.get(name).filter((r) => !ids.includes(r.id)));
        return dbs.get(name).length;
      },
      drop: async (name) => {
        dbs.delete(name);
        dropped.push(name);
      },
    },
  };
}

const oldRow = (id, key, label, queuedAt = T0) => ({ id, key, url: "/api/v1/incidents/7/transitions/",
  body: { action: "note", text: label }, label, orderId: 3, action: "note", said: "", queuedAt, attempts: 1,
  lastError: "", lastStatus: 0, failures: 0, nextAttemptAt: 0 });

test("at start the old databases move into the one outbox and are deleted; then the queue sends them", async () => {
  const p = phone();
  const old = legacyPhone({
    "gridlink-m-outbox-12": [oldRow(1, "c-1", "chen 1"), oldRow(2, "c-2", "chen 2")],
    "gridlink-m-outbox-11": [oldRow(3, "z-3", "zhang 3"), oldRow(1, "z-1", "zhang 1")],
  });
  await p.store.add({ ...action("zhang new"), files: [], key: "new-1", memberId: ZHANG.id, memberName: ZHANG.name, queuedAt: T0 });
  assert.equal(await migrateLegacyOutboxes({ legacy: old.legacy, store: p.store, member: ZHANG }), 4);
  assert.deepEqual((await p.store.all()).map((e) => [e.key, e.memberId]),
    [["new-1", ZHANG.id], ["z-1", ZHANG.id], ["z-3", ZHANG.id], ["c-1", CHEN.id], ["c-2", CHEN.id]]);
  assert.deepEqual(old.dropped.sort(), ["gridlink-m-outbox-11", "gridlink-m-outbox-12"]);
  // Zhang's go under his login with the keys they had; Chen's wait for him.
  const zhang = p.login(ZHANG);
  await zhang.flush();
  assert.deepEqual(p.calls.map((c) => [c.key, c.member]), [["new-1", ZHANG.id], ["z-1", ZHANG.id], ["z-3", ZHANG.id]]);
  assert.deepEqual((await zhang.entries()).map((e) => [e.key, zhang.hold(e)]), [["c-1", "member"], ["c-2", "member"]]);
});

test("without indexedDB.databases() the logged-in member's old database is looked for", async () => {
  const p = phone();
  const old = legacyPhone({ "gridlink-m-outbox-11": [oldRow(1, "z-1", "zhang 1")],
    "gridlink-m-outbox-12": [oldRow(1, "c-1", "chen 1")] }, { listed: false });
  assert.equal(await migrateLegacyOutboxes({ legacy: old.legacy, store: p.store, member: ZHANG }), 1);
  assert.deepEqual((await p.store.all()).map((e) => e.key), ["z-1"]);
  assert.deepEqual([...old.dbs.keys()], ["gridlink-m-outbox-12"]); // Chen's moves when he logs in
});

test("a migration cut short drops nothing and moves nothing twice", async () => {
  const p = phone();
  const old = legacyPhone({ "gridlink-m-outbox-11": [oldRow(1, "z-1", "a"), oldRow(2, "z-2", "b")] });
  const failing = { ...p.store, add: async () => { throw new Error("QuotaExceededError"); } };
  await assert.rejects(migrateLegacyOutboxes({ legacy: old.legacy, store: failing, member: ZHANG }));
  assert.equal(old.dbs.get("gridlink-m-outbox-11").length, 2); // the old database keeps everything
  // Cut after the first row was added: the next start adds only the second, then deletes the old one.
  await p.store.add(migratedEntries([oldRow(1, "z-1", "a")], { memberId: ZHANG.id })[0]);
  await migrateLegacyOutboxes({ legacy: old.legacy, store: p.store, member: ZHANG });
  assert.deepEqual((await p.store.all()).map((e) => e.key), ["z-1", "z-2"]);
  assert.deepEqual(old.dropped, ["gridlink-m-outbox-11"]);
});
