// The member's live channel: backoff with jitter, the socket URL, resume after the last message,
// each message once, signed-out sockets not retried, a resync reconnects at once.
import assert from "node:assert/strict";
import { test } from "node:test";

import { backoffMs, connectLive, socketUrl } from "../static/gridlink/m/live.js";

test("backoff doubles to 15 s with ±30 % jitter", () => {
  assert.equal(backoffMs(0, () => 0.5), 1000);
  assert.equal(backoffMs(3, () => 0.5), 3375);
  assert.equal(backoffMs(10, () => 0.5), 15000);
  assert.equal(backoffMs(10, () => 0), 10500);
  assert.equal(backoffMs(10, () => 1), 19500);
});

test("the socket URL follows the page's scheme and resumes after a message", () => {
  assert.equal(socketUrl({ protocol: "http:", host: "a:8000" }, "/ws/member/", null), "ws://a:8000/ws/member/");
  assert.equal(socketUrl({ protocol: "https:", host: "a" }, "/ws/member/", 42), "wss://a/ws/member/?last_message=42");
});

function fakeSockets() {
  const made = [];
  class FakeSocket {
    constructor(url) {
      this.url = url;
      this.readyState = 1;
      this.sent = [];
      made.push(this);
    }
    send(data) {
      this.sent.push(JSON.parse(data));
    }
    close() {}
    frame(data) {
      this.onmessage({ data: JSON.stringify(data) });
    }
  }
  return { made, FakeSocket };
}

test("messages once each, resume from the last one, read acknowledgements", () => {
  const { made, FakeSocket } = fakeSockets();
  const timers = [];
  const got = [];
  const states = [];
  const live = connectLive({
    path: "/ws/member/", location: { protocol: "http:", host: "h" }, WebSocketImpl: FakeSocket,
    onMessage: (m, { fresh }) => got.push([m.id, fresh]), onState: (s) => states.push(s),
    setTimer: (fn) => timers.push(fn),
  });
  const first = made[0];
  first.frame({ type: "message", message: { id: 5 } });
  first.frame({ type: "caught_up", last_message: 5 });
  first.frame({ type: "message", message: { id: 7 } });
  first.frame({ type: "message", message: { id: 7 } }); // twice: shown once
  live.read(7);
  assert.deepEqual(first.sent, [{ type: "read", message: 7 }]);
  first.onclose({ code: 1006 });
  assert.equal(timers.length, 1);
  timers[0]();
  assert.equal(made[1].url, "ws://h/ws/member/?last_message=7");
  made[1].frame({ type: "message", message: { id: 7 } }); // the backlog repeats it: not again
  assert.deepEqual(got, [[5, false], [7, true]]);
  assert.deepEqual(states, ["connecting", "live", "reconnecting", "reconnecting"]);
});

test("a resync reconnects at once after the last message, the old socket closed and forgotten", () => {
  const { made, FakeSocket } = fakeSockets();
  const timers = [];
  const got = [];
  const states = [];
  let closed = 0;
  FakeSocket.prototype.close = () => { closed += 1; };
  const live = connectLive({
    path: "/ws/member/", location: { protocol: "http:", host: "h" }, WebSocketImpl: FakeSocket,
    onMessage: (m, { fresh }) => got.push([m.id, fresh]), onState: (s) => states.push(s),
    setTimer: (fn) => timers.push(fn),
  });
  const first = made[0];
  first.frame({ type: "caught_up", last_message: null });
  first.frame({ type: "message", message: { id: 9 } });
  const batch = live.positions([{ member: 1 }]);
  first.frame({ type: "resync", last_message: 9 });
  assert.equal(closed, 1);
  assert.equal(timers.length, 1); // only the batch's timeout: no backoff before the new socket
  assert.equal(made.length, 2);
  assert.equal(made[1].url, "ws://h/ws/member/?last_message=9");
  assert.equal(first.onclose, null); // its close schedules nothing
  assert.equal(live.positions([{ member: 1 }]), null); // not live until caught up again
  made[1].frame({ type: "message", message: { id: 8 } }); // one the layer dropped, from the inbox
  made[1].frame({ type: "message", message: { id: 9 } }); // shown already
  made[1].frame({ type: "caught_up", last_message: 9 });
  assert.deepEqual(got, [[9, true], [8, false]]);
  assert.deepEqual(states, ["connecting", "live", "connecting", "live"]);
  return batch.then((answer) => assert.equal(answer, null)); // the batch goes over HTTP
});

test("a signed-out socket is not retried", () => {
  const { made, FakeSocket } = fakeSockets();
  const timers = [];
  const states = [];
  connectLive({
    path: "/ws/member/", location: { protocol: "http:", host: "h" }, WebSocketImpl: FakeSocket,
    onMessage: () => {}, onState: (s) => states.push(s), setTimer: (fn) => timers.push(fn),
  });
  made[0].onclose({ code: 4401 });
  assert.equal(timers.length, 0);
  assert.equal(states.at(-1), "signedOut");
});

