// The wall map of the command room: every incident and responder of the sub-district, live.
// The entry module: reads the page's configuration (#wall-config; #gridlink-shared through
// core/shared.js), makes the store (store.js) and the views, and feeds the store from the
// snapshot and the socket.
//
// The pipeline. GET /api/v1/wall/<code>/state/ (the snapshot) fills the store; the websocket
// ws/wall/<code>/ (socket.js) then brings events of the incident timeline and batches of positions.
// An event frame carries its incident's board row as the snapshot has it ("incident": {...}, null
// once it left the board): the store applies it (status, orders, deadline, who is busy, the
// ticker) and counts the grid loads and today's counts again, with no request — N walls × events
// requests for data the server already had are none. Only the card of the incident the operator has
// open is fetched again (its timeline and photos are not in the row). The socket resumes after the
// newest event applied (?last_event=N, a little before it: duplicates are dropped by id), so that
// after a server restart the page catches up by itself; on `resync` (a reconnect that could not
// resume) the snapshot is reloaded. Frames that come while the snapshot loads wait for it.
//
// The snapshot is loaded only at start, on `resync` and after a replay, and once a day: a minute
// after midnight, because the shifts it gave reach only to the end of tomorrow (DAY_RELOAD_AFTER_MS).
// What changes with no event the store works out as time passes (store.tick(), once a second):
// responders coming on and off duty by the shifts the snapshot gave them, snoozed alarms falling
// due, the day turning (the cases closed leave the board, today's counts start again: the store's
// own work, not the reload's); staff's changes to a roster or a responder come as a `members` frame.
//
// Replay (replay.js) plays a past day on its own layers; leaving it reloads the live snapshot.
//
// Test hooks: body[data-wall-ready="1"] once the first snapshot is drawn; body[data-socket] =
// connecting | live | reconnecting; body[data-last-event] = newest event id applied; incident
// markers are `.wall-incident[data-incident=<id>]`; routes are SVG paths
// `path.wall-route[data-order=<id>][data-incident=<id>]`; body[data-last-moved] = the member whose
// position came last; body[data-members-busy] = how many are drawn busy; body[data-replay] = the
// day replayed, body[data-replay-incidents] = its markers shown.

import { format } from "../gridlink/core/dom.js";
import * as http from "../gridlink/core/http.js";
import { pageConfig, shared } from "../gridlink/core/shared.js";
import { createAlarms } from "./alarms.js";
import { createCard } from "./card.js";
import { renderCounts } from "./charts.js";
import { createHeader } from "./header.js";
import { drawLegend } from "./legend.js";
import { categoriesByCode, latLngOf } from "./look.js";
import { createMapView } from "./map-view.js";
import { createQueue } from "./queue.js";
import { createReplay } from "./replay.js";
import { createSocket, socketUrl } from "./socket.js";
import { createWallStore } from "./store.js";
import { createTicker } from "./ticker.js";

/**
 * What the wall reads of the API and the socket (typed from the OpenAPI document: store.js).
 * @typedef {import("./store.js").WallState} WallState                 the snapshot
 * @typedef {import("./store.js").WallIncidentCard} WallIncidentCard   the card
 * @typedef {import("./store.js").Incident} Incident
 * @typedef {import("./store.js").Frame} Frame                         a socket frame
 * @typedef {{again: boolean, promise: Promise<WallIncidentCard | null> | null}} CardRequest
 */

const RETRY_SNAPSHOT_MS = 5000;
// After the day's turn, when the snapshot is read again for the next day's shifts: late enough
// that the server's day has turned too, whatever this page's estimate of the server's clock; the
// same moment for every wall, so that they share one snapshot (wall/snapshot.py).
const DAY_RELOAD_AFTER_MS = 60 * 1000;

const config = pageConfig("wall-config");
const text = config.text;
const body = document.body;
const categories = categoriesByCode(config.categories);
const store = createWallStore({
  groups: shared.statusGroups,
  timeZone: shared.timeZone,
  busy: config.busy,
  staleMinutes: config.staleMinutes,
  alarmKinds: config.alarmKinds,
});

const mapView = createMapView({ config, text, store, categories, onOpen: openCard });
const card = createCard({ config, text, store, categories });
const queue = createQueue({
  config,
  text,
  store,
  categories,
  onFocus: focusIncident,
  onFly: (latlng) => mapView.map.flyTo(latlng, Math.max(mapView.map.getZoom(), 16), { duration: 1 }),
});
const alarms = createAlarms({ config, text, store, categories, onFocus: focusIncident });
const ticker = createTicker({
  words: { eventKinds: config.eventKinds, statuses: shared.statuses, text, format },
  onFocus: focusIncident,
});
const header = createHeader({ text, store, map: mapView.map });
drawLegend({ config, text, categories });
const replay = createReplay({ config, text, store, mapView, queue, alarms, card, header, onExit: () => loadSnapshot("resync") });
const replaying = () => replay.active();

