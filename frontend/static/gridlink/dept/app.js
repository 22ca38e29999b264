// The department queue (/dept/), entry module: reads the page's configuration (#dept-config,
// json_script), loads the unit's queue every `refreshSeconds` (and after every action), loads the
// selected part's case and the moves allowed now, and sends the moves to the case's transitions
// endpoint with the unit (a fresh Idempotency-Key each: ../m/api.js). The server's refusal is
// shown in the part's panel, never in an alert.
//
// The unit's live channel (ws/dept/, ../m/live.js: reconnects with jittered backoff for as long as
// the page is open) reloads the queue on each message and whenever it is live again; new work for
// the unit (news.js) is told with a banner, a short tone where the browser allows one, and a system
// notification while the page is in the background.
//
// Test hooks: body[data-dept-ready="1"] after the first answer is drawn; body[data-refreshed] =
// how many answers were drawn; body[data-live-messages] = how many live messages arrived.

import { createApi, urlFor } from "../m/api.js";
import { el } from "../m/dom.js";
import { fill, formatTime } from "../m/format.js";
import { connectLive } from "../m/live.js";
import { createStore } from "../m/store.js";
import { createDetailView } from "./detail.js";
import { actionBody } from "./format.js";
import { createListsView } from "./lists.js";
import { isAlert, newsLine } from "./news.js";

/** @typedef {import("../../../types/api.js").components["schemas"]} Schemas */
/** @typedef {Schemas["DeptQueue"]} DeptQueue */
/** @typedef {Schemas["DeptPartDetail"]} DeptPartDetail */

/**
 * The page's state (one store: the refresh and the socket write it, the views render it).
 * @typedef {object} DeptState
 * @property {DeptQueue | null} queue the last answer of GET api/v1/dept/queue/
 * @property {number | null} loadedAt when it came (browser ms)
 * @property {number | null} selected the part shown in the detail
 * @property {DeptPartDetail | null} detail
 * @property {{kind: string, text: string} | null} notice
 * @property {string | null} form the action whose form is open
 * @property {string | null} busy the action being sent
 */

const config = JSON.parse(/** @type {HTMLElement} */ (document.getElementById("dept-config")).textContent);
const text = config.text;
const body = document.body;
const api = createApi({ csrf: config.csrf, fallback: text.failed, cookies: () => document.cookie });
const store = createStore(/** @type {DeptState} */ ({ queue: null, loadedAt: null, selected: null, detail: null, notice: null, form: null, busy: null }));

let clockOffset = 0; // server time − browser time (ms), from the last answer
const serverNow = () => Date.now() + clockOffset;

/** The page's element with this id: its template renders every one this module asks for. @param {string} id */
const byId = (id) => /** @type {HTMLElement} */ (document.getElementById(id));
const lists = createListsView({
  lists: { waiting: byId("dept-waiting"), working: byId("dept-working"), done: byId("dept-done") },
  counts: { waiting: byId("dept-waiting-count"), working: byId("dept-working-count"), done: byId("dept-done-count") },
  config,
  text,
  onSelect: select,
});
const detail = createDetailView({
  element: byId("dept-detail"),
  config,
  text,
  onAction: act,
  onForm: (action) => store.set({ form: action, notice: null }),
});
const statusLine = byId("dept-status");

store.subscribe((state) => {
  const now = serverNow();
  lists.render(state, now);
  detail.render(state, now);
});

// ---- loading ------------------------------------------------------------------------------------------

let queueSeq = 0;
let detailSeq = 0;
let drawn = 0;

function inQueue(queue, id) {
  return ["waiting", "working", "done"].some((list) => queue[list].some((p) => p.id === id));
}

async function refresh() {
  const seq = ++queueSeq;
  const result = await api.get(config.api.queue);
  if (seq !== queueSeq) return; // a later refresh was started meanwhile: its answer wins
  if (!result.ok) {
    const signedOut = result.status === 401 || (result.status === 403 && store.get().loadedAt);
    statusLine.textContent = signedOut ? text.signedOut : result.message || text.loadError;
    statusLine.dataset.kind = "error";
    return;
  }
  const queue = /** @type {DeptQueue} */ (result.data);
  clockOffset = Date.parse(queue.now) - Date.now();
  const { selected } = store.get();
  const keep = selected !== null && inQueue(queue, selected);
  store.set({ queue, loadedAt: Date.now(), ...(keep ? {} : { selected: null, detail: null, form: null }) });
  statusLine.textContent = fill(text.updated, { time: formatTime(serverNow(), config.timeZone) });
  statusLine.dataset.kind = "ok";
  if (keep) await loadDetail(selected);
  drawn += 1;
  body.dataset.refreshed = String(drawn);
  body.dataset.deptReady = "1";
}

