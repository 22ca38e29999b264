// The responders' app (/m/), entry module: reads the page's configuration (#m-config, json_script),
// loads the member's own work every `refreshSeconds` and after every action, sends the actions to
// the existing endpoints through the outbox (queue.js: kept on the phone while there is no signal,
// sent in order when it returns; the bar at the top lists what waits), shares the phone's
// position, and registers the service worker that keeps the app shell for an offline start.
//
// `refresh()` is exported for the member's live socket (ws/member/, another module to come): a
// message about an order calls it, and the list is redrawn from the server's answer.
//
// Test hooks: body[data-m-ready="1"] after the first answer is drawn; body[data-refreshed] = how
// many answers were drawn; #m-share[data-state] = the sharing state; #m-queue[data-count] = how
// many actions wait to be sent.

import { createApi, newKey, urlFor } from "./api.js";
import { fill, formatTime } from "./format.js";
import { createSharing, currentFix } from "./geo.js";
import { connectLive } from "./live.js";
import { createOrderMap } from "./map.js";
import { createQueue, persistentStore } from "./queue.js";
import { createStore } from "./store.js";
import { createWorkView } from "./work.js";

const config = JSON.parse(document.getElementById("m-config").textContent);
const text = config.text;
const body = document.body;
const api = createApi({ csrf: config.csrf, fallback: text.failed, cookies: () => document.cookie });
const store = createStore({ work: null, loadedAt: null, selected: null, notices: {}, form: null, busy: null, queue: [] });

let clockOffset = 0; // server time − phone time (ms), from the last answer
const serverNow = () => Date.now() + clockOffset;

function localStore() {
  try {
    return window.localStorage;
  } catch {
    return null; // storage disabled: the sharing choice lasts for this page
  }
}

// ---- the map of the selected order ----------------------------------------------------------------

const mapElement = document.createElement("div");
mapElement.className = "m-map";
mapElement.dataset.testid = "order-map";
let orderMap = null;

const mapAdapter = {
  place(slot, item) {
    if (mapElement.parentNode !== slot) slot.append(mapElement);
    if (!orderMap) {
      orderMap = createOrderMap(mapElement, { ...config.map, text });
      orderMap?.setMe(sharing.lastFix() || sharedPosition());
    }
    orderMap?.show(item, sharing.lastFix() || sharedPosition());
  },
};

function sharedPosition() {
  const position = store.get().work?.member.position;
  return position ? { lon: position.lon, lat: position.lat, accuracy: position.accuracy_m } : null;
}

// ---- the list ---------------------------------------------------------------------------------------

const view = createWorkView({
  live: document.getElementById("m-live"),
  finished: document.getElementById("m-finished"),
  config,
  text,
  map: mapAdapter,
  onSelect: (id) => store.set({ selected: store.get().selected === id ? null : id }),
  onForm: (id, action) => store.set({ form: action ? { orderId: id, action } : null }),
  onAction: act,
});

const statusLine = document.getElementById("m-status");
const dutyBadge = document.getElementById("m-duty");

store.subscribe((state) => {
  view.render(state);
  view.tick(serverNow(), sharing.lastFix());
});

// ---- loading --------------------------------------------------------------------------------------

let requestSeq = 0;
let drawn = 0;

/** Load the member's work again and redraw (also called by the member's socket, later). */
export async function refresh() {
  const seq = ++requestSeq;
  const result = await api.get(config.api.work);
  if (seq !== requestSeq) {
    return; // a later refresh was started meanwhile: its answer wins
  }
  if (!result.ok) {
    showLoadError(result);
    return;
  }
  const work = result.data;
  clockOffset = Date.parse(work.now) - Date.now();
  const state = store.get();
  const ids = new Set(work.orders.map((o) => o.order.id));
  let selected = state.selected;
  if (selected === null || !ids.has(selected)) {
    const first = work.orders.find((o) => o.live);
    selected = first ? first.order.id : null;
  }
  store.set({ work, loadedAt: Date.now(), selected });
  statusLine.textContent = fill(text.updated, { time: formatTime(serverNow(), config.timeZone) });
  statusLine.dataset.kind = "ok";
  dutyBadge.textContent = work.member.on_duty ? text.onDuty : text.offDuty;
  dutyBadge.dataset.duty = work.member.on_duty ? "1" : "0";
  sharing.setActive(work.member.on_duty || work.orders.some((o) => o.live));
  drawn += 1;
  body.dataset.refreshed = String(drawn);
  body.dataset.mReady = "1";
}

function showLoadError(result) {
  const { loadedAt } = store.get();
  let message = result.message || text.loadError;
  if (result.status === 0) {
    message = loadedAt ? fill(text.offline, { time: formatTime(loadedAt + clockOffset, config.timeZone) }) : text.offlineEmpty;
  } else if (result.status === 401 || (result.status === 403 && loadedAt)) {
    message = text.signedOut; // the session ended while the app was open
  }
  statusLine.textContent = message;
  statusLine.dataset.kind = "error";
}

