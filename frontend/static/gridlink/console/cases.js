// The console's pure logic (no DOM, no Leaflet): the case fields the queues show whatever the
// exact shape of the API's rows, the bodies the forms post, the suggested categories, the order in
// which offices were ticked (the first one leads). node --test runs these (frontend/tests/console*).
//
// Points: Leaflet gives {lat, lng}; the API takes GeoJSON (lon, lat), swapped here, at the edge,
// with 7 decimals (about a centimetre). Each pin names its datum (see map.js); so does its body.

import { lonLatOf, rows } from "../core/http.js";

/** @typedef {import("./types.js").CaseView} CaseView @typedef {import("./types.js").Category} Category */
/** @typedef {import("./types.js").QueueRow} QueueRow @typedef {import("./types.js").Duplicate} Duplicate */
/** @typedef {import("./types.js").CaseRow} CaseRow @typedef {import("./types.js").IntakeResponse} IntakeResponse */
/** @typedef {import("./types.js").Callback} Callback @typedef {import("./types.js").Suggestion} Suggestion */
/** @typedef {import("./types.js").LatLngLike} LatLngLike @typedef {import("./types.js").Pin} Pin */

/** A value's display name: the value itself, or an object's name / label / code; "" for none. @param {any} value @returns {string} */
export function nameOf(value) {
  if (value === null || value === undefined) return "";
  if (typeof value === "object") return value.name || value.label || value.code || "";
  return String(value);
}

/** A value's code: the value itself, or an object's code / id; "" for none. @param {any} value @returns {string} */
export function codeOf(value) {
  if (value === null || value === undefined) return "";
  if (typeof value === "object") return value.code || value.id || "";
  return String(value);
}

/** The page's category list by code. @param {Category[]} categories @returns {Record<string, Category>} */
export function indexByCode(categories) {
  return Object.fromEntries((categories || []).map((c) => [c.code, c]));
}

/**
 * The case fields the queue shows, whatever the exact shape of the API's row. `categories` is
 * the picker's list by code (its names are in the user's language; the API's are the Chinese
 * ones), `statuses` the server's {code: label}.
 * @param {CaseRow} row
 * @param {{categories?: Record<string, Category>, statuses?: Record<string, string>}} [options]
 * @returns {CaseView}
 */
export function caseView(row, { categories = {}, statuses = {} } = {}) {
  const categoryCode = codeOf(row.category);
  const category = categories[categoryCode];
  let police = row.is_police !== undefined ? row.is_police : row.category && row.category.is_police;
  if (police === undefined && category) police = category.police;
  const status = codeOf(row.status);
  return {
    id: row.id,
    number: row.number || `#${row.id}`,
    status,
    statusLabel: row.status_display || (row.status && row.status.label) || statuses[status] || status,
    category: (category && category.name) || row.category_name || (row.category && row.category.name) || categoryCode,
    police: Boolean(police),
    major: Boolean(row.major),
    grid: row.grid_name || nameOf(row.grid),
    community: row.community_name || nameOf(row.community),
    address: row.address || row.address_text || "",
    description: row.description || "",
    reportedAt: row.reported_at || row.created_at,
    outside: Boolean(row.outside_jurisdiction || row.outside),
    lonLat: row.lonLat || lonLatOf(row.location),
  };
}

/** Sort order of case views: newest report first (a case without a time last). @param {CaseView} a @param {CaseView} b */
export function byNewest(a, b) {
  return new Date(b.reportedAt || 0).getTime() - new Date(a.reportedAt || 0).getTime();
}

/** A GeoJSON Point (lon, lat; 7 decimals) of a Leaflet {lat, lng}. @param {LatLngLike} latlng */
export function pointBody(latlng) {
  return { type: "Point", coordinates: [Number(latlng.lng.toFixed(7)), Number(latlng.lat.toFixed(7))] };
}

/** The query of a point (locate, duplicates): lon, lat with 7 decimals and the pin's datum. @param {LatLngLike} latlng @param {string} datum */
export function pointParams(latlng, datum) {
  return { lon: latlng.lng.toFixed(7), lat: latlng.lat.toFixed(7), datum };
}

/** "lon, lat" with 5 decimals (about a metre), as the "where" box shows a pin. @param {LatLngLike} latlng */
export function coordsLabel(latlng) {
  return `${latlng.lng.toFixed(5)}, ${latlng.lat.toFixed(5)}`;
}

const trimmed = (/** @type {unknown} */ value) => String(value ?? "").trim();

/**
 * The body of a hotline call. `values` are the form's fields by name (strings; `major` a
 * boolean); `pin` is {latlng, datum} or null; `linkTo` the id of the case this call is a report
 * of, or null. An unchosen hotline or category is left out: the server names what is missing.
 * @param {Record<string, any>} values
 * @param {Pin | null} pin
 * @param {number | null} linkTo
 */