async function loadDetail(id) {
  const seq = ++detailSeq;
  const result = await api.get(urlFor(config.api.part, id));
  if (seq !== detailSeq || store.get().selected !== id) return;
  if (result.ok) {
    store.set({ detail: /** @type {DeptPartDetail} */ (result.data) });
  } else {
    store.set({ detail: null, notice: { kind: "error", text: result.status === 404 ? text.gone : result.message } });
  }
}

function select(id) {
  if (store.get().busy !== null || store.get().selected === id) return;
  store.set({ selected: id, detail: null, notice: null, form: null });
  loadDetail(id);
}

// ---- actions ------------------------------------------------------------------------------------------

async function act(current, action, value) {
  if (store.get().busy !== null) return;
  const requires = current.actions.find((a) => a.action === action)?.requires || [];
  if (requires.includes("text") && !String(value ?? "").trim()) {
    store.set({ notice: { kind: "error", text: text.needText } });
    return;
  }
  store.set({ busy: action, notice: { kind: "info", text: text.sending } });
  const result = await api.post(urlFor(config.api.transitions, current.case.id),
    actionBody(action, config.unit.id, value));
  store.set({
    busy: null,
    form: result.ok ? null : store.get().form,
    notice: result.ok ? { kind: "ok", text: text.done[action] } : { kind: "error", text: result.message },
  });
  await refresh();
}

// ---- the unit's live channel ------------------------------------------------------------------------

const inbox = byId("dept-inbox");
const liveState = byId("dept-live");
const liveText = document.createElement("span");
liveState.prepend(liveText);
const notifyButton = /** @type {HTMLButtonElement} */ (byId("dept-notify"));

// A short tone where the browser allows one: an AudioContext may start only after a user gesture.
let audio = null;
function unlockAudio() {
  if (audio === null && "AudioContext" in window) audio = new AudioContext();
  audio?.resume().catch(() => {});
}
document.addEventListener("pointerdown", unlockAudio, { once: true });
document.addEventListener("keydown", unlockAudio, { once: true });

function tone() {
  if (audio === null || audio.state !== "running") return;
  const oscillator = audio.createOscillator();
  const gain = audio.createGain();
  oscillator.frequency.value = 880;
  gain.gain.value = 0.2;
  oscillator.connect(gain).connect(audio.destination);
  oscillator.start();
  oscillator.stop(audio.currentTime + 0.3);
}

function showNews(message, line) {
  const item = el("div", { className: "dept-news", dataset: { kind: message.kind, testid: "news" } },
    [el("strong", { text: line })]);
  const dismiss = () => {
    item.remove();
    inbox.hidden = !inbox.childElementCount;
  };
  if (message.handover !== null && message.handover !== undefined) {
    const show = el("button", { className: "dept-btn", type: "button", text: text.newsShow });
    show.addEventListener("click", () => {
      dismiss();
      select(message.handover);
    });
    item.append(show);
  }
  const close = el("button", { className: "dept-btn", type: "button", text: text.newsClose });
  close.addEventListener("click", dismiss);
  item.append(close);
  inbox.prepend(item);
  inbox.hidden = false;
}

function alertStaff(message, line) {
  tone();
  if (document.visibilityState !== "visible" && "Notification" in window && Notification.permission === "granted") {
    new Notification(line, { body: config.unit.name, tag: `gridlink-dept-${message.id}` });
  }
}

connectLive({
  path: config.live.path,
  location: window.location,
  WebSocketImpl: window.WebSocket,
  onState: (state) => {
    liveText.textContent = text.live[state] || "";
    liveState.dataset.state = state;
    if (state === "live") refresh(); // whatever changed while the socket was down
  },
  onMessage: (message, { fresh }) => {
    body.dataset.liveMessages = String(Number(body.dataset.liveMessages || 0) + 1);
    if (isAlert(message)) {
      const line = newsLine(message, text.news);
      showNews(message, line);
      if (fresh) alertStaff(message, line);
    }
    refresh();
  },
});

if ("Notification" in window && Notification.permission === "default") {
  notifyButton.textContent = text.notifyEnable;
  notifyButton.hidden = false;
  notifyButton.addEventListener("click", () => {
    unlockAudio();
    Notification.requestPermission().finally(() => {
      notifyButton.hidden = true;
    });
  });
}

// ---- the clock ----------------------------------------------------------------------------------------

setInterval(() => {
  const now = serverNow();
  lists.tick(now);
  detail.tick(now);
}, 1000);
setInterval(refresh, config.refreshSeconds * 1000);
refresh();
