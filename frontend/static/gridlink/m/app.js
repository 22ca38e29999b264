// The responders' app (/m/), entry module: reads the page's configuration (#m-config, json_script),
// loads the member's own work every `refreshSeconds` and after every action, sends the actions to
// the existing endpoints, shares the phone's position, and registers the service worker that keeps
// the app shell for an offline start.
//
// `refresh()` is exported for the member's live socket (ws/member/, another module to come): a
// message about an order calls it, and the list is redrawn from the server's answer.
//
// Test hooks: body[data-m-ready="1"] after the first answer is drawn; body[data-refreshed] = how
// many answers were drawn; #m-share[data-state] = the sharing state.

import { createApi, urlFor } from "./api.js";
import { fill, formatTime } from "./format.js";
import { createSharing, currentFix } from "./geo.js";
import { connectLive } from "./live.js";
import { createOrderMap } from "./map.js";
import { createStore } from "./store.js";
import { createWorkView } from "./work.js";

const config = JSON.parse(document.getElementById("m-config").textContent);
const text = config.text;
const body = document.body;
const api = createApi({ csrf: config.csrf, fallback: text.failed, cookies: () => document.cookie });
const store = createStore({ work: null, loadedAt: null, selected: null, notices: {}, form: null, busy: null });

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

async function act(item, action, fields) {
  const id = item.order.id;
  if (store.get().busy !== null) return;
  store.set({ busy: id });
  notify(id, "info", text.sending);
  let result;
  let said = "";
  if (action === "accept") {
    result = await api.post(urlFor(config.api.accept, id));
  } else if (action === "decline") {
    result = await api.post(urlFor(config.api.decline, id), { reason: fields.text });
  } else if (action === "arrive") {
    const arrival = await arrivalBody();
    said = arrival.said;
    result = await api.post(urlFor(config.api.transitions, item.incident.id), arrival.body);
  } else {
    result = await api.post(urlFor(config.api.transitions, item.incident.id), { action, text: fields.text });
  }
  const notices = { ...store.get().notices };
  notices[id] = result.ok
    ? { kind: said ? "warn" : "ok", text: [text.done[action], said].filter(Boolean).join(" ") }
    : { kind: "error", text: result.message };
  store.set({ busy: null, notices, form: result.ok ? null : store.get().form });
  await refresh();
}

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
  if (document.visibilityState === "visible") refresh();
  else sharing.flush();
});
window.addEventListener("online", () => refresh());

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

const live = connectLive({
  path: config.socket,
  location: window.location,
  WebSocketImpl: window.WebSocket,
  onState: (state) => {
    liveText.textContent = text.live[state] || "";
    liveState.dataset.state = state;
    if (state === "live") refresh(); // whatever changed while disconnected
  },
  onMessage: (message, { fresh }) => {
    if (message.read_at && !fresh) return; // read before: the list shows its effect
    showMessage(message);
    if (fresh) alertMember(message);
    live.read(message.id);
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
