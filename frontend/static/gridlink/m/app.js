// The responders' app (/m/), entry module: reads the page's configuration (#m-config, json_script),
// loads the member's own work every `refreshSeconds` and after every action, sends the actions to
// the existing endpoints through the outbox (queue.js: kept on the phone while there is no signal,
// sent in order when it returns; the bar at the top lists what waits), shares the phone's
// position, and registers the service worker that keeps the app shell for an offline start.
//
// `refresh()` is exported; every message of the member's live socket (ws/member/) calls it, and is
// also dispatched on the document as the event "gridlink:member-message" (detail: the message) for
// the page's other modules. Each answer also redraws "My grids" under the header: the grids the
// member serves now, and those of a version published to take effect later ("from <time>") — a
// published version's `grid` message refreshes it like any other.
//
// A phone may be shared by a shift: the outbox (one per phone) records each action's member and
// sends only the logged-in member's, each with the header X-GridLink-Member (the server refuses an
// action under another member's session: 409 `wrong_member`); the bar shows of another member's
// only how many wait for whom. The page belongs to the member it was loaded for: when the session
// is another's (the work API names another member, answers 403, or an action comes back
// `wrong_member`), the page stops its outbox, socket and position sharing and loads again.
// Logging out warns when this member's actions (and "My team"'s acknowledgements) still wait, stops
// them and position sharing, forgets the member's sharing choice and deletes the cached page and
// API answers (session.js), keeping the app shell.
//
// Test hooks: body[data-m-ready="1"] after the first answer is drawn; body[data-refreshed] = how
// many answers were drawn; #m-grids li[data-code][data-upcoming] = the member's grids;
// #m-share[data-state] = the sharing state; #m-queue[data-count] = how
// many of this member's actions wait to be sent ([data-held]: how many of other members'); its
// items li[data-hold="stale"] with buttons [data-queue-action="release"|"discard"], and one
// li[data-hold="member"][data-member][data-count] per other member; body[data-left="1"] once the
// page stopped for another login.

import { createApi, formDataOf, newKey, urlFor } from "./api.js";
import { fill, formatDateTime, formatTime, gridLabel } from "./format.js";
import { createSharing, currentFix } from "./geo.js";
import { connectLive } from "./live.js";
import { createOrderMap } from "./map.js";
import { createQueue, heldSummary, memberHeaders, openOutbox, OUTBOX, staleAfterMs } from "./queue.js";
import { clearMemberCaches, within } from "./session.js";
import { createStore } from "./store.js";
import { telUri, teamOutbox } from "./team.js";
import { createWorkView } from "./work.js";

// The API's answers, as its OpenAPI document declares them (scripts/api-types).
/** @typedef {import("../../../types/api.js").components["schemas"]["MemberWork"]} MemberWork */
/** @typedef {import("../../../types/api.js").components["schemas"]["MemberGrid"]} MemberGrid */

/**
 * The app's state (one store: the refresh, the outbox and the socket write it, the views render it).
 * @typedef {object} MemberState
 * @property {MemberWork | null} work the last answer of GET api/v1/m/work/
 * @property {number | null} loadedAt when it came (phone ms)
 * @property {number | null} selected the order whose card is open
 * @property {Record<number, {kind: string, text: string}>} notices each order's last notice
 * @property {{orderId: number, action: string} | null} form the open form
 * @property {number | null} busy the order an action is being queued for
 * @property {import("./queue.js").Entry[]} queue this member's actions waiting in the outbox
 * @property {ReturnType<typeof heldSummary>} heldQueue other members' waiting actions, counted
 */

const config = JSON.parse(/** @type {HTMLElement} */ (document.getElementById("m-config")).textContent);
const text = config.text;
const body = document.body;
const api = createApi({ csrf: config.csrf, fallback: text.failed, cookies: () => document.cookie });
const store = createStore(/** @type {MemberState} */ ({ work: null, loadedAt: null, selected: null, notices: {}, form: null,
  busy: null, queue: [], heldQueue: [] }));
