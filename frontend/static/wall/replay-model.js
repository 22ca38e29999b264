// What a replayed day looks like at a time `t`, pure (node --test: frontend/tests/wall_replay.test.mjs):
// the status of each case, where each responder was (their track, interpolated; else along their
// order's route), which orders were under way, and the queue and counts as they stood. The
// drawing is replay.js's.
//
// The day (GET /api/v1/wall/<code>/replay/?date=…): {date, start, end, incidents: [{id, number,
// point, reported_at, statuses: [[iso, status]], category, channel, major}], orders: [{member,
// dispatched_at, arrived_at, route: [[lon, lat]]}], tracks: {member: [[iso, lon, lat]]}}.

/**
 * The day as the API answers it (typed from the OpenAPI document, frontend/types/api.d.ts) and as
 * prepareDay makes it ready.
 * @typedef {import("../../types/api.js").components["schemas"]} Schemas
 * @typedef {Schemas["Replay"]} Replay
 * @typedef {Schemas["ReplayIncident"] & {reportedMs: number, statusTimes: [number, string][]}} DayIncident
 * @typedef {Schemas["ReplayOrder"] & {start: number, arrives: number}} DayOrder
 * @typedef {[number, number, number]} Fix  [ms, lon, lat]
 * @typedef {{date: string, start: number, end: number, incidents: DayIncident[], orders: DayOrder[],
 *   tracks: Record<string, Fix[]>}} Day
 * @typedef {{id: number, number: string, status: string, status_label: string,
 *   category: Schemas["CodeName"], major: boolean, point: number[] | null, reported_at: string,
 *   summary: string}} QueueRow  a case of the replayed queue (the queue's shape)
 * @typedef {{code: string, name: string, count: number}} Count
 */

// An order without an arrival: assume 12 minutes on the way.
export const REPLAY_TRAVEL_MS = 12 * 60 * 1000;

/**
 * @param {string | null | undefined} iso
 * @returns {number}
 */
function ms(iso) {
  return iso ? new Date(iso).getTime() : NaN;
}

/**
 * The day made ready to play: times in ms, tracks sorted (positions are then found by bisection).
 * @param {Replay} data
 * @returns {Day}
 */
export function prepareDay(data) {
  /** @type {Record<string, Fix[]>} */
  const tracks = {};
  for (const member of Object.keys(data.tracks || {})) {
    // [[iso time, lon, lat]] (the schema says unknown[][])
    const fixes = /** @type {[string, number, number][]} */ (data.tracks[member] || []);
    tracks[member] = fixes.map((fix) => /** @type {Fix} */ ([ms(fix[0]), fix[1], fix[2]])).sort((a, b) => a[0] - b[0]);
  }
  const incidents = (data.incidents || []).map((incident) => ({
    ...incident,
    reportedMs: ms(incident.reported_at),
    statusTimes: (incident.statuses || []).map((s) => /** @type {[number, string]} */ ([ms(s[0]), s[1]])),
  }));
  const orders = (data.orders || []).map((order) => {
    const start = ms(order.dispatched_at);
    return { ...order, start, arrives: order.arrived_at ? ms(order.arrived_at) : start + REPLAY_TRAVEL_MS };
  });
  return { date: data.date, start: ms(data.start), end: ms(data.end), incidents, orders, tracks };
}

/**
 * The status of a prepared incident at `t` ("new" before its first change).
 * @param {{statusTimes: [number, string][]}} incident
 * @param {number} t
 * @returns {string}
 */
export function statusAt(incident, t) {
  /** @type {string | null} */
  let status = null;
  for (const [at, value] of incident.statusTimes) {
    if (at > t) break;
    status = value;
  }
  return status || "new";
}

/**
 * [lon, lat] on a sorted track [[ms, lon, lat]] at `t`, linear between fixes; null before the first.
 * @param {Fix[] | null | undefined} track
 * @param {number} t
 * @returns {number[] | null}
 */
export function trackAt(track, t) {
  if (!track || !track.length || t < track[0][0]) return null;
  let lo = 0;
  let hi = track.length - 1;
  if (t >= track[hi][0]) return [track[hi][1], track[hi][2]];
  while (hi - lo > 1) {
    const mid = (lo + hi) >> 1;
    if (track[mid][0] <= t) lo = mid;
    else hi = mid;
  }
  const a = track[lo];
  const b = track[hi];
  const f = b[0] === a[0] ? 0 : (t - a[0]) / (b[0] - a[0]);
  return [a[1] + (b[1] - a[1]) * f, a[2] + (b[2] - a[2]) * f];
}