// ---- actions ------------------------------------------------------------------------------------------

function notify(id, kind, message) {
  store.set({ notices: { ...store.get().notices, [id]: { kind, text: message } } });
}

async function arrivalBody() {
  notify(store.get().busy, "info", text.locating);
  const fix = await currentFix(navigator.geolocation, { clockOffsetMs: clockOffset });
  const max = config.arrivalMaxAccuracyM;
  if (fix && fix.accuracy !== null && fix.accuracy <= max) {
    return { body: { action: "arrive", position: { type: "Point", coordinates: [fix.lon, fix.lat] } }, said: "" };
  }
  const said = fix ? fill(text.arrivalInaccurate, { accuracy: Math.round(fix.accuracy ?? 0), max }) : text.arrivalNoFix;
  return { body: { action: "arrive" }, said }; // the server takes the last known position
}

// The outbox: every action is queued (IndexedDB, one database per member) and sent from there. An
// action that waits is sent when the phone is online again, the app becomes visible, or every ~20 s.
const queue = createQueue({
  store: persistentStore({ name: `gridlink-m-outbox-${config.member}` }),
  send: (entry) => api.post(entry.url, entry.body, { key: entry.key }),
  newKey,
  lock: navigator.locks ? (fn) => navigator.locks.request(`gridlink-m-outbox-${config.member}`, fn) : undefined,
  onChange: (entries) => store.set({ queue: entries }),
  onSettled: (entry, result, { awaited }) => {
    if (awaited) return; // act() shows it
    if (entry.orderId !== null) notify(entry.orderId, ...outcome(entry.action, entry.said, result));
    refreshSoon();
  },
});

let refreshPending = false;
function refreshSoon() {
  if (refreshPending) return;
  refreshPending = true;
  setTimeout(() => {
    refreshPending = false;
    refresh();
  }, 300);
}

function outcome(action, said, result) {
  if (!result.ok) return ["error", result.message];
  return [said ? "warn" : "ok", [text.done[action], said].filter(Boolean).join(" ")];
}

function actionLabel(item, action, fields) {
  const words = [text.buttons[action] || action, fill(text.case, { number: item.incident.number })];
  if (fields.text) words.push(fields.text.length > 24 ? fields.text.slice(0, 24) + "…" : fields.text);
  return words.join(" · ");
}

async function act(item, action, fields) {
  const id = item.order.id;
  if (store.get().busy !== null) return;
  store.set({ busy: id });
  notify(id, "info", text.sending);
  let url;
  let payload;
  let said = "";
  if (action === "accept") {
    [url, payload] = [urlFor(config.api.accept, id), {}];
  } else if (action === "decline") {
    [url, payload] = [urlFor(config.api.decline, id), { reason: fields.text }];
  } else if (action === "arrive") {
    const arrival = await arrivalBody(); // the position when the member taps, not when it is sent
    said = arrival.said;
    [url, payload] = [urlFor(config.api.transitions, item.incident.id), arrival.body];
  } else {
    [url, payload] = [urlFor(config.api.transitions, item.incident.id), { action, text: fields.text }];
  }
  let sent;
  try {
    sent = await queue.add({ url, body: payload, label: actionLabel(item, action, fields), orderId: id, action, said });
  } catch {
    sent = { queued: false, result: await api.post(url, payload) }; // no storage at all: as before
  }
  const notices = { ...store.get().notices };
  if (sent.queued) {
    notices[id] = { kind: "queued", text: [text.queued, said].filter(Boolean).join(" ") };
    store.set({ busy: null, notices, form: null });
    return;
  }
  const [kind, message] = outcome(action, said, sent.result);
  notices[id] = { kind, text: message };
  store.set({ busy: null, notices, form: sent.result.ok ? null : store.get().form });
  await refresh();
}

// ---- the bar of what waits to be sent --------------------------------------------------------------

const queueBar = document.getElementById("m-queue");
const queueCount = document.getElementById("m-queue-count");
const queueList = document.getElementById("m-queue-list");
let queueShown = null;

store.subscribe((state) => {
  if (state.queue === queueShown) return;
  queueShown = state.queue;
  const entries = state.queue;
  queueBar.hidden = entries.length === 0;
  queueBar.dataset.count = String(entries.length);
  queueCount.textContent = fill(text.queueCount, { n: entries.length });
  queueList.replaceChildren(
    ...entries.map((entry) => {
      const line = document.createElement("li");
      line.textContent = entry.label;
      line.dataset.key = entry.key;
      if (entry.lastStatus) {
        const why = document.createElement("span");
        why.className = "m-queue-why";
        why.textContent = fill(text.queueLastError, { message: entry.lastError });
        line.append(" ", why);
      }
      return line;
    }),
  );
});

// ---- position sharing -----------------------------------------------------------------------------