const member = config.member; // {id, name}

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
  live: /** @type {HTMLElement} */ (document.getElementById("m-live")),
  finished: /** @type {HTMLElement} */ (document.getElementById("m-finished")),
  config,
  text,
  map: mapAdapter,
  onSelect: (id) => store.set({ selected: store.get().selected === id ? null : id }),
  onForm: (id, action) => store.set({ form: action ? { orderId: id, action } : null }),
  onAction: act,
  onReveal: revealAndCall,
});

const statusLine = /** @type {HTMLElement} */ (document.getElementById("m-status"));
const dutyBadge = /** @type {HTMLElement} */ (document.getElementById("m-duty"));

// ---- "My grids" ----------------------------------------------------------------------------------------

const gridsSection = /** @type {HTMLElement} */ (document.getElementById("m-grids"));
const gridsList = /** @type {HTMLElement} */ (document.getElementById("m-grids-list"));

// Names come from the planners (and from files they import): text only, never markup.
/** @param {MemberGrid} grid */
function gridLine(grid) {
  const { label, community, from } = gridLabel(grid, text, config.timeZone);
  const line = document.createElement("li");
  line.dataset.code = grid.code;
  line.dataset.upcoming = grid.upcoming ? "1" : "0";
  const name = document.createElement("strong");
  name.textContent = label;
  line.append(name);
  for (const [value, className] of [[community, "m-grid-community"], [from, "m-grid-from"]]) {
    if (!value) continue;
    const part = document.createElement("span");
    part.className = className;
    part.textContent = value;
    line.append(" ", part);
  }
  return line;
}

/** @param {MemberGrid[] | undefined} grids */
function renderGrids(grids) {
  gridsList.replaceChildren(...(grids || []).map(gridLine));
  gridsSection.hidden = !gridsList.childElementCount;
}

store.subscribe((state) => {
  view.render(state);
  view.tick(serverNow(), sharing.lastFix());
});

// ---- loading --------------------------------------------------------------------------------------

let requestSeq = 0;
let drawn = 0;

/** Load the member's work again and redraw (also called by the member's socket, later). */
export async function refresh() {
  if (leaving) return;
  const seq = ++requestSeq;
  const result = await api.get(config.api.work);
  if (seq !== requestSeq || leaving) {
    return; // a later refresh was started meanwhile: its answer wins
  }
  if (result.status === 401 || result.status === 403) {
    leave(); // signed out, or a login that is no member's: the page is no longer this member's
    return;
  }
  if (!result.ok) {
    showLoadError(result);
    return;
  }
  const work = /** @type {MemberWork} */ (result.data);
  if (work.member.id !== member.id) {
    leave(); // another member logged in on this phone (in another tab): their page, not this one
    return;
  }
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
  renderGrids(work.member.grids);
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
  }
  statusLine.textContent = message;
  statusLine.dataset.kind = "error";
}

// ---- the session is no longer this page's member -------------------------------------------------------

const RELOADED_AT = "gridlink.m.reloadedAt"; // sessionStorage: at most one reload a minute
let leaving = false;

function reloadAllowed() {
  try {
    const storage = window.sessionStorage;
    if (Date.now() - Number(storage.getItem(RELOADED_AT) || 0) < 60_000) return false;
    storage.setItem(RELOADED_AT, String(Date.now()));
  } catch {
    // no storage: reload all the same
  }
  return true;
}

/**
 * Another member (or nobody) is logged in now, in this browser: nothing more goes from this page
 * under that session — no action (kept for its member), no position, no socket — and the page is
 * loaded again, which shows whose it is (the login page, the next member's app). A second time
 * within a minute (a page that keeps disagreeing with its API) it only says so.
 */
function leave() {
  if (leaving || loggingOut) return;
  leaving = true;
  queue.stop();
  teamOutbox.stop();
  live.stop();
  sharing.stop({ send: false });
  statusLine.textContent = text.loginChanged;
  statusLine.dataset.kind = "error";
  body.dataset.left = "1";
  if (reloadAllowed()) window.location.reload();
}
document.addEventListener("gridlink:wrong-member", leave); // "My team"'s outbox heard it first

// ---- actions ------------------------------------------------------------------------------------------

function notify(id, kind, message) {
  store.set({ notices: { ...store.get().notices, [id]: { kind, text: message } } });
}

