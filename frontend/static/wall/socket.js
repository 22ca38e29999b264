// The wall's websocket (ws/wall/<code>/): connects, resumes after the newest event applied
// (?last_event=N, a little before it: store.resumeFrom), reconnects with a growing, jittered wait,
// and hands every frame, parsed, to `onFrame`. Frames: event, positions, caught_up, resync (the
// page then reloads its snapshot). The WebSocket class and the timers are injected, so that node
// --test runs it (frontend/tests/wall_socket.test.mjs).

/**
 * The WebSocket class and the timers, injected (node --test gives fakes).
 * @typedef {new (url: string) => WebSocket} SocketClass
 * @typedef {{setTimeout: (handler: () => void, ms: number) => ReturnType<typeof setTimeout>,
 *   clearTimeout: (timer: ReturnType<typeof setTimeout>) => void}} Timers
 */

// Reconnect waits, each ±30 % at random so that the walls (and the phones, m/live.js) do not all
// come back at once after a server restart; then every 10 s.
export const BACKOFF = [1000, 1500, 2250, 3400, 5000, 7600, 10000];

/**
 * The wait before reconnect attempt `attempt` (0, 1, …), `random()` in [0, 1).
 * @param {number} attempt
 * @param {() => number} [random]
 * @returns {number}
 */
export function backoffDelay(attempt, random = Math.random) {
  return BACKOFF[Math.min(attempt, BACKOFF.length - 1)] * (0.7 + 0.6 * random());
}

/**
 * The socket's URL on the page's host ({protocol, host}), resuming after `after` when there is one.
 * @param {{protocol: string, host: string}} location
 * @param {string} path
 * @param {number | null | undefined} after
 * @returns {string}
 */
export function socketUrl(location, path, after) {
  const scheme = location.protocol === "https:" ? "wss:" : "ws:";
  const url = `${scheme}//${location.host}${path}`;
  return after === null || after === undefined ? url : `${url}?last_event=${encodeURIComponent(after)}`;
}

/**
 * createSocket({url, onFrame, onState, onRefused, refusedCodes, WebSocket, timers, random}) →
 * {connect, close}. `url()` is asked at every (re)connect. onState("live" | "reconnecting");
 * onRefused() when the server closed with one of `refusedCodes` (signed out, role taken away):
 * the socket keeps trying, so that a log-in in another tab brings the wall back.
 * `onFrame` is given the frame as parsed (store.js Frame, unchecked: what the server sent).
 * @param {{url: () => string, onFrame: (frame: any) => void, onState?: (state: string) => void,
 *   onRefused?: () => void, refusedCodes?: number[], WebSocket?: SocketClass,
 *   timers?: Timers, random?: () => number}} options
 */
export function createSocket({
  url,
  onFrame,
  onState = () => {},
  onRefused = () => {},
  refusedCodes = [],
  WebSocket = globalThis.WebSocket,
  timers = globalThis,
  random = Math.random,
}) {
  /** @type {WebSocket | null} */
  let socket = null;
  let attempt = 0;
  /** @type {ReturnType<typeof setTimeout> | null} */
  let timer = null;
  let closed = false;

  function schedule() {
    if (closed) return;
    const delay = backoffDelay(attempt, random);
    attempt += 1;
    timer = timers.setTimeout(connect, delay);
  }

  function connect() {
    if (timer) {
      timers.clearTimeout(timer);
      timer = null;
    }
    let ws;
    try {
      ws = new WebSocket(url());
    } catch {
      schedule();
      return;
    }
    socket = ws;
    ws.onopen = () => onState("live");
    ws.onmessage = (message) => {
      // The back-off starts again once the server has said something (a socket it accepts and
      // closes at once, as for a signed-out user, keeps backing off).
      attempt = 0;
      let frame;
      try {
        frame = JSON.parse(message.data);
      } catch {
        return;
      }
      onFrame(frame);
    };
    ws.onclose = (event) => {
      if (socket !== ws) return;
      socket = null;
      if (event && refusedCodes.includes(event.code)) onRefused();
      onState("reconnecting");
      schedule();
    };
    ws.onerror = () => {
      // onclose follows and reconnects
    };
  }

  return {
    connect,
    close() {
      closed = true;
      if (timer) timers.clearTimeout(timer);
      if (socket) {
        const ws = socket;
        socket = null;
        ws.close();
      }
    },
  };
}
