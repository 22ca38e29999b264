// The wall's one store: what the wall knows of the sub-district right now — incidents, responders,
// alarms, counts, grid loads — and how far it has read the event stream. The snapshot and the
// socket write it (applySnapshot, applyEvent, applyPositions); the views render it, told what
// changed through subscribe(). Pure: no DOM, no Leaflet, no request (node --test:
// frontend/tests/wall_store.test.mjs).
//
// De-duplication and resume. Event ids are handed out when a transaction inserts its event, not
// when it commits: a slower transaction can publish a lower id after a higher one. So events are
// told apart by the ids seen (the newest SEEN_MAX), not by "newer than the last", and a reconnect
// asks again from RESUME_OVERLAP before the newest id (resumeFrom()); what comes twice is dropped.
//
// Statuses are grouped by the server (shared.statusGroups, frontend/page_config.py): open ones
// are on the map and in the queue, any other (closed, merged) is gone; done ones wait for nobody;
// an order in a liveOrder state is still on the way, and its deadline is the case's.
//
// Changes told to subscribers, {type, ...}:
//   incident  {incident, previous, quiet}  drawn or redrawn (quiet: part of a snapshot, panels later)
//   removed   {incident}                   gone from the map and the queue
//   member    {member, moved}              a responder to draw (moved: a new position)
//   member-removed {id}                    no longer in the sub-district's snapshot
//   snapshot  {reason, events, first}      a snapshot applied: redraw panels (events: the ticker's,
//                                          on a start or resync only)
//   event     {event, gone, summary, row}  a new event (summary: counts or alarms may have changed;
//                                          row: it brought its incident's board row, and the grid
//                                          loads and today's counts were counted again)
//   progress  {lastEvent}                  the newest event id moved (caught_up)

/**
 * What the wall reads of the API and the socket, typed from the OpenAPI document
 * (frontend/types/api.d.ts, scripts/api-types): a field renamed in a serializer fails `tsc` here.
 * @typedef {import("../../../frontend/types/api.js").components["schemas"]} Schemas
 * @typedef {Schemas["WallState"]} WallState   the snapshot (GET …/state/)
 * @typedef {Schemas["WallIncidentCard"]} WallIncidentCard  the card (GET …/incidents/<id>/)
 * @typedef {Schemas["WallEvent"]} WallEvent   an event of the snapshot and of the socket's frames
 * @typedef {Schemas["WallAlarm"]} WallAlarm
 * @typedef {Schemas["WallCounts"]} WallCounts
 * @typedef {Schemas["WallOrder"]} WallOrder
 * @typedef {Schemas["WallIncident"] & Partial<Omit<WallIncidentCard, keyof Schemas["WallIncident"]>>} Incident
 *   an incident as the store holds it: the snapshot's board row, with the card's fields (timeline,
 *   description, photos…) once a card answer brought them
 * @typedef {Pick<Schemas["WallMember"], "id" | "name" | "status"> & Partial<Schemas["WallMember"]>} Member
 *   a responder: the snapshot's, or one only a position frame has told of yet (id, name, status)
 * @typedef {{member: number, lon: number, lat: number, at: string, accuracy_m?: number | null}} Position
 *   a position of a `positions` frame (incidents/consumers.py; not in the OpenAPI document)
 * @typedef {{type: "event", event: WallEvent, incident?: Schemas["WallIncident"] | null}
 *   | {type: "positions", positions: Position[]}
 *   | {type: "caught_up", last_event: number}
 *   | {type: "resync", last_event: number}} Frame
 *   a socket frame (incidents/consumers.py): an event carries its incident's board row (the
 *   snapshot's incident row; null once it left the board; absent from a server that sends none)
 * @typedef {{event: WallEvent, gone: boolean, summary: boolean, known: Incident | null,
 *   previous: Incident | null, row: Incident | null | undefined}} EventResult
 * @typedef {{type: "incident", incident: Incident, previous: Incident | undefined, quiet: boolean}
 *   | {type: "removed", incident: Incident}
 *   | {type: "member", member: Member, moved: boolean}
 *   | {type: "member-removed", id: number}
 *   | {type: "snapshot", reason: string, events: WallEvent[] | null, first: boolean}
 *   | ({type: "event"} & EventResult)
 *   | {type: "progress", lastEvent: number}} Change
 *   a change told to the subscribers (above)
 * @typedef {{code: string, name: string, count: number}} Count
 * @typedef {ReturnType<typeof createWallStore>} WallStore
 */

export const SEEN_MAX = 5000;
export const RESUME_OVERLAP = 200;