export function callBody(values, pin, linkTo) {
  /** @type {Record<string, any>} */
  const body = { description: trimmed(values.description), major: Boolean(values.major) };
  for (const name of ["channel", "category"]) {
    if (values[name]) body[name] = values[name];
  }
  for (const name of ["caller_phone", "caller_name", "address"]) {
    const value = trimmed(values[name]);
    if (value) body[name] = value;
  }
  if (pin) {
    body.location = pointBody(pin.latlng);
    body.datum = pin.datum;
  }
  if (linkTo) body.link_to = linkTo;
  return body;
}

/**
 * The body of a joint-consultation assignment form: `values` the form's fields by name, `channel`
 * the joint channel's code, `offices` the unit ids in the order ticked (the first leads), `pin`
 * {latlng, datum} or null.
 * @param {Record<string, any>} values
 * @param {{channel: string | null, offices: number[], pin: Pin | null}} options
 */
export function assignBody(values, { channel, offices, pin }) {
  /** @type {Record<string, any>} */
  const body = { channel, description: trimmed(values.description), offices: offices.slice() };
  if (values.category) body.category = values.category;
  if (values.deadline) body.deadline = values.deadline;
  if (trimmed(values.address)) body.address = trimmed(values.address);
  if (pin) {
    body.location = pointBody(pin.latlng);
    body.datum = pin.datum;
  }
  return body;
}

/**
 * The case an intake answered with: {incident: …} or the incident itself, a Feature flattened
 * (the API's answer today: the incident itself, IntakeResponse).
 * @param {any} data
 * @returns {IntakeResponse}
 */
export function resultCase(data) {
  let incident = (data && (data.incident || data)) || {};
  if (incident.type === "Feature") incident = rows([incident])[0];
  return incident;
}

/**
 * The categories the API suggests for a description, as [{code, score}] of known categories.
 * @param {any} data
 * @param {Record<string, Category>} categories
 * @returns {{code: string, score: number}[]}
 */
export function suggestionRows(data, categories) {
  const list = Array.isArray(data) ? data : (data && (data.suggestions || data.results || data.categories)) || [];
  return list
    .map((/** @type {Suggestion & {category?: unknown}} */ item) => {
      const code = item.code || codeOf(item.category);
      return code && categories[code] ? { code, score: item.score } : null;
    })
    .filter(Boolean);
}

/**
 * The offices ticked, in order: `id` moved to the end when ticked, removed when unticked.
 * @param {number[]} order
 * @param {number} id
 * @param {boolean} checked
 */
export function tickOffice(order, id, checked) {
  const next = order.filter((other) => other !== id);
  if (checked) next.push(id);
  return next;
}

/**
 * The body recording a call-back: reached ("done", with the satisfaction) or "unreachable"; the
 * case is reopened only when asked.
 * @param {{state: string, satisfaction: string, note: string, reopen: boolean}} values
 */
export function callbackBody({ state, satisfaction, note, reopen }) {
  /** @type {{state: string, note: string, reopen: boolean, satisfaction?: string}} */
  const body = { state, note: trimmed(note), reopen: Boolean(reopen) };
  if (state === "done") body.satisfaction = satisfaction;
  return body;
}

/**
 * The case of a call-back row: {id, number}, whichever shape the row names it in (the API's today:
 * Callback, `incident` its id and `number` its number; the other names are older shapes').
 * @param {Record<string, any> & {incident?: Callback["incident"] | any, number?: Callback["number"]}} row
 * @returns {{id: number, number: string}}
 */
export function callbackCase(row) {
  const id = typeof row.incident === "object" && row.incident ? row.incident.id : row.incident || row.incident_id;
  const number = row.incident_number || row.number || (row.incident && row.incident.number) || "";
  return { id, number: number || `#${id}` };
}

/**
 * The case just taken stays highlighted in the queue for `ms` (20 s): highlight(id) marks it,
 * isFresh(id) says whether it still is.
 * @param {number} [ms]
 * @param {() => number} [now]
 */
export function createHighlight(ms = 20000, now = Date.now) {
  /** @type {number | null} */
  let id = null;
  let until = 0;
  return {
    /** @param {number} next */
    set(next) {
      id = next;
      until = now() + ms;
    },
    /** The id last highlighted (the map keeps its marker marked until the next one). */
    get id() {
      return id;
    },
    isFresh: (/** @type {number | null} */ other) => other === id && now() < until,
  };
}

/**
 * `fn` called once `ms` after the last of a burst of calls (typing), with that call's arguments.
 * @template {any[]} A
 * @param {(...args: A) => unknown} fn
 * @param {number} ms
 * @returns {(...args: A) => void}
 */
export function debounce(fn, ms) {
  /** @type {ReturnType<typeof setTimeout> | undefined} */
  let timer;
  return (...args) => {
    clearTimeout(timer);
    timer = setTimeout(() => fn(...args), ms);
  };
}
