// The wall's socket (static/wall/socket.js): the resume URL, the jittered back-off, frames
// parsed and handed on, reconnects that start the back-off again once the server spoke.
import assert from "node:assert/strict";
import { test } from "node:test";

import { BACKOFF, backoffDelay, createSocket, socketUrl } from "../static/wall/socket.js";

test("the URL follows the page's scheme and resumes after an event id", () => {
  assert.equal(socketUrl({ protocol: "https:", host: "w.example" }, "/ws/wall/WP/", null), "wss://w.example/ws/wall/WP/");
  assert.equal(socketUrl({ protocol: "http:", host: "h:8000" }, "/ws/wall/WP/", 800), "ws://h:8000/ws/wall/WP/?last_event=800");
  assert.equal(socketUrl({ protocol: "http:", host: "h" }, "/ws/", 0), "ws://h/ws/?last_event=0");
});

test("the back-off grows, is jittered ±30 % and stays at 10 s", () => {
  assert.equal(backoffDelay(0, () => 0.5), 1000);
  assert.equal(backoffDelay(0, () => 0), 700);
  assert.equal(backoffDelay(99, () => 0.5), BACKOFF.at(-1));
});

function fakes() {
  const sockets = [];
  const timers = [];
  class FakeSocket {
    constructor(url) {
      this.url = url;
      sockets.push(this);
    }
    close() {}
  }
  const clock = {
    setTimeout(fn, delay) {
      timers.push({ fn, delay });
      return timers.length;
    },
    clearTimeout() {},
  };
  return { sockets, timers, FakeSocket, clock };
}

test("frames are parsed and handed on; a close reconnects with the newest resume point", () => {
  const { sockets, timers, FakeSocket, clock } = fakes();
  const frames = [];
  const states = [];
  let after = null;
  let refused = 0;
  const socket = createSocket({
    url: () => `ws://h/ws/?last_event=${after}`,
    onFrame: (f) => frames.push(f),
    onState: (s) => states.push(s),
    onRefused: () => (refused += 1),
    refusedCodes: [4401, 4403],
    WebSocket: FakeSocket,
    timers: clock,
    random: () => 0.5,
  });
  socket.connect();
  sockets[0].onopen();
  sockets[0].onmessage({ data: JSON.stringify({ type: "caught_up", last_event: 5 }) });
  sockets[0].onmessage({ data: "not json" });
  assert.deepEqual(frames, [{ type: "caught_up", last_event: 5 }]);
  after = 5;
  sockets[0].onclose({ code: 4401 });
  assert.equal(refused, 1);
  assert.deepEqual(states, ["live", "reconnecting"]);
  assert.equal(timers[0].delay, 1000);
  timers[0].fn();
  assert.equal(sockets[1].url, "ws://h/ws/?last_event=5");
  sockets[1].onclose({ code: 1006 });
  assert.equal(timers[1].delay, 1500); // the server said nothing: the back-off goes on
});
