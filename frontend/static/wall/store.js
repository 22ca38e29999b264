// The wall's one store: what the wall knows of the sub-district right now — incidents, responders,
// alarms, counts, grid loads — and how far it has read the event stream. The snapshot and the
// socket write it (applySnapshot, applyEvent, applyPositions, applyMembers); the views render it,
// told what changed through subscribe(). Pure: no DOM, no Leaflet, no request (node --test:
// frontend/tests/wall_store.test.mjs).
//
// What changes with no event, the store works out itself as time passes (tick(), once a second),
// so that the snapshot is loaded only at start, on resync and after a replay:
// - duty: each responder comes with their duty shifts from now to the end of tomorrow and their
//   duty post (wall/selectors.py); a responder not busy is on duty while a shift covers now, and one
//   without a shared position is drawn at the shift's post, else the duty post, while on duty;
//   positions older than `staleMinutes` turn stale. Busy is counted from the incidents held (an
//   order in a `busy.orderStates` state on a case in a `busy.statuses` status, as the snapshot
//   counts it), again whenever an event's row changes them;
// - alarms: `alarm` and `alarm_handled` events carry the alarm's id, kind and state (its data):
//   the list is kept from them; a snoozed alarm is open again at its `snoozed_until` (the SLA
//   clock reopens it within seconds and its `alarm` event confirms it);
// - the day: at midnight in the server's time zone the cases closed (all of them closed before the
//   new day) leave the board and today's counts are counted again from what is held (change
//   "day"). The shifts a responder came with reach only to the end of tomorrow, so the page
//   reloads the snapshot once after the turn (wall.js) — for the next day's shifts, not for the
//   turn itself.
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
//   alarms    {}                           the listed alarms changed (an alarm event, a snooze over)
//   day       {day}                        the server's day turned: the board and today's counts
//   progress  {lastEvent}                  the newest event id moved (caught_up)

/**
 * What the wall reads of the API and the socket, typed from the OpenAPI document
 * (frontend/types/api.d.ts, scripts/api-types): a field renamed in a serializer fails `tsc` here.
 * @typedef {import("../../types/api.js").components["schemas"]} Schemas
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
 * @typedef {Schemas["WallShift"]} WallShift  a duty shift of a responder
 * @typedef {{member: number, lon: number, lat: number, at: string, accuracy_m?: number | null}} Position
 *   a position of a `positions` frame (wall/consumers.py; not in the OpenAPI document)
 * @typedef {{type: "event", event: WallEvent, incident?: Schemas["WallIncident"] | null}
 *   | {type: "positions", positions: Position[]}
 *   | MembersFrame
 *   | {type: "caught_up", last_event: number}
 *   | {type: "resync", last_event: number}} Frame
 *   a socket frame (wall/consumers.py): an event carries its incident's board row (the
 *   snapshot's incident row; null once it left the board; absent from a server that sends none);
 *   `members` the responders staff changed (wall/member_frames.py)
 * @typedef {{type: "members", subdistrict: string | null, members: Schemas["WallMember"][], removed: number[]}} MembersFrame
 *   responders staff changed (a roster's shifts, their details): their rows as the snapshot has them,
 *   of the sub-district `subdistrict`, and the ids of those no longer on its wall
 * @typedef {{event: WallEvent, gone: boolean, summary: boolean, known: Incident | null,
 *   previous: Incident | null, row: Incident | null | undefined}} EventResult
 * @typedef {{type: "incident", incident: Incident, previous: Incident | undefined, quiet: boolean}
 *   | {type: "removed", incident: Incident}
 *   | {type: "member", member: Member, moved: boolean}
 *   | {type: "member-removed", id: number}
 *   | {type: "snapshot", reason: string, events: WallEvent[] | null, first: boolean}
 *   | ({type: "event"} & EventResult)
 *   | {type: "alarms"}
 *   | {type: "day", day: string}
 *   | {type: "progress", lastEvent: number}} Change
 *   a change told to the subscribers (above)
 * @typedef {{code: string, name: string, count: number}} Count
 * @typedef {ReturnType<typeof createWallStore>} WallStore
 */

export const SEEN_MAX = 5000;
export const RESUME_OVERLAP = 200;

// Event kinds after which the counts, the alarms or who is busy may have changed (`summary`).
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

// The alarm states the wall lists (wall/selectors.py _alarms): any other is handled.
const ALARM_LISTED = new Set(["open", "snoozed"]);