function showLastEvent() {
  body.dataset.lastEvent = String(store.state.lastEvent);
}

// ---- the views follow the store ----

store.subscribe((change) => {
  if (change.type === "event") {
    showLastEvent();
    header.showConnection();
    ticker.add(change.event);
    if (replaying()) return;
    if (change.gone) {
      queue.render();
      alarms.render(false);
    }
    if (change.row !== undefined) {
      // the store counted them again from the row
      renderCounts(store.state.counts, false);
      mapView.restyleGrids();
    }
    return;
  }
  if (change.type === "progress") {
    showLastEvent();
    return;
  }
  if (change.type === "member" && change.moved) body.dataset.lastMoved = String(change.member.id);
  if (replaying()) return; // the live layers are hidden; leaving the replay reloads the snapshot
  switch (change.type) {
    case "incident": {
      const incident = change.incident;
      mapView.drawIncident(incident);
      mapView.drawRoutes(incident);
      if (!change.quiet) {
        queue.render();
        alarms.render(false);
        if (card.id() === Number(incident.id)) card.render(incident);
      }
      break;
    }
    case "removed":
      mapView.drawIncident(change.incident);
      mapView.drawRoutes(change.incident);
      break;
    case "member":
      mapView.drawMember(change.member);
      break;
    case "member-removed":
      mapView.removeMember(change.id);
      break;
    case "alarms":
      alarms.render(false);
      break;
    case "day":
      queue.render();
      alarms.render(false);
      renderCounts(store.state.counts, false);
      mapView.restyleGrids();
      // The store turned the day itself; the snapshot is read again once, for the next day's
      // shifts (a replay by then ends with a snapshot anyway).
      window.setTimeout(() => {
        if (!replaying()) loadSnapshot("day");
      }, DAY_RELOAD_AFTER_MS);
      break;
    case "snapshot": {
      // Routes drawn as straight lines need the members' positions: draw them again.
      for (const incident of store.incidents()) mapView.drawRoutes(incident);
      mapView.restyleGrids();
      renderCounts(store.state.counts, false);
      queue.render();
      alarms.render(false);
      if (change.events) ticker.reset(change.events);
      showLastEvent();
      const open = card.id() && store.incident(/** @type {number} */ (card.id()));
      if (open) card.render(open);
      header.showConnection();
      if (change.first) body.dataset.wallReady = "1";
      break;
    }
    default:
      break;
  }
});

// ---- the card ----

/** @param {number | string} id */
function openCard(id) {
  card.open(id);
  const known = store.incident(id);
  if (known) card.render(known);
  fetchCard(id).then((incident) => {
    if (!incident && card.id() === Number(id) && !known) card.showError();
  });
}

/** @param {number | string} id */
function focusIncident(id) {
  const incident = store.incident(id);
  const latlng = incident && latLngOf(incident.point);
  openCard(id);
  if (latlng) mapView.flyTo(latlng, 1, card.covered());
}

// One card request per incident at a time; events that arrive meanwhile ask for one more.
/** @type {Map<number, CardRequest>} */
const cardRequests = new Map();

/**
 * @param {number | string} rawId
 * @returns {Promise<WallIncidentCard | null>}
 */
function fetchCard(rawId) {
  const id = Number(rawId);
  const pending = cardRequests.get(id);
  if (pending) {
    pending.again = true;
    return /** @type {Promise<WallIncidentCard | null>} */ (pending.promise); // set when it was made
  }
  /** @type {CardRequest} */
  const entry = { again: false, promise: null };
  entry.promise = http.get(http.url(config.api.incident, id)).then(
    (result) => {
      cardRequests.delete(id);
      if (entry.again) return fetchCard(id);
      if (!result.ok || !result.data) {
        if (result.status === 404) {
          store.removeIncident(id);
          queue.render();
        }
        return null;
      }
      if (replaying()) return result.data;
      const incident = /** @type {WallIncidentCard} */ (result.data);
      showIfNewMajor(incident, store.upsertIncident(incident));
      return incident;
    },
    () => {
      cardRequests.delete(id);
      return null;
    },
  );
  cardRequests.set(id, entry);
  return /** @type {Promise<WallIncidentCard | null>} */ (entry.promise);
}

/**
 * A new major incident (`previous`: as the store had it before): fly there and show its card.
 * @param {Incident} incident
 * @param {Incident | null | undefined} previous
 */
function showIfNewMajor(incident, previous) {
  if (!incident.major || (previous && previous.major) || !store.state.ready || !store.isOpen(incident)) return;
  const latlng = latLngOf(incident.point);
  if (latlng) {
    openCard(incident.id);
    mapView.flyTo(latlng, 1.5, card.covered());
  }
}

