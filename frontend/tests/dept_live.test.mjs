// The department queue's live channel: which messages alert the staff and what they say; the
// unit's socket (ws/dept/) driven by the member app's connectLive — reconnect after the last event
// seen, each message once, a refused socket not retried.
import assert from "node:assert/strict";
import { test } from "node:test";

import { ALERT_KINDS, isAlert, newsLine } from "../static/gridlink/dept/news.js";
import { connectLive } from "../static/gridlink/m/live.js";

const NEWS = {
  handover: "新交办：%(number)s", sent_back: "被退回：%(number)s", on_behalf: "已代为办结：%(number)s",
  reopened: "重新打开：%(number)s", overdue: "已超时：%(number)s",
};

test("new work for the unit alerts the staff; a colleague's move only reloads the queue", () => {
  assert.deepEqual([...ALERT_KINDS], ["handover", "sent_back", "on_behalf", "reopened", "overdue"]);
  for (const kind of ALERT_KINDS) assert.equal(isAlert({ kind }), true, kind);
  assert.equal(isAlert({ kind: "changed" }), false);
  assert.equal(isAlert(null), false);
  assert.equal(newsLine({ kind: "handover", number: "20261124-0007" }, NEWS), "新交办：20261124-0007");
  assert.equal(newsLine({ kind: "on_behalf", number: "N1" }, NEWS), "已代为办结：N1");
  assert.equal(newsLine({ kind: "changed", number: "N1" }, NEWS), "");
  assert.equal(newsLine({ kind: "overdue", number: "<b>N1</b>" }, NEWS), "已超时：<b>N1</b>"); // text, set with textContent
});

function fakeSockets() {
  const made = [];
  class FakeSocket {
    constructor(url) {
      this.url = url;
      this.readyState = 1;
      made.push(this);
    }
    send() {}
    close() {}
    frame(data) {
      this.onmessage({ data: JSON.stringify(data) });
    }
  }
  return { made, FakeSocket };
}

test("the unit's socket: caught up, each event once, resumed after the last one, refused not retried", () => {
  const { made, FakeSocket } = fakeSockets();
  const timers = [];
  const got = [];
  const states = [];
  connectLive({
    path: "/ws/dept/", location: { protocol: "https:", host: "gl" }, WebSocketImpl: FakeSocket,
    onMessage: (m, { fresh }) => got.push([m.id, m.kind, fresh]), onState: (s) => states.push(s),
    setTimer: (fn) => timers.push(fn),
  });
  assert.equal(made[0].url, "wss://gl/ws/dept/");
  made[0].frame({ type: "caught_up", last_message: null });
  const news = { id: 41, kind: "handover", incident: 7, number: "N7", handover: 3, at: "2026-11-24T08:00:00+08:00" };
  made[0].frame({ type: "message", message: news });
  made[0].frame({ type: "message", message: news });
  made[0].onclose({ code: 1006 });
  timers.shift()();
  assert.equal(made[1].url, "wss://gl/ws/dept/?last_message=41");
  made[1].frame({ type: "caught_up", last_message: 41 });
  made[1].frame({ type: "message", message: { ...news, id: 42, kind: "changed" } });
  assert.deepEqual(got, [[41, "handover", true], [42, "changed", true]]);
  made[1].onclose({ code: 4403 });
  assert.equal(timers.length, 0);
  assert.deepEqual(states, ["connecting", "live", "reconnecting", "reconnecting", "live", "signedOut"]);
});