/**
 * createWallStore({groups: {open, done, liveOrder}, clock, timeZone, busy, staleMinutes,
 * alarmKinds}) → the store. `clock()` is the browser's time (Date.now by default); now() is the
 * server's, from the snapshot's "now"; `timeZone` the server's (shared.timeZone), whose day
 * "today's counts" are of. `busy`: the incident statuses and order states that make a responder
 * busy (frontend/wall_views.py, the snapshot's own; by default the open statuses not done, and live
 * orders); `staleMinutes`: the age at which a shared position is out of date (0: never);
 * `alarmKinds`: the alarms' kinds in words, for alarms the socket tells of.
 * @param {{groups: {open: string[], done: string[], liveOrder: string[]}, clock?: () => number,
 *   timeZone?: string, busy?: {statuses: string[], orderStates: string[]}, staleMinutes?: number,
 *   alarmKinds?: Record<string, string>}} options
 */
export function createWallStore({
  groups, clock = () => Date.now(), timeZone = undefined, busy = undefined, staleMinutes = 0, alarmKinds = {},
}) {
  const open = new Set(groups.open);
  const done = new Set(groups.done);
  const liveOrder = new Set(groups.liveOrder);
  const busyStatuses = new Set(busy ? busy.statuses : groups.open.filter((status) => !done.has(status)));
  const busyOrders = new Set(busy ? busy.orderStates : groups.liveOrder);
  const staleMs = staleMinutes > 0 ? staleMinutes * 60 * 1000 : 0;
  /** @type {Map<number, Incident>} */
  const incidents = new Map(); // id -> incident (the state's or the card's shape)
  /** @type {Map<number, Member>} */
  const members = new Map(); // id -> member
  /** @type {Set<number>} */
  const seen = new Set();
  /** @type {Set<(change: Change) => void>} */
  const listeners = new Set();
  /** @type {Map<number, number>} */
  const alarmEvents = new Map(); // alarm id -> the newest event id applied to it
  /** @type {WeakMap<WallShift[], [number, number, number[] | null][]>} */
  const parsedShifts = new WeakMap(); // a responder's shifts as [start ms, end ms, post]
  let nextMemberChange = 0; // server time (ms) at which a responder's duty or position age next changes
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
    /** @type {string | null} */
    day: null, // the server's day ("YYYY-MM-DD") the board and today's counts are of
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

  // ---- responders: busy, on duty, off duty ----

  /**
   * A responder's shifts, parsed once per list, or null when none are known (one that only a
   * position frame has told of).
   * @param {Member} member
   */
  function shiftsOf(member) {
    const list = member.shifts;
    if (!list) return null;
    let parsed = parsedShifts.get(list);
    if (!parsed) {
      parsed = list.map((s) => /** @type {[number, number, number[] | null]} */ ([ms(s.starts_at), ms(s.ends_at), s.post || null]));
      parsedShifts.set(list, parsed);
    }
    return parsed;
  }

  /**
   * Whether a shift covers `at` (shifts are half-open, the end excluded: of two shifts end to end
   * the later one covers the instant between them), its post, and when that next changes; null
   * when the responder's shifts are not known.
   * @param {Member} member
   * @param {number} at
   * @returns {{onDuty: boolean, post: number[] | null, next: number} | null}
   */
  function dutyAt(member, at) {
    const shifts = shiftsOf(member);
    if (!shifts) return null;
    let onDuty = false;
    /** @type {number[] | null} */
    let post = null;
    let next = Infinity;
    for (const [start, end, shiftPost] of shifts) {
      if (start <= at && at < end) {
        onDuty = true;
        post = shiftPost;
        next = Math.min(next, end);
      } else if (start > at) {
        next = Math.min(next, start);
      }
    }
    return { onDuty, post, next };
  }

  /**
   * @param {number[] | null | undefined} a
   * @param {number[] | null | undefined} b
   */
  const samePoint = (a, b) => (!a && !b) || Boolean(a && b && a[0] === b[0] && a[1] === b[1]);

  /**
   * Brings a responder up to `at` as the snapshot would show them then: on or off duty (unless
   * busy), where one who shares no position is drawn, whether the position is out of date.
   * Returns whether anything changed and when something next will (server ms).
   * @param {Member} member
   * @param {number} at
   */
  function settle(member, at) {
    let changed = false;
    let next = Infinity;
    const duty = dutyAt(member, at);
    if (duty) {
      next = duty.next;
      const status = member.status === "busy" ? "busy" : duty.onDuty ? "on_duty" : "off_duty";
      if (member.status !== status) {
        member.status = status;
        changed = true;
      }
      if (!member.at) {
        // No shared position: drawn at the post while on duty or busy, not at all off duty.
        const point = status === "off_duty" ? null : duty.post || member.duty_post || null;
        if (!samePoint(point, member.point)) {
          member.point = point;
          member.source = point ? "duty_post" : null;
          changed = true;
        }
      }
    }
    if (member.at && staleMs) {
      const staleAfter = ms(member.at) + staleMs;
      const stale = staleAfter < at;
      if (Boolean(member.stale) !== stale) {
        member.stale = stale;
        changed = true;
      }
      if (!stale) next = Math.min(next, staleAfter + 1);
    }
    return { changed, next };
  }

  /**
   * Every responder brought up to `at` (those changed told), and the next time one changes.
   * @param {number} at
   */
  function settleMembers(at) {
    let next = Infinity;
    for (const member of members.values()) {
      const result = settle(member, at);
      if (result.changed) emit({ type: "member", member, moved: false });
      next = Math.min(next, result.next);
    }
    nextMemberChange = next;
  }

  /** The responders holding an order that keeps them busy, from the incidents held. */
  function busyMembers() {
    /** @type {Set<number>} */
    const out = new Set();
    for (const incident of incidents.values()) {
      if (!busyStatuses.has(incident.status)) continue;
      for (const order of incident.orders || []) {
        if (busyOrders.has(order.state)) out.add(Number(order.member));
      }
    }
    return out;
  }

  /**
   * Busy counted again from the incidents held: a responder whose order ended (declined, stood
   * down, the case resolved or closed) is on or off duty again by their shifts.
   */
  function refreshBusy() {
    const busyNow = busyMembers();
    const at = now();
    for (const member of members.values()) {
      const isBusy = busyNow.has(Number(member.id));
      if (isBusy === (member.status === "busy")) continue;
      member.status = isBusy ? "busy" : "on_duty"; // on duty unless their shifts say otherwise
      nextMemberChange = Math.min(nextMemberChange, settle(member, at).next);
      setMember(member, false);
    }
  }

  /**
   * A responder's row (the snapshot's, or a members frame's) put in; a position that came over the
   * socket after the row was read stays.
   * @param {Member} member
   */
  function putMember(member) {
    const known = members.get(Number(member.id));
    if (known && known.at && (!member.at || ms(known.at) > ms(member.at))) {
      member.point = known.point;
      member.at = known.at;
      member.stale = known.stale;
      member.source = "live";
    }
    setMember(member, false);
  }

  // ---- incidents ----

  /**
   * Puts an incident in (keeping the timeline a card answer brought); returns the previous one.
   * `quiet`: part of a snapshot (panels redrawn, busy counted, once after all of it).
   * @param {Incident} incident
   * @param {{quiet?: boolean}} [options]
   */
  function upsertIncident(incident, { quiet = false } = {}) {
    const id = Number(incident.id);
    const previous = incidents.get(id);
    if (previous && previous.timeline && !incident.timeline) incident.timeline = previous.timeline;
    incidents.set(id, incident);
    emit({ type: "incident", incident, previous, quiet });
    if (!quiet) refreshBusy();
    return previous;
  }

  /**
   * @param {number | string} id
   * @param {{quiet?: boolean}} [options]
   */
  function removeIncident(id, { quiet = false } = {}) {
    const incident = incidents.get(Number(id));
    if (!incident) return null;
    incident.status = "closed";
    incidents.delete(Number(id));
    emit({ type: "removed", incident });
    if (!quiet) refreshBusy();
    return incident;
  }

  // ---- alarms ----

  /**
   * An `alarm` or `alarm_handled` event applied to the alarms listed: its data names the alarm,
   * its kind and its state after the event (dispatch.services.alarm_data); a raised alarm also
   * its deadline, a snooze its end. One neither open nor snoozed any more is taken off; an event
   * older than one applied to the same alarm already (a late commit) is ignored. Returns whether
   * the list changed.
   * @param {WallEvent} event
   */
  function applyAlarmEvent(event) {
    const data = /** @type {Record<string, unknown>} */ (event.data || {});
    if ((event.kind !== "alarm" && event.kind !== "alarm_handled") || typeof data.alarm !== "number") return false;
    const id = data.alarm;
    if ((alarmEvents.get(id) || 0) > event.id) return false;
    alarmEvents.set(id, event.id);
    const alarmState = typeof data.alarm_state === "string" ? data.alarm_state : "";
    const known = state.alarms.find((a) => a.id === id) || null;
    if (!ALARM_LISTED.has(alarmState)) {
      if (known) state.alarms = state.alarms.filter((a) => a !== known);
      return Boolean(known);
    }
    const until = typeof data.until === "string" ? data.until : null;
    if (known) {
      known.state = alarmState;
      known.snoozed_until = alarmState === "snoozed" ? until || known.snoozed_until : null;
      return true;
    }
    const kind = typeof data.alarm_kind === "string" ? data.alarm_kind : "";
    /** @type {WallAlarm} */
    const alarm = {
      id,
      kind,
      kind_label: alarmKinds[kind] || kind,
      incident: event.incident,
      number: event.number,
      due_at: typeof data.due_at === "string" ? data.due_at : null,
      raised_at: event.at,
      state: alarmState,
      note: event.note || "",
      snoozed_until: alarmState === "snoozed" ? until : null,
      member: typeof data.member === "number" ? data.member : null,
      member_name: typeof data.member_name === "string" ? data.member_name : null,
    };
    state.alarms = [alarm, ...state.alarms]; // newest first
    return true;
  }

  /**
   * Snoozed alarms whose time has come are open again: the SLA clock reopens them within seconds
   * (dispatch/sla.py snoozed_alarms_reopen, with an `alarm` event), the wall does not wait for it.
   * Returns whether one was.
   * @param {number} at
   */
  function reopenSnoozed(at) {
    let changed = false;
    for (const alarm of state.alarms) {
      if (alarm.state === "snoozed" && alarm.snoozed_until && ms(alarm.snoozed_until) <= at) {
        alarm.state = "open";
        alarm.snoozed_until = null;
        changed = true;
      }
    }
    return changed;
  }

  // ---- the day ----

  /**
   * The server's day turned: the cases closed (all before the new day: a case closed today stays
   * on the board until midnight) leave the board, and today's counts and the grid loads are
   * counted again from the incidents held. Returns whether it turned.
   * @param {number} at
   */
  function turnDay(at) {
    const day = dayFormat.format(new Date(at));
    if (!state.day || day <= state.day) return false;
    state.day = day;
    for (const incident of [...incidents.values()]) {
      if (isGone(incident.status)) removeIncident(incident.id, { quiet: true });
    }
    recount();
    emit({ type: "day", day });
    return true;
  }

  /**
   * What time changes with no event, once a second: the day's turn, responders coming on and off
   * duty and their positions ageing, snoozes ending. Returns whether the day turned.
   */
  function tick() {
    const at = now();
    const turned = turnDay(at);
    if (at >= nextMemberChange) settleMembers(at);
    if (reopenSnoozed(at)) emit({ type: "alarms" });
    return turned;
  }

  /**
   * A snapshot (GET …/state/): reason "start", "resync", or "day" (the reload after the day's
   * turn: keeps the event cursor and the ticker).
   * @param {WallState} snapshot
   * @param {string} reason
   */
  function applySnapshot(snapshot, reason) {
    if (snapshot.now) state.clockOffset = ms(snapshot.now) - clock();
    state.day = dayFormat.format(new Date(now()));
    const inSnapshot = new Set();
    for (const incident of snapshot.incidents || []) {
      inSnapshot.add(Number(incident.id));
      upsertIncident(incident, { quiet: true });
    }
    for (const id of [...incidents.keys()]) {
      if (!inSnapshot.has(id)) removeIncident(id, { quiet: true });
    }
    const membersIn = new Set();
    for (const member of /** @type {Member[]} */ (snapshot.members || [])) {
      membersIn.add(Number(member.id));
      putMember(member);
    }
    for (const id of [...members.keys()]) {
      if (!membersIn.has(id)) {
        members.delete(id);
        emit({ type: "member-removed", id });
      }
    }
    refreshBusy(); // as the snapshot counted it, from the same rows
    nextMemberChange = 0; // and the responders are settled at the next tick
    state.gridLoads = {};
    for (const grid of snapshot.grids || []) state.gridLoads[grid.code] = grid.load;
    state.counts = snapshot.counts || null;
    state.alarms = snapshot.alarms || [];
    alarmEvents.clear();
    /** @type {WallEvent[] | null} */
    let events = null;
    if (reason !== "day") {
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
    const alarmsChanged = applyAlarmEvent(event);
    const result = { event, gone, summary: SUMMARY_KINDS.has(event.kind), known, previous, row };
    emit({ type: "event", ...result });
    if (alarmsChanged) emit({ type: "alarms" });
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
      member.source = "live";
      if (staleMs) nextMemberChange = Math.min(nextMemberChange, ms(p.at) + staleMs + 1);
      setMember(member, true);
      moved.push(member);
    }
    return moved;
  }

  /**
   * A `members` frame (staff changed responders' rosters or details): the rows, as the snapshot
   * has them, put in, and those no longer on the wall (made inactive, deleted) taken off; the rows
   * of another sub-district than this wall's (`code`) are of responders who moved away: taken off.
   * @param {Pick<MembersFrame, "members" | "removed" | "subdistrict">} frame
   * @param {string | null | undefined} code
   */
  function applyMembers(frame, code) {
    const rows = /** @type {Member[]} */ (frame.members || []);
    const removed = [...(frame.removed || [])];
    if (frame.subdistrict && code && frame.subdistrict !== code) removed.push(...rows.map((m) => Number(m.id)));
    else for (const member of rows) putMember(member);
    for (const id of removed) {
      if (members.delete(Number(id))) emit({ type: "member-removed", id: Number(id) });
    }
    refreshBusy();
    nextMemberChange = 0;
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
    applyMembers,
    tick,
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