/**
 * A point a fraction `f` along a polyline of [lon, lat] (by its length in degrees, fine at this scale).
 * @param {number[][]} route
 * @param {number} f
 * @returns {number[]}
 */
export function alongRoute(route, f) {
  if (route.length === 1 || f <= 0) return route[0];
  if (f >= 1) return route[route.length - 1];
  const lengths = [];
  let total = 0;
  for (let i = 1; i < route.length; i += 1) {
    const d = Math.hypot(route[i][0] - route[i - 1][0], route[i][1] - route[i - 1][1]);
    lengths.push(d);
    total += d;
  }
  let target = total * f;
  for (let j = 0; j < lengths.length; j += 1) {
    if (target <= lengths[j] || j === lengths.length - 1) {
      const g = lengths[j] ? target / lengths[j] : 0;
      return [route[j][0] + (route[j + 1][0] - route[j][0]) * g, route[j][1] + (route[j + 1][1] - route[j][1]) * g];
    }
    target -= lengths[j];
  }
  return route[route.length - 1];
}

/**
 * The map at `t`: {incidents: [{incident, status}] on the map (reported, with a point, not gone),
 * onTheWay: [order index], positions: {member: [lon, lat]}, busy: {member: true}}. `isGone(status)`
 * is the store's.
 * @param {Day} day
 * @param {number} t
 * @param {(status: string) => boolean} isGone
 */
export function frameAt(day, t, isGone) {
  /** @type {{incident: DayIncident, status: string}[]} */
  const incidents = [];
  for (const incident of day.incidents) {
    if (!incident.point || incident.reportedMs > t) continue;
    const status = statusAt(incident, t);
    if (!isGone(status)) incidents.push({ incident, status });
  }
  /** @type {number[]} */
  const onTheWay = [];
  /** @type {Record<string, DayOrder>} */
  const busy = {};
  day.orders.forEach((order, index) => {
    if (order.start <= t && t < order.arrives) {
      onTheWay.push(index);
      busy[order.member] = order;
    }
  });
  /** @type {Record<string, number[]>} */
  const positions = {};
  for (const member of Object.keys(day.tracks)) {
    const p = trackAt(day.tracks[member], t);
    if (p) positions[member] = p;
  }
  // Responders on an order without a track move along the order's route.
  for (const member of Object.keys(busy)) {
    const order = busy[member];
    if (positions[member] || !order.route || order.route.length < 2) continue;
    positions[member] = alongRoute(order.route, (t - order.start) / Math.max(1, order.arrives - order.start));
  }
  /** @type {Record<string, boolean>} */
  const busyMembers = {};
  for (const member of Object.keys(busy)) busyMembers[member] = true;
  return { incidents, onTheWay, positions, busy: busyMembers };
}

/**
 * @param {DayIncident[]} incidents
 * @param {"category" | "channel"} field
 * @returns {Count[]}
 */
function tally(incidents, field) {
  /** @type {Map<string, Count>} */
  const byCode = new Map();
  for (const incident of incidents) {
    const ref = /** @type {Partial<Schemas["CodeName"]>} */ (incident[field] || {});
    const code = /** @type {string} */ (ref.code);
    if (!byCode.has(code)) byCode.set(code, { code, name: ref.name || code, count: 0 });
    /** @type {Count} */ (byCode.get(code)).count += 1;
  }
  return [...byCode.values()];
}

/**
 * The side panels at `t`: {key, open, counts}. `open` is the queue (cases reported and neither gone
 * nor done, in the queue's shape), `counts` today's counts and charts as they stood; `key` changes
 * only when a case appears or changes, so that the panels are redrawn only then.
 * @param {Day} day
 * @param {number} t
 * @param {{isGone: (status: string) => boolean, isDone: (status: string) => boolean,
 *   statuses: Record<string, string>}} words
 */
export function panelsAt(day, t, { isGone, isDone, statuses }) {
  /** @type {QueueRow[]} */
  const open = [];
  /** @type {DayIncident[]} */
  const reported = [];
  for (const incident of day.incidents) {
    if (incident.reportedMs > t) continue;
    const status = statusAt(incident, t);
    reported.push(incident);
    if (!isGone(status) && !isDone(status)) {
      open.push({
        id: incident.id,
        number: incident.number,
        status,
        status_label: statuses[status] || status,
        category: incident.category,
        major: incident.major,
        point: incident.point,
        reported_at: incident.reported_at,
        summary: "",
      });
    }
  }
  const key = reported.length + ":" + open.map((i) => i.id + i.status).join(",");
  const counts = {
    today: reported.length,
    open: open.length,
    by_category: tally(reported, "category"),
    by_channel: tally(reported, "channel"),
  };
  return { key, open, counts };
}