// A caller's or a person's number: revealed by the server (which logs it on the case), then dialled.
// Online only, never queued: a number is needed now or not at all.
async function revealAndCall(item, what) {
  const result = await api.post(urlFor(config.api.reveal, item.incident.id), what);
  const phone = what.caller ? result.data?.caller?.phone : result.data?.parties?.[0]?.phone;
  const href = result.ok ? telUri(phone) : "";
  if (href) window.location.href = href;
  else notify(item.order.id, "error", result.ok ? text.failed : result.message);
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

// The outbox: every action is queued (IndexedDB, one database per phone, each entry with its member;
// the per-member databases of the first release moved into it at start) and sent from there. An
// action that waits is sent when the phone is online again, the app becomes visible, or every
// ~20 s; another member's wait for them (the bar shows only their number), a stale one for the
// member's decision.
const outboxLock = navigator.locks ? (fn) => navigator.locks.request(OUTBOX, fn) : undefined;
const queue = createQueue({
  store: openOutbox({ member, lock: navigator.locks ? (fn) => navigator.locks.request(`${OUTBOX}:moving`, fn) : undefined }),
  send: sendEntry,
  newKey,
  member,
  keyHours: config.idempotency_key_hours,
  lock: outboxLock,
  onChange: (entries) => store.set({
    queue: entries.filter((e) => e.memberId === member.id),
    heldQueue: heldSummary(entries, member.id), // whom the others wait for, and how many: never what
  }),
  onSettled: (entry, result, { awaited }) => {
    if (awaited) return; // act() shows it
    if (entry.orderId !== null) notify(entry.orderId, ...outcome(entry.action, entry.said, result));
    refreshSoon();
  },
  onWrongMember: () => leave(),
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
  // A person registered: the server's answer names them, with the ID number masked.
  const done = fill(text.done[action], { name: result.data?.name, id_number: result.data?.id_number_masked });
  return [said ? "warn" : "ok", [done.trim(), said].filter(Boolean).join(" ")];
}

// The line of the bar of what waits: never the person's phone or ID number.
function actionLabel(item, action, fields) {
  const words = [text.buttons[action] || action, fill(text.case, { number: item.incident.number })];
  if (fields.person) words.push(fields.person.name);
  if (fields.unitName) words.push(fields.unitName);
  if (fields.text) words.push(fields.text.length > 24 ? fields.text.slice(0, 24) + "…" : fields.text);
  if (fields.photos?.length) words.push(fill(text.queuePhotos, { n: fields.photos.length }));
  return words.join(" · ");
}

/** Send an outbox entry: multipart with its photos, else JSON; with its key and its member either way. */
function sendEntry(entry) {
  const options = { key: entry.key, headers: memberHeaders(entry) };
  if (entry.files?.length) return api.postForm(entry.url, formDataOf(entry.body, entry.files), options);
  return api.post(entry.url, entry.body, options);
}

async function act(item, action, fields) {
  const id = item.order.id;
  if (store.get().busy !== null) return;
  store.set({ busy: id });
  notify(id, "info", text.sending);
  const transitions = urlFor(config.api.transitions, item.incident.id);
  let url;
  let payload;
  let files = [];
  let said = "";
  if (action === "accept") {
    [url, payload] = [urlFor(config.api.accept, id), {}];
  } else if (action === "decline") {
    [url, payload] = [urlFor(config.api.decline, id), { reason: fields.text }];
  } else if (action === "arrive") {
    const arrival = await arrivalBody(); // the position when the member taps, not when it is sent
    said = arrival.said;
    [url, payload] = [transitions, arrival.body];
  } else if (action === "register_party") {
    [url, payload] = [urlFor(config.api.parties, item.incident.id), fields.person];
  } else if (action === "request_transfer") {
    [url, payload] = [transitions, { action, unit: fields.unit, text: fields.text }];
  } else {
    [url, payload] = [transitions, { action, text: fields.text }];
    if (action === "report_on_site") files = fields.photos || [];
  }
  const entry = { url, body: payload, files, label: actionLabel(item, action, fields), orderId: id, action, said };
  let sent;
  try {
    sent = await queue.add(entry);
  } catch {
    sent = { queued: false, result: await sendEntry({ ...entry, key: newKey(), memberId: member.id }) }; // no storage at all
  }
  const notices = { ...store.get().notices };
  if (sent.queued) {
    // Online, an entry waits only behind an old one the member must decide on first (the bar above).
    const stale = store.get().queue.some((e) => queue.hold(e) === "stale");
    notices[id] = { kind: "queued", text: [stale ? text.queuedBehindStale : text.queued, said].filter(Boolean).join(" ") };
    store.set({ busy: null, notices, form: null });
    return;
  }
  const [kind, message] = outcome(action, said, sent.result);
  notices[id] = { kind, text: message };
  store.set({ busy: null, notices, form: sent.result.ok ? null : store.get().form });
  await refresh();
}

// ---- the bar of what waits to be sent --------------------------------------------------------------

const queueBar = /** @type {HTMLElement} */ (document.getElementById("m-queue"));
const queueCount = /** @type {HTMLElement} */ (document.getElementById("m-queue-count"));
const queueList = /** @type {HTMLElement} */ (document.getElementById("m-queue-list"));
let queueShown = null;

function queueButton(label, kind, entry, className) {
  const button = document.createElement("button");
  button.type = "button";
  button.className = `m-btn ${className}`;
  button.textContent = label;
  button.dataset.queueAction = kind;
  button.dataset.entry = String(entry.id);
  return button;
}

// One of this member's own entries: what it is, and why it waits.
function queueLine(entry) {
  const line = document.createElement("li");
  line.textContent = entry.label;
  line.dataset.key = entry.key;
  const hold = queue.hold(entry);
  const note = document.createElement("span");
  note.className = "m-queue-why";
  if (hold === "stale") {
    line.dataset.hold = "stale";
    note.textContent = fill(text.queueStale, {
      time: formatDateTime(entry.queuedAt, config.timeZone),
      days: Math.floor(staleAfterMs(config.idempotency_key_hours) / 86_400_000),
    });
  } else if (entry.lastStatus) {
    note.textContent = fill(text.queueLastError, { message: entry.lastError });
  }
  if (note.textContent) line.append(" ", note);
  if (hold === "stale") {
    const buttons = document.createElement("div");
    buttons.className = "m-actions";
    buttons.append(queueButton(text.sendAnyway, "release", entry, "m-btn-main"),
      queueButton(text.discard, "discard", entry, "m-btn-stop"));
    line.append(buttons);
  }
  return line;
}

// Another member's entries: how many wait for whom, never their labels (case numbers, names, texts).
function heldLine(group) {
  const line = document.createElement("li");
  line.className = "m-queue-why";
  line.dataset.hold = "member";
  line.dataset.member = String(group.memberId ?? "");
  line.dataset.count = String(group.count);
  line.textContent = group.name
    ? fill(text.queueHeldMember, { n: group.count, name: group.name })
    : fill(text.queueHeldUnknown, { n: group.count });
  return line;
}

store.subscribe((state) => {
  if (state.queue === queueShown) return;
  queueShown = state.queue;
  const [mine, held] = [state.queue, state.heldQueue];
  const heldCount = held.reduce((sum, group) => sum + group.count, 0);
  queueBar.hidden = mine.length + heldCount === 0;
  queueBar.dataset.count = String(mine.length);
  queueBar.dataset.held = String(heldCount);
  queueCount.textContent = fill(text.queueCount, { n: mine.length });
  queueList.replaceChildren(...mine.map(queueLine), ...held.map(heldLine));
});

// "Send anyway" / "discard" of a stale entry: the member decides, once per tap.
queueList.addEventListener("click", async (event) => {
  const button = /** @type {HTMLButtonElement | null} */ (/** @type {Element} */ (event.target).closest("button[data-queue-action]"));
  if (!button || button.disabled) return;
  button.disabled = true;
  const id = Number(button.dataset.entry);
  if (button.dataset.queueAction === "release") await queue.release(id);
  else await queue.discard(id);
});

// ---- position sharing -----------------------------------------------------------------------------

const shareButton = /** @type {HTMLButtonElement} */ (document.getElementById("m-share"));
const shareStatus = /** @type {HTMLElement} */ (document.getElementById("m-share-status"));
let lastMe = null;

const sharing = createSharing({
  geolocation: "geolocation" in navigator ? navigator.geolocation : null,
  storage: localStore(),
  storageKey: config.geo.storageKey,
  memberId: member.id,
  send: (items) => sendPositions(items),
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

const inbox = /** @type {HTMLElement} */ (document.getElementById("m-inbox"));
const liveState = /** @type {HTMLElement} */ (document.getElementById("m-live-state"));
const liveText = document.createElement("span");
liveState.prepend(liveText);
const notifyButton = /** @type {HTMLButtonElement} */ (document.getElementById("m-notify"));

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
  maxFrameBytes: config.socketMaxFrameBytes,
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
    // Every message, also to the page's other modules (they refresh what they show).
    document.dispatchEvent(new CustomEvent("gridlink:member-message", { detail: message }));
    if (message.read_at && !fresh) return; // read before: the list shows its effect
    showMessage(message);
    if (fresh) alertMember(message);
    unread.add(message.id);
    flushReads();
    body.dataset.messages = String(Number(body.dataset.messages || 0) + 1);
    refresh();
  },
});

// Positions go over the member's socket while it is live (no HTTP request, session and middleware
// per batch, every few seconds from every phone), else — or when it did not answer — over HTTP.
async function sendPositions(items) {
  return (await live.positions(items)) ?? api.post(config.api.positions, { positions: items });
}

if ("Notification" in window && Notification.permission === "default") {
  notifyButton.textContent = text.notifyEnable;
  notifyButton.hidden = false;
  notifyButton.addEventListener("click", () => {
    Notification.requestPermission().finally(() => {
      notifyButton.hidden = true;
    });
  });
}

// ---- logging out of a phone the shift shares ------------------------------------------------------------

const logoutForm = /** @type {HTMLFormElement} */ (document.getElementById("m-logout"));
const logoutConfirm = /** @type {HTMLElement} */ (document.getElementById("m-logout-confirm"));
const logoutText = /** @type {HTMLElement} */ (document.getElementById("m-logout-text"));
let loggingOut = false;

// Whatever fails on the way (storage, caches, the network), the member is logged out: the form is
// submitted in the end.
async function logOut() {
  loggingOut = true;
  logoutConfirm.hidden = true;
  statusLine.textContent = text.loggingOut;
  statusLine.dataset.kind = "ok";
  try {
    queue.stop();
    teamOutbox.stop(); // "My team": no more polling, no more acknowledgements from this page
    live.stop();
    await within(sharing.stop(), 3000); // the fixes kept so far go first, if the network answers
    try {
      localStore()?.removeItem(config.geo.storageKey); // the next member starts with the default
    } catch {
      // storage disabled: nothing was kept
    }
    await within(clearMemberCaches(window.caches, {
      scope: config.serviceWorker?.scope || window.location.pathname, origin: window.location.origin,
    }).catch(() => []), 3000);
  } catch {
    // logged out all the same
  } finally {
    logoutForm.submit(); // a programmatic submit: no submit event again
  }
}

/** How many of this member's actions still wait on the phone: the app's and "My team"'s. */
async function waitingOfMember() {
  await within(Promise.all([queue.flush(), teamOutbox.flush()]), 3000); // what can still go, goes under this login
  const own = (await queue.entries()).filter((e) => e.memberId === member.id).length;
  return own + (await teamOutbox.waiting());
}

logoutForm.addEventListener("submit", async (event) => {
  event.preventDefault();
  if (loggingOut) return;
  let waiting = 0;
  try {
    waiting = await waitingOfMember();
  } catch {
    // The outbox cannot be read (IndexedDB failed): nothing to count, the member is logged out.
  }
  if (waiting) {
    logoutText.textContent = fill(text.logoutWaiting, { n: waiting });
    logoutConfirm.hidden = false;
    /** @type {HTMLElement} */ (document.getElementById("m-logout-cancel")).focus();
    return;
  }
  logOut();
});
/** @type {HTMLElement} */ (document.getElementById("m-logout-anyway")).addEventListener("click", () => logOut());
/** @type {HTMLElement} */ (document.getElementById("m-logout-cancel")).addEventListener("click", () => {
  logoutConfirm.hidden = true;
});

refresh();
