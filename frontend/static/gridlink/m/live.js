// The member's live channel (ws/member/): a new order, a stand-down, a reminder, an alarm, a
// major-incident call or a change of the member's grids arrives here at once. Each message is shown (banner, vibration, and a system
// notification while the app is in the background and the member allowed it), acknowledged as
// read, and makes the work list reload. The socket reconnects for as long as the page is open,
// with jittered backoff, resuming after the last message it saw (`?last_message=`). A `resync` frame
// (the server's channel layer dropped a message meant for this socket: config/ws_frames.py) makes it
// reconnect at once the same way, so the missed messages come from the server's inbox; the unit's
// page (dept/app.js) reloads its queue when the socket is live again.

/**
 * The wait before reconnect attempt `n` (0, 1, 2, ...): 1, 1.5, 2.3, 3.4, 5.1, 7.6, 11.4, then 15 s,
 * ±30 % jitter. A restarted server (a few seconds down) sees its 692 phones come back spread over
 * seconds rather than all at once, and every one of them back within about 10 s.
 * @param {number} n
 * @param {() => number} [random]
 */
export function backoffMs(n, random = Math.random) {
  const base = Math.min(15000, 1000 * 1.5 ** Math.max(0, n));
  return Math.round(base * (0.7 + 0.6 * random()));
}

/**
 * An answer to a batch of positions, as the HTTP API's would be (null: send it over HTTP).
 * @typedef {{ok: boolean, status: number, message: string} | null} BatchAnswer
 */

/**
 * The socket URL of a page at `location` (ws: for http:, wss: for https:).
 * @param {{protocol: string, host: string}} location
 * @param {string} path
 * @param {number | null} lastMessage
 */
export function socketUrl(location, path, lastMessage) {
  const scheme = location.protocol === "https:" ? "wss:" : "ws:";
  const query = lastMessage ? `?last_message=${encodeURIComponent(String(lastMessage))}` : "";
  return `${scheme}//${location.host}${path}${query}`;
}

/**
 * Connect and keep connected. `onMessage(message, {fresh})` is called once per message id
 * (`fresh`: it arrived while connected, not from the backlog of a reconnect); `onState(state)`
 * with "connecting" | "live" | "reconnecting" | "signedOut".
 * @param {object} options
 * @param {string} options.path
 * @param {{protocol: string, host: string}} options.location
 * @param {new (url: string) => WebSocket} options.WebSocketImpl
 * @param {(message: any, how: {fresh: boolean}) => void} options.onMessage a frame's `message`: its
 *   `id` orders them and is the resume point; the rest is the channel's (not in the OpenAPI document)
 * @param {(state: "connecting" | "live" | "reconnecting" | "signedOut") => void} options.onState
 * @param {(fn: () => void, ms: number) => any} [options.setTimer]
 * @param {(timer: any) => void} [options.clearTimer]
 * @param {number} [options.maxFrameBytes]
 */
export function connectLive({
  path, location, WebSocketImpl, onMessage, onState, setTimer = setTimeout, clearTimer = clearTimeout,
  maxFrameBytes = 4096,
}) {
  let attempt = 0;
  /** @type {number | null} */
  let lastMessage = null;
  const seen = new Set();
  /** @type {WebSocket | null} */
  let socket = null;
  let stopped = false;
  let live = false; // caught up on the current socket
  let batchSeq = 0;
  /** @type {Map<number, {settle: (answer: BatchAnswer) => void, timer: any}>} */
  const batches = new Map(); // a positions batch's id → {settle, timer}: answered by the server

  /** @param {number} id @param {BatchAnswer} result */
  function settle(id, result) {
    const batch = batches.get(id);
    if (!batch) return;
    batches.delete(id);
    clearTimer(batch.timer);
    batch.settle(result);
  }

  function settleAll() {
    for (const id of [...batches.keys()]) settle(id, null);
  }

  function open() {
    if (stopped) return;
    onState(attempt === 0 ? "connecting" : "reconnecting");
    const ws = new WebSocketImpl(socketUrl(location, path, lastMessage));
    socket = ws;
    let caughtUp = false;
    ws.onmessage = (event) => {
      let frame;
      try {
        frame = JSON.parse(event.data);
      } catch {
        return;
      }
      if (frame.type === "resync") {
        reopen(ws);
        return;
      }
      if (frame.type === "caught_up") {
        caughtUp = true;
        live = true;
        attempt = 0;
        onState("live");
        return;
      }
      if (frame.type === "positions" && batches.has(frame.id)) {
        settle(frame.id, { ok: true, status: 201, message: "" });
        return;
      }
      if (frame.type === "error" && batches.has(frame.id)) {
        settle(frame.id, { ok: false, status: frame.code === "not_found" ? 404 : 400, message: frame.detail || "" });
        return;
      }
      if (frame.type !== "message" || !frame.message) return;
      const message = frame.message;
      lastMessage = Math.max(lastMessage || 0, message.id);
      if (seen.has(message.id)) return;
      seen.add(message.id);
      onMessage(message, { fresh: caughtUp });
    };
    ws.onclose = (event) => {
      live = false;
      settleAll(); // unanswered batches go over HTTP instead
      if (stopped) return;
      if (event.code === 4401 || event.code === 4403) {
        onState("signedOut");
        return; // a new login is needed: the page says so
      }
      if (event.code === 4400) lastMessage = null; // a resume point the server refused: start afresh
      onState("reconnecting");
      setTimer(open, backoffMs(attempt));
      attempt += 1;
    };
  }

  /**
   * Drop `ws` (its close is not a loss to retry after) and connect again at once, resuming after
   * the last message seen.
   * @param {WebSocket} ws
   */
  function reopen(ws) {
    ws.onmessage = null;
    ws.onclose = null;
    live = false;
    settleAll(); // unanswered batches go over HTTP instead
    ws.close();
    if (stopped) return;
    open();
  }

  open();
  return {
    /** Tell the server the member saw message `id`; false when the socket is not open (try later). */
    /** @param {number} id */
    read(id) {
      if (!socket || socket.readyState !== 1) return false;
      socket.send(JSON.stringify({ type: "read", message: id }));
      return true;
    },
    /**
     * Send a batch of the member's positions over the socket (no HTTP request per batch). Returns
     * null when the socket is not live or the batch is larger than its frames may be, else a promise of `{ok, status, message}` as the HTTP API's
     * answer — or of null when the socket closed or did not answer within `timeoutMs`: then send
     * the batch over HTTP (the server stores a fix once, whichever way it came twice).
     */
    /**
     * @param {object[]} items
     * @param {{timeoutMs?: number}} [options]
     * @returns {Promise<BatchAnswer> | null}
     */
    positions(items, { timeoutMs = 10000 } = {}) {
      if (!live || !socket || socket.readyState !== 1) return null;
      const id = batchSeq + 1;
      const text = JSON.stringify({ type: "positions", id, positions: items });
      if (new TextEncoder().encode(text).length > maxFrameBytes) return null; // the socket would refuse it
      batchSeq = id;
      const answer = new Promise((resolve) => {
        batches.set(id, { settle: resolve, timer: setTimer(() => settle(id, null), timeoutMs) });
      });
      socket.send(text);
      return answer;
    },
    stop() {
      stopped = true;
      settleAll();
      socket?.close();
    },
  };
}
