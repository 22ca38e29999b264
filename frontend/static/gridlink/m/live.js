// The member's live channel (ws/member/): a new order, a stand-down, a reminder, an alarm or a
// major-incident call arrives here at once. Each message is shown (banner, vibration, and a system
// notification while the app is in the background and the member allowed it), acknowledged as
// read, and makes the work list reload. The socket reconnects for as long as the page is open,
// with jittered backoff, resuming after the last message it saw (`?last_message=`).

/**
 * The wait before reconnect attempt `n` (0, 1, 2, ...): 1, 1.5, 2.3, 3.4, 5.1, 7.6, 11.4, then 15 s,
 * ±30 % jitter. A restarted server (a few seconds down) sees its 692 phones come back spread over
 * seconds rather than all at once, and every one of them back within about 10 s.
 */
export function backoffMs(n, random = Math.random) {
  const base = Math.min(15000, 1000 * 1.5 ** Math.max(0, n));
  return Math.round(base * (0.7 + 0.6 * random()));
}

/** The socket URL of a page at `location` (ws: for http:, wss: for https:). */
export function socketUrl(location, path, lastMessage) {
  const scheme = location.protocol === "https:" ? "wss:" : "ws:";
  const query = lastMessage ? `?last_message=${encodeURIComponent(String(lastMessage))}` : "";
  return `${scheme}//${location.host}${path}${query}`;
}

/**
 * Connect and keep connected. `onMessage(message, {fresh})` is called once per message id
 * (`fresh`: it arrived while connected, not from the backlog of a reconnect); `onState(state)`
 * with "connecting" | "live" | "reconnecting" | "signedOut".
 */
export function connectLive({ path, location, WebSocketImpl, onMessage, onState, setTimer = setTimeout }) {
  let attempt = 0;
  let lastMessage = null;
  const seen = new Set();
  let socket = null;
  let stopped = false;

  function open() {
    if (stopped) return;
    onState(attempt === 0 ? "connecting" : "reconnecting");
    socket = new WebSocketImpl(socketUrl(location, path, lastMessage));
    let caughtUp = false;
    socket.onmessage = (event) => {
      let frame;
      try {
        frame = JSON.parse(event.data);
      } catch {
        return;
      }
      if (frame.type === "caught_up") {
        caughtUp = true;
        attempt = 0;
        onState("live");
        return;
      }
      if (frame.type !== "message" || !frame.message) return;
      const message = frame.message;
      lastMessage = Math.max(lastMessage || 0, message.id);
      if (seen.has(message.id)) return;
      seen.add(message.id);
      onMessage(message, { fresh: caughtUp });
    };
    socket.onclose = (event) => {
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

  open();
  return {
    /** Tell the server the member saw message `id`; false when the socket is not open (try later). */
    read(id) {
      if (!socket || socket.readyState !== 1) return false;
      socket.send(JSON.stringify({ type: "read", message: id }));
      return true;
    },
    stop() {
      stopped = true;
      socket?.close();
    },
  };
}