const shareButton = document.getElementById("m-share");
const shareStatus = document.getElementById("m-share-status");
let lastMe = null;

const sharing = createSharing({
  geolocation: "geolocation" in navigator ? navigator.geolocation : null,
  storage: localStore(),
  storageKey: config.geo.storageKey,
  memberId: config.member,
  send: (items) => api.post(config.api.positions, { positions: items }),
  clockOffset: () => clockOffset,
  keep: { seconds: config.geo.keepSeconds, metres: config.geo.keepMetres },
  sendSeconds: config.geo.sendSeconds,
  allowed: config.geo.allowed,
  onChange: renderSharing,
});

function renderSharing() {
  const s = sharing.state();
  shareButton.textContent = s.wanted ? text.shareOn : text.shareOff;
  shareButton.setAttribute("aria-pressed", s.wanted ? "true" : "false");
  shareButton.dataset.state = s.status;
  shareButton.disabled = s.status === "notAllowed" || s.status === "unavailable";
  let message = text.share[s.status] || "";
  if (s.status === "on") message = fill(message, { time: formatTime(s.lastSentAt + clockOffset, config.timeZone) });
  if (s.status === "refused") message = fill(message, { message: s.refused });
  shareStatus.textContent = message;
  shareStatus.dataset.state = s.status;
  const me = s.lastFix;
  if (me !== lastMe) {
    lastMe = me;
    orderMap?.setMe(me);
  }
}

shareButton.addEventListener("click", () => sharing.toggle());
renderSharing();

// ---- clocks, refresh, offline shell -------------------------------------------------------------------

setInterval(() => view.tick(serverNow(), sharing.lastFix()), 1000);
setInterval(refresh, config.refreshSeconds * 1000);
document.addEventListener("visibilitychange", () => {
  if (document.visibilityState === "visible") {
    queue.flush();
    refresh();
  } else sharing.flush();
});
window.addEventListener("online", () => {
  queue.flush();
  refresh();
});
queue.start();

if ("serviceWorker" in navigator && config.serviceWorker) {
  navigator.serviceWorker.register(config.serviceWorker.url, { scope: config.serviceWorker.scope }).catch(() => {
    // No offline start (e.g. plain HTTP on a LAN): the app works online all the same.
  });
}

// ---- the live channel: orders and alarms reach the member at once ------------------------------------

const inbox = document.getElementById("m-inbox");
const liveState = document.getElementById("m-live-state");
const liveText = document.createElement("span");
liveState.prepend(liveText);
const notifyButton = document.getElementById("m-notify");

function showMessage(message) {
  const item = document.createElement("div");
  item.className = "m-inbox-item";
  item.dataset.kind = message.kind;
  item.dataset.message = String(message.id);
  const title = document.createElement("strong");
  title.textContent = message.title;
  const line = document.createElement("p");
  line.textContent = message.body;
  const close = document.createElement("button");
  close.type = "button";
  close.className = "m-btn";
  close.textContent = text.inboxClose;
  close.addEventListener("click", () => {
    item.remove();
    inbox.hidden = !inbox.childElementCount;
  });
  item.append(title, line, close);
  inbox.prepend(item);
  inbox.hidden = false;
}

function alertMember(message) {
  if (navigator.vibrate) navigator.vibrate([300, 150, 300]);
  if (document.visibilityState !== "visible" && "Notification" in window && Notification.permission === "granted") {
    new Notification(message.title, { body: message.body, tag: `gridlink-${message.id}` });
  }
}

// A message is "read" only once it was on a visible screen: a phone in a pocket with the page
// open must not tell the command room "seen", nor spare the member the SMS (the notifier skips
// messages read in the app). Reads wait while the page is hidden or the socket is down.
const unread = new Set();
function flushReads() {
  if (document.visibilityState !== "visible") return;
  for (const id of unread) {
    if (live.read(id)) unread.delete(id);
  }
}
document.addEventListener("visibilitychange", flushReads);

const live = connectLive({
  path: config.socket,
  location: window.location,
  WebSocketImpl: window.WebSocket,
  onState: (state) => {
    liveText.textContent = text.live[state] || "";
    liveState.dataset.state = state;
    if (state === "live") {
      refresh(); // whatever changed while disconnected
      flushReads();
    }
  },
  onMessage: (message, { fresh }) => {
    if (message.read_at && !fresh) return; // read before: the list shows its effect
    showMessage(message);
    if (fresh) alertMember(message);
    unread.add(message.id);
    flushReads();
    body.dataset.messages = String(Number(body.dataset.messages || 0) + 1);
    refresh();
  },
});

if ("Notification" in window && Notification.permission === "default") {
  notifyButton.textContent = text.notifyEnable;
  notifyButton.hidden = false;
  notifyButton.addEventListener("click", () => {
    Notification.requestPermission().finally(() => {
      notifyButton.hidden = true;
    });
  });
}


refresh();
