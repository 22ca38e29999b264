// The member's live channel: backoff with jitter, the socket URL, resume after the last message,
// each message once, signed-out sockets not retried.
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