// Event kinds after which the counts, the alarms or who is busy change: the snapshot is reloaded soon.
const SUMMARY_KINDS = new Set([
  "created", "status_changed", "alarm", "alarm_handled", "order_declined", "order_stood_down", "level_raised",
  "arrived",
]);

/**
 * @param {string | null | undefined} iso
 * @returns {number}
 */
function ms(iso) {
  return iso ? new Date(iso).getTime() : NaN;
}

/**
 * createWallStore({groups: {open, done, liveOrder}, clock, timeZone}) → the store. `clock()` is the
 * browser's time (Date.now by default); now() is the server's, from the snapshot's "now";
 * `timeZone` the server's (shared.timeZone), whose day "today's counts" are of.
 * @param {{groups: {open: string[], done: string[], liveOrder: string[]}, clock?: () => number,
 *   timeZone?: string}} options
 */
export function createWallStore({ groups, clock = () => Date.now(), timeZone = undefined }) {
  const open = new Set(groups.open);
  const done = new Set(groups.done);
  const liveOrder = new Set(groups.liveOrder);
  /** @type {Map<number, Incident>} */
  const incidents = new Map(); // id -> incident (the state's or the card's shape)
  /** @type {Map<number, Member>} */
  const members = new Map(); // id -> member
  /** @type {Set<number>} */
  const seen = new Set();
  /** @type {Set<(change: Change) => void>} */
  const listeners = new Set();
  const state = {
    /** @type {WallAlarm[]} */
    alarms: [],
    /** @type {WallCounts | null} */
    counts: null,
    /** @type {Record<string, number>} */
    gridLoads: {}, // grid code -> open incidents
    lastEvent: 0, // newest event id applied
    /** @type {number | null} */
    lastEventAt: null, // server time (ms) of the newest event
    clockOffset: 0, // server time - browser time
    ready: false, // a first snapshot was applied
  };

  /** @param {Change} change */
  function emit(change) {
    for (const listener of listeners) listener(change);
  }

  /** @param {string | null | undefined} status */
  const isGone = (status) => Boolean(status) && !open.has(/** @type {string} */ (status));
  /** @param {string} status */
  const isDone = (status) => done.has(status);
  /** @param {{status: string}} incident */
  const isOpen = (incident) => !isGone(incident.status) && !isDone(incident.status);
  /**
   * @template {{state: string}} O
   * @param {{orders?: O[] | null}} incident
   * @returns {O[]}
   */
  const liveOrders = (incident) => (incident.orders || []).filter((o) => liveOrder.has(o.state));
  const now = () => clock() + state.clockOffset;

  /**
   * The case's deadline, else the earliest "arrive by" of its live orders; null for none.
   * @param {Incident} incident
   * @returns {string | null}
   */
  function deadlineOf(incident) {
    if (incident.deadline) return incident.deadline;
    /** @type {string | null} */
    let earliest = null;
    for (const o of liveOrders(incident)) {
      if (o.arrive_by && (!earliest || ms(o.arrive_by) < ms(earliest))) earliest = o.arrive_by;
    }
    return earliest;
  }

  /**
   * The deadline a countdown shows: only while someone is on the way.
   * @param {Incident} incident
   */
  function countdownDeadline(incident) {
    return liveOrders(incident).length ? deadlineOf(incident) : null;
  }

  /**
   * @param {Incident} incident
   * @param {number} [at]
   */
  function isOverdue(incident, at = now()) {
    const deadline = deadlineOf(incident);
    return Boolean(deadline) && liveOrders(incident).length > 0 && ms(deadline) < at;
  }

  // The server's day of a time: "YYYY-MM-DD", as the rows' local ISO times begin.
  const dayFormat = new Intl.DateTimeFormat("en-CA", { timeZone, year: "numeric", month: "2-digit", day: "2-digit" });

  /** @param {Map<string, Count>} counts */
  function ranked(counts) {
    return [...counts.values()].sort((a, b) => b.count - a.count || (a.code < b.code ? -1 : a.code > b.code ? 1 : 0));
  }

  /**
   * The grid loads and today's counts counted from the incidents held, as the snapshot counts them
   * from the same rows (wall/selectors.py: the board is every open case and those closed today, so
   * today's cases are the board's reported today; open ones are neither closed nor merged).
   */
  function recount() {
    const today = dayFormat.format(new Date(now()));
    /** @type {Record<string, number>} */
    const gridLoads = {};
    /** @type {Map<string, Count>} */
    const byCategory = new Map();
    /** @type {Map<string, Count>} */
    const byChannel = new Map();
    let reportedToday = 0;
    let openCount = 0;
    let overdue = 0;
    const at = now();
    for (const incident of incidents.values()) {
      if (!isGone(incident.status)) {
        openCount += 1;
        if (isOverdue(incident, at)) overdue += 1;
        if (incident.grid) gridLoads[incident.grid.code] = (gridLoads[incident.grid.code] || 0) + 1;
      }
      if (!incident.reported_at || incident.reported_at.slice(0, 10) !== today) continue;
      reportedToday += 1;
      /** @type {[Map<string, Count>, {code: string, name: string} | null | undefined][]} */
      const tallies = [[byCategory, incident.category], [byChannel, incident.channel]];
      for (const [counts, of] of tallies) {
        if (!of) continue;
        const entry = counts.get(of.code) || { code: of.code, name: of.name, count: 0 };
        entry.count += 1;
        counts.set(of.code, entry);
      }
    }
    state.gridLoads = gridLoads;
    state.counts = {
      by_category: ranked(byCategory),
      by_channel: ranked(byChannel),
      today: reportedToday,
      open: openCount,
      overdue,
    };
  }

  /** @param {number} id */
  function markSeen(id) {
    if (seen.has(id)) return false;
    seen.add(id);
    if (seen.size > SEEN_MAX) seen.delete(/** @type {number} */ (seen.values().next().value));
    return true;
  }

  /** @param {unknown} id */
  function setLastEvent(id) {
    if (typeof id === "number" && id > state.lastEvent) {
      state.lastEvent = id;
      return true;
    }
    return false;
  }

  /**
   * @param {Member} member
   * @param {boolean} moved
   */
  function setMember(member, moved) {
    members.set(Number(member.id), member);
    emit({ type: "member", member, moved: Boolean(moved) });
  }

  // Responders on a live order of a case on the map are busy (the snapshot's duty may be older).
  /** @param {Incident} incident */
  function markBusy(incident) {
    if (isGone(incident.status) || !incident.point) return;
    for (const order of liveOrders(incident)) {
      const member = members.get(Number(order.member));
      if (member && member.status !== "busy") {
        member.status = "busy";
        setMember(member, false);
      }
    }
  }

  /**
   * Puts an incident in (keeping the timeline a card answer brought); returns the previous one.
   * @param {Incident} incident
   * @param {{quiet?: boolean}} [options]
   */
  function upsertIncident(incident, { quiet = false } = {}) {
    const id = Number(incident.id);
    const previous = incidents.get(id);
    if (previous && previous.timeline && !incident.timeline) incident.timeline = previous.timeline;
    incidents.set(id, incident);
    emit({ type: "incident", incident, previous, quiet });
    markBusy(incident);
    return previous;
  }

  /** @param {number | string} id */
  function removeIncident(id) {
    const incident = incidents.get(Number(id));
    if (!incident) return null;
    incident.status = "closed";
    incidents.delete(Number(id));
    emit({ type: "removed", incident });
    return incident;
  }

  /**
   * A snapshot (GET …/state/): reason "start", "resync" or "periodic" (keeps the event cursor).
   * @param {WallState} snapshot
   * @param {string} reason
   */
  function applySnapshot(snapshot, reason) {
    if (snapshot.now) state.clockOffset = ms(snapshot.now) - clock();
    const inSnapshot = new Set();
    for (const incident of snapshot.incidents || []) {
      inSnapshot.add(Number(incident.id));
      upsertIncident(incident, { quiet: true });
    }
    for (const id of [...incidents.keys()]) {
      if (!inSnapshot.has(id)) removeIncident(id);
    }
    const membersIn = new Set();
    for (const member of /** @type {Member[]} */ (snapshot.members || [])) {
      membersIn.add(Number(member.id));
      const known = members.get(Number(member.id));
      // A position that came over the socket after the snapshot was read stays.
      if (known && known.at && member.at && ms(known.at) > ms(member.at)) {
        member.point = known.point;
        member.at = known.at;
        member.stale = known.stale;
      }
      setMember(member, false);
    }
    for (const id of [...members.keys()]) {
      if (!membersIn.has(id)) {
        members.delete(id);
        emit({ type: "member-removed", id });
      }
    }
    for (const incident of incidents.values()) markBusy(incident);
    state.gridLoads = {};
    for (const grid of snapshot.grids || []) state.gridLoads[grid.code] = grid.load;
    state.counts = snapshot.counts || null;
    state.alarms = snapshot.alarms || [];
    /** @type {WallEvent[] | null} */
    let events = null;
    if (reason !== "periodic") {
      events = snapshot.events || [];
      for (const event of events) markSeen(event.id);
      if (events.length && !state.lastEventAt) state.lastEventAt = ms(events[0].at);
      setLastEvent(snapshot.last_event);
    }
    const first = !state.ready;
    emit({ type: "snapshot", reason, events, first });
    state.ready = true;
  }

  /**
   * An event of the incident timeline from the socket (`cursorOnly`: only counted as read and
   * told, as during a replay, after which the snapshot is reloaded). `row`: the incident's board
   * row the frame carried (the snapshot's shape), null when the incident left the board,
   * undefined when the frame had none (then only its status is applied). Returns null when it was
   * seen already, else {event, gone, summary, known, previous, row}: `gone` when it took the case
   * off the map, `summary` when the counts or alarms may have changed, `known` the incident as
   * the store has it now, `previous` as it had it before.
   * @param {WallEvent} event
   * @param {{cursorOnly?: boolean, row?: Incident | null}} [options]
   * @returns {EventResult | null}
   */
  function applyEvent(event, { cursorOnly = false, row = undefined } = {}) {
    if (!markSeen(event.id)) return null;
    setLastEvent(event.id);
    state.lastEventAt = Math.max(state.lastEventAt || 0, ms(event.at) || now());
    if (cursorOnly) {
      /** @type {EventResult} */
      const result = { event, gone: false, summary: false, known: null, previous: null, row: undefined };
      emit({ type: "event", ...result });
      return result;
    }
    let known = incidents.get(Number(event.incident)) || null;
    const previous = known ? { ...known } : null;
    if (known && event.status) known.status = event.status;
    const member = event.kind === "dispatched" && event.data && members.get(Number(event.data.member));
    if (member) {
      member.status = "busy";
      setMember(member, false);
    }
    let gone = isGone(event.status);
    if (row) {
      // The row is the incident as it is now: a case closed today stays (drawn off the map), as
      // in the snapshot.
      upsertIncident(row);
      known = row;
      gone = isGone(row.status);
    } else if (row === null || gone) {
      removeIncident(event.incident);
      known = null;
      gone = true;
    }
    if (row !== undefined) recount();
    const result = { event, gone, summary: SUMMARY_KINDS.has(event.kind), known, previous, row };
    emit({ type: "event", ...result });
    return result;
  }

  /**
   * Positions from the socket, [{member, lon, lat, at}]; never back in time. Returns the members moved.
   * @param {Position[] | null | undefined} list
   */
  function applyPositions(list) {
    /** @type {Member[]} */
    const moved = [];
    for (const p of list || []) {
      let member = members.get(Number(p.member));
      if (!member) member = { id: p.member, name: "", status: "on_duty" };
      if (member.at && p.at && ms(p.at) < ms(member.at)) continue;
      member.point = [p.lon, p.lat];
      member.at = p.at;
      member.stale = false;
      setMember(member, true);
      moved.push(member);
    }
    return moved;
  }

  /**
   * The server has sent everything up to `lastEvent` (a caught_up frame).
   * @param {number} lastEvent
   */
  function caughtUp(lastEvent) {
    if (setLastEvent(lastEvent)) emit({ type: "progress", lastEvent: state.lastEvent });
  }

  /** The event id to resume the socket after (a little before the newest), or null for none yet. */
  function resumeFrom() {
    return state.lastEvent ? Math.max(0, state.lastEvent - RESUME_OVERLAP) : null;
  }

  return {
    state,
    now,
    /** @param {number | string} id */
    incident: (id) => incidents.get(Number(id)) || null,
    incidents: () => [...incidents.values()],
    /** @param {number | string} id */
    member: (id) => members.get(Number(id)) || null,
    members: () => [...members.values()],
    isGone,
    isDone,
    isOpen,
    liveOrders,
    deadlineOf,
    countdownDeadline,
    isOverdue,
    /** Open incidents, newest first. */
    openIncidents: () => [...incidents.values()].filter(isOpen).sort((a, b) => ms(b.reported_at) - ms(a.reported_at)),
    /**
     * Overdue incidents at `at`, the most overdue first.
     * @param {number} [at]
     */
    overdueIncidents(at = now()) {
      return [...incidents.values()]
        .filter((incident) => !isGone(incident.status) && isOverdue(incident, at))
        .sort((a, b) => ms(deadlineOf(a)) - ms(deadlineOf(b)));
    },
    busyCount: () => [...members.values()].filter((m) => m.status === "busy").length,
    upsertIncident,
    removeIncident,
    recount,
    applySnapshot,
    applyEvent,
    applyPositions,
    caughtUp,
    resumeFrom,
    markSeen,
    /** @param {(change: Change) => void} listener */
    subscribe(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
  };
}