test("positions go over the live socket, answered by id; otherwise the caller uses HTTP", async () => {
  const { made, FakeSocket } = fakeSockets();
  const timers = [];
  const live = connectLive({
    path: "/ws/member/", location: { protocol: "http:", host: "h" }, WebSocketImpl: FakeSocket,
    onMessage: () => {}, onState: () => {}, setTimer: (fn) => timers.push(fn) && timers.length, clearTimer: () => {},
  });
  const socket = made[0];
  assert.equal(live.positions([{ member: 1 }]), null); // not caught up yet: over HTTP
  socket.frame({ type: "caught_up", last_message: null });
  const stored = live.positions([{ member: 1 }]);
  const refused = live.positions([{ member: 2 }]);
  const unanswered = live.positions([{ member: 1 }]);
  assert.deepEqual(socket.sent, [
    { type: "positions", id: 1, positions: [{ member: 1 }] },
    { type: "positions", id: 2, positions: [{ member: 2 }] },
    { type: "positions", id: 3, positions: [{ member: 1 }] },
  ]);
  socket.frame({ type: "positions", id: 1, stored: 1 });
  socket.frame({ type: "error", id: 2, code: "not_found", detail: "No such member." });
  assert.deepEqual(await stored, { ok: true, status: 201, message: "" });
  assert.deepEqual(await refused, { ok: false, status: 404, message: "No such member." });
  socket.onclose({ code: 1006 }); // the socket went: the last batch is told to use HTTP
  assert.equal(await unanswered, null);
  assert.equal(live.positions([{ member: 1 }]), null);
});

test("a batch larger than the socket's frames may be goes over HTTP", () => {
  const { made, FakeSocket } = fakeSockets();
  const live = connectLive({
    path: "/ws/member/", location: { protocol: "http:", host: "h" }, WebSocketImpl: FakeSocket,
    onMessage: () => {}, onState: () => {}, setTimer: () => 0, clearTimer: () => {}, maxFrameBytes: 200,
  });
  made[0].frame({ type: "caught_up", last_message: null });
  const many = Array.from({ length: 10 }, (_, k) => ({ member: 1, at: `2026-12-03T08:00:0${k}+08:00` }));
  assert.equal(live.positions(many), null);
  assert.deepEqual(made[0].sent, []);
  assert.notEqual(live.positions(many.slice(0, 1)), null);
});

test("a resume point the server refuses (4400) starts afresh: no last_message, nothing shown twice", () => {
  const { made, FakeSocket } = fakeSockets();
  const timers = [];
  const got = [];
  connectLive({
    path: "/ws/member/", location: { protocol: "http:", host: "h" }, WebSocketImpl: FakeSocket,
    onMessage: (m, { fresh }) => got.push([m.id, fresh]), onState: () => {}, setTimer: (fn) => timers.push(fn),
  });
  made[0].frame({ type: "caught_up", last_message: null });
  made[0].frame({ type: "message", message: { id: 9 } });
  made[0].onclose({ code: 1006 });
  timers.shift()();
  assert.equal(made[1].url, "ws://h/ws/member/?last_message=9");
  made[1].onclose({ code: 4400 }); // e.g. a message id from before the server's data was reset
  timers.shift()();
  assert.equal(made[2].url, "ws://h/ws/member/");
  made[2].frame({ type: "message", message: { id: 9 } }); // the backlog from the start: 9 was shown
  made[2].frame({ type: "message", message: { id: 10 } });
  made[2].frame({ type: "caught_up", last_message: 10 });
  assert.deepEqual(got, [[9, true], [10, false]]);
});

test("frames that are not messages of ours are ignored; a message frame without a message too", () => {
  const { made, FakeSocket } = fakeSockets();
  const got = [];
  connectLive({
    path: "/ws/member/", location: { protocol: "http:", host: "h" }, WebSocketImpl: FakeSocket,
    onMessage: (m) => got.push(m.id), onState: () => {}, setTimer: () => 0,
  });
  made[0].onmessage({ data: "not json" });
  made[0].frame({ type: "positions", id: 99 }); // an answer to no batch of this page
  made[0].frame({ type: "message" });
  made[0].frame({ type: "something_new", message: { id: 3 } });
  made[0].frame({ type: "message", message: { id: 4 } });
  assert.deepEqual(got, [4]);
});

test("after stop() the socket is closed and never reopened; read() says it could not send", () => {
  const { made, FakeSocket } = fakeSockets();
  const timers = [];
  const states = [];
  const live = connectLive({
    path: "/ws/member/", location: { protocol: "http:", host: "h" }, WebSocketImpl: FakeSocket,
    onMessage: () => {}, onState: (s) => states.push(s), setTimer: (fn) => timers.push(fn),
  });
  let closed = 0;
  made[0].close = () => {
    closed += 1;
    made[0].readyState = 3;
  };
  live.stop();
  made[0].onclose({ code: 1000 });
  assert.equal(closed, 1);
  assert.equal(timers.length, 0);
  assert.deepEqual(states, ["connecting"]);
  assert.equal(live.read(1), false);
});