// ---- the snapshot ----

/** @type {Promise<WallState | undefined> | null} */
let snapshotLoading = null;
/** @type {string | null} */
let snapshotReason = null;
/** @type {Frame[]} */
let waiting = []; // frames that came while the snapshot was loading

/**
 * @param {string} reason  "start", "resync" or "day" (store.applySnapshot)
 * @returns {Promise<WallState | undefined>}
 */
function loadSnapshot(reason) {
  if (snapshotLoading) {
    // A resync asked for during the day's reload takes that reload over.
    if (reason !== "day") snapshotReason = reason;
    return snapshotLoading;
  }
  snapshotReason = reason;
  // Not older than the newest event this page shows: the walls share one snapshot for a second
  // (wall/snapshot.py), and a reload must not take the page back behind its own events.
  const lastEvent = store.state.lastEvent;
  snapshotLoading = http
    .get(config.api.state, lastEvent ? { after: lastEvent } : undefined)
    .then((result) => {
      snapshotLoading = null;
      if (!result.ok || !result.data) throw new Error("state: HTTP " + result.status);
      if (!replaying()) store.applySnapshot(/** @type {WallState} */ (result.data), /** @type {string} */ (snapshotReason));
      mapView.showNotice("");
      const queued = waiting;
      waiting = [];
      queued.forEach(handle);
      return result.data;
    })
    .catch((error) => {
      snapshotLoading = null;
      mapView.showNotice(text.loadError);
      console.error(error);
      const again = /** @type {string} */ (snapshotReason); // set above
      window.setTimeout(() => loadSnapshot(again), RETRY_SNAPSHOT_MS);
    });
  return snapshotLoading;
}

// ---- the socket ----

/** @param {Frame} frame */
function handle(frame) {
  if (frame.type === "event" && frame.event) {
    if (replaying()) {
      store.applyEvent(frame.event, { cursorOnly: true });
      return;
    }
    // The row the frame carries (undefined from a server that sends none: the status alone). It
    // is built once for every wall, in the site's language: the status in this page's words.
    const row = frame.incident;
    if (row && shared.statuses[row.status]) row.status_label = shared.statuses[row.status];
    const result = store.applyEvent(frame.event, { row: "incident" in frame ? frame.incident : undefined });
    if (!result) return;
    if (result.row) showIfNewMajor(result.row, result.previous);
    // The card the operator has open shows the timeline: that one view asks for it again.
    if (!result.gone && card.id() === Number(frame.event.incident)) fetchCard(frame.event.incident);
  } else if (frame.type === "positions") {
    store.applyPositions(frame.positions);
  } else if (frame.type === "members") {
    // Responders changed by staff (a replay ends with a snapshot anyway).
    if (!replaying()) store.applyMembers(frame, config.subdistrict && config.subdistrict.code);
  } else if (frame.type === "caught_up") {
    store.caughtUp(frame.last_event);
  } else if (frame.type === "resync") {
    // The snapshot is read after this frame was sent, so it holds everything up to
    // frame.last_event; events behind it in the socket are skipped by their id.
    loadSnapshot("resync");
  }
}

const codes = config.closeCodes || {};
const socket = createSocket({
  url: () => socketUrl(window.location, config.socket, store.resumeFrom()),
  /** @param {Frame} frame */
  onFrame(frame) {
    if (snapshotLoading) waiting.push(frame);
    else handle(frame);
  },
  onState: (state) => header.setConnection(state),
  // Signed out (the session expired) or the role was taken away: say so, and keep trying.
  onRefused: () => mapView.showNotice(text.signedOut),
  refusedCodes: [codes.anonymous, codes.forbidden].filter((code) => code !== undefined),
});

// ---- once a second ----

function everySecond() {
  if (replaying()) return;
  // What time changes with no event: duty, snoozes, the day (the store tells the views).
  store.tick();
  header.showClock(store.now());
  mapView.tickAll();
  queue.tick();
  // Overdue alarms appear when a deadline passes, with no event needed.
  const overdue = store.overdueIncidents();
  if (overdue.length !== alarms.shownOverdue()) {
    alarms.render(false);
    for (const incident of store.incidents()) mapView.drawRoutes(incident);
  } else {
    alarms.tick(overdue);
  }
  card.tick();
  // The connection line says how old the last event is.
  header.showConnection();
  body.dataset.membersBusy = String(store.busyCount());
}

// ---- start ----

if (!config.subdistrict) {
  mapView.showNotice(config.map.text.noData);
} else {
  window.setInterval(everySecond, 1000);
  header.setConnection("connecting");
  everySecond();
  loadSnapshot("start").then(() => socket.connect());
}
