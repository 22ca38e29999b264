// "My team" in the responders' app (/m/), for leaders (/api/v1/m/team/): a unit leader's overdue
// alarms they were told of — with the acknowledgement — and the current orders of their unit; a grid
// leader's open cases of their grids with who is sent to each. Every person comes with a "call" link
// (tel:), a large touch target. Shown only when the member leads something: the page's configuration
// carries the member's `roles` (dispatch.selectors.leader_roles, as the API decides); a member who
// leads nothing — most of the 692 — gets no section and this module does nothing at all (no request,
// no timer, no listener).
//
// For a leader: loaded again on each message of the member's socket (app.js fires
// `gridlink:member-message` on the document), every `refreshSeconds` while the page is visible, when
// it becomes visible again, and after an acknowledgement. Acknowledgements go through an outbox of
// their own (queue.js, the member's own IndexedDB database): kept on the phone where there is no
// signal, sent when it returns with the member's X-GridLink-Member header, applied once (the
// Idempotency-Key made when queued); the alarm shows that it waits. A `wrong_member` answer (another
// member's session) stops it and fires `gridlink:wrong-member` for app.js.
//
// `teamOutbox` is app.js's handle for logging out: flush what can go, count what waits, stop
// everything this module runs. Inert (nothing waits) for a member who leads nothing.
//
// Configuration and words: #m-team-config (json_script, frontend/templatetags/team_tags.py). Built
// with DOM calls and textContent only: addresses are typed by the public. The functions exported
// above `start` are pure (node --test: frontend/tests/team.test.mjs); `start` runs in the page only.
//
// Test hooks: #m-team[data-roles][data-refreshed]; [data-testid="team-alarm"][data-alarm]
// [data-acknowledged][data-queued]; [data-testid="team-order"][data-order][data-overdue];
// [data-testid="team-incident"][data-incident]; a[data-testid="call"]; button[data-testid="acknowledge"].

import { createApi, newKey, urlFor } from "./api.js";
import { countdown } from "./countdown.js";
import { el } from "./dom.js";
import { fill, formatTime } from "./format.js";
import { createQueue, memberHeaders, persistentStore } from "./queue.js";

// The API's answers, as its OpenAPI document declares them (scripts/api-types): GET api/v1/m/team/.
/** @typedef {import("../../../types/api.js").components["schemas"]} Schemas */
/** @typedef {Schemas["Team"]} Team */
/** @typedef {Schemas["TeamAlarm"]} TeamAlarm */
/** @typedef {Schemas["UnitOrder"]} UnitOrder */
/** @typedef {Schemas["GridIncident"]} GridIncident */

const LIVE_STATES = new Set(["dispatched", "accepted"]);

/** A `tel:` URI for a phone number as the server keeps it ("138-0000-0001", "+86…"), or "" if none. */
export function telUri(phone) {
  const raw = String(phone ?? "").trim();
  const digits = raw.replace(/[^0-9]/g, "");
  if (digits.length < 3) return "";
  return `tel:${raw.startsWith("+") ? "+" : ""}${digits}`;
}

/** The sections to draw, in order (the most urgent first), for the server's `roles`. */
export function teamSections(roles) {
  const held = new Set(roles || []);
  const sections = [];
  if (held.has("unit_leader")) sections.push("alarms", "orders");
  if (held.has("grid_leader")) sections.push("incidents");
  return sections;
}

/**
 * Whether an order is still on the way past its deadline at `now` (ms, server time).
 * @param {Pick<UnitOrder, "state" | "arrive_by">} order
 * @param {number} now
 */
export function isOverdue(order, now) {
  if (!LIVE_STATES.has(order.state) || !order.arrive_by) return false;
  return Date.parse(order.arrive_by) < now;
}

/** "reported 12 min ago" / "reported 1 h 05 min ago" from an ISO time to `now` (ms). */
export function ageText(since, now, text) {
  const minutes = Math.max(0, Math.floor((now - Date.parse(since)) / 60000));
  if (!Number.isFinite(minutes)) return "";
  if (minutes < 60) return fill(text.ageMinutes, { minutes });
  return fill(text.ageHours, { hours: Math.floor(minutes / 60), minutes: String(minutes % 60).padStart(2, "0") });
}

/**
 * Whom an alarm asks the leader to call: the late member, else the late office (its duty phone).
 * @param {TeamAlarm} alarm
 * @returns {{name?: string, phone?: string} | null}
 */
export function alarmContact(alarm) {
  const who = alarm.member || alarm.unit;
  return who && telUri(who.phone) ? { name: who.name, phone: who.phone } : null;
}

/** The ids of the alarms whose acknowledgement waits in the outbox (`entries`), given the URL template. */
export function queuedAlarmIds(entries, template) {
  const [head, tail = ""] = String(template).split("{id}");
  const ids = new Set();
  for (const entry of entries || []) {
    const url = String(entry.url);
    if (url.length <= head.length + tail.length || !url.startsWith(head) || !url.endsWith(tail)) continue;
    const id = url.slice(head.length, url.length - tail.length);
    if (/^\d+$/.test(id)) ids.add(Number(id));
  }
  return ids;
}

/** app.js's handle on this module: {flush(), waiting() → count, stop()}; start() fills it in. */
export const teamOutbox = {
  flush: async () => {},
  waiting: async () => 0,
  stop: () => {},
};

// ---- the page ----------------------------------------------------------------------------------------

function start(config) {
  if (teamSections(config.roles).length === 0) return; // leads nothing: no section, no request
  const text = config.text;
  const section = /** @type {HTMLElement} */ (document.getElementById("m-team"));
  const status = /** @type {HTMLElement} */ (document.getElementById("m-team-status"));
  const body = /** @type {HTMLElement} */ (document.getElementById("m-team-body"));
  const api = createApi({ csrf: config.csrf, fallback: text.failed, cookies: () => document.cookie });
  const name = `gridlink-m-team-outbox-${config.member}`;
  const notices = new Map(); // alarm id → {kind, text}
  /** @type {Team | null} */
  let team = null;
  let loadedAt = null;
  let clockOffset = 0;
  let queued = new Set();
  let drawn = 0;
  const serverNow = () => Date.now() + clockOffset;
  const time = (value) => formatTime(value, config.timeZone);

  function callLink(person) {
    const href = telUri(person.phone);
    if (!href) return null;
    return el("a", { className: "m-btn m-btn-go", href, text: fill(text.call, { name: person.name }),
      dataset: { testid: "call" } });
  }

  function countdownLine(order) {
    if (!LIVE_STATES.has(order.state)) return null;
    return el("p", { className: "m-countdown", dataset: { testid: "team-countdown", deadline: order.arrive_by || "" } });
  }

  /** @param {TeamAlarm} alarm */
  function alarmCard(alarm) {
    const contact = alarmContact(alarm);
    const waiting = queued.has(alarm.id);
    const notice = notices.get(alarm.id);
    const facts = [fill(text.raisedAt, { time: time(alarm.raised_at) })];
    if (alarm.due_at) facts.push(fill(text.deadline, { time: time(alarm.due_at) }));
    const actions = el("div", { className: "m-actions" }, [contact ? callLink(contact) : null]);
    if (alarm.can_acknowledge) {
      const button = el("button", { type: "button", className: "m-btn m-btn-main", text: text.acknowledge,
        disabled: waiting, dataset: { testid: "acknowledge" } });
      button.addEventListener("click", () => acknowledge(alarm));
      actions.append(button);
    }
    return el("article", {
      className: ["m-card", alarm.acknowledged ? "is-finished" : "is-live"].join(" "),
      dataset: { testid: "team-alarm", alarm: alarm.id, acknowledged: alarm.acknowledged ? "1" : "0",
        queued: waiting ? "1" : "0" },
    }, [
      el("div", { className: "m-card-head" }, [
        el("span", { className: "m-cat", text: alarm.kind_display }),
        el("span", { className: "m-number", text: alarm.incident.number }),
      ]),
      el("p", { className: "m-address", text: [contact?.name, alarm.incident.address_text].filter(Boolean).join(" · ") || "—" }),
      el("p", { className: "m-small", text: facts.join(" · ") }),
      alarm.acknowledged
        ? el("p", { className: "m-small", text: fill(text.acknowledgedBy, { time: time(alarm.acknowledged_at), name: alarm.acknowledged_by || "" }) })
        : null,
      actions.childElementCount ? actions : null,
      notice ? el("p", { className: `m-notice is-${notice.kind}`, role: notice.kind === "error" ? "alert" : "status",
        text: notice.text, dataset: { testid: "team-notice", kind: notice.kind } }) : null,
    ]);
  }

  /** @param {UnitOrder} order @param {number} now */
  function orderCard(order, now) {
    const overdue = isOverdue(order, now);
    return el("article", {
      className: ["m-card", "is-live", overdue ? "is-overdue" : ""].join(" ").trim(),
      dataset: { testid: "team-order", order: order.id, overdue: overdue ? "1" : "0" },
    }, [
      el("div", { className: "m-card-head" }, [
        el("span", { className: "m-cat", text: order.member.name }),
        el("span", { className: "m-state", text: order.state_display, dataset: { state: order.state } }),
        el("span", { className: "m-number", text: order.incident.number }),
      ]),
      el("p", { className: "m-address", text: [order.incident.category, order.incident.address_text].filter(Boolean).join(" · ") }),
      overdue ? el("p", { className: "m-warn", text: text.overdue }) : null,
      countdownLine(order),
      el("div", { className: "m-actions" }, [callLink(order.member)]),
    ]);
  }

  /** @param {GridIncident} incident @param {number} now */
  function incidentCard(incident, now) {
    const people = incident.orders.length
      ? incident.orders.map((order) => el("div", { className: "m-team-person", dataset: { testid: "team-sent", order: order.id } }, [
        el("p", { className: "m-small", text: [order.member.name, order.member.unit, order.state_display,
          isOverdue(order, now) ? text.overdue : ""].filter(Boolean).join(" · ") }),
        countdownLine(order),
        el("div", { className: "m-actions" }, [callLink(order.member)]),
      ]))
      : [el("p", { className: "m-small", text: text.nobodySent })];
    return el("article", {
      className: ["m-card", "is-live", incident.major ? "is-major" : ""].join(" ").trim(),
      dataset: { testid: "team-incident", incident: incident.id, status: incident.status },
    }, [
      el("div", { className: "m-card-head" }, [
        el("span", { className: "m-cat", text: incident.category }),
        incident.major ? el("span", { className: "m-major", text: text.major }) : null,
        el("span", { className: "m-state", text: incident.status_display }),
        el("span", { className: "m-number", text: incident.number }),
      ]),
      el("p", { className: "m-address", text: [incident.grid, incident.address_text].filter(Boolean).join(" · ") || "—" }),
      el("p", { className: "m-small", text: ageText(incident.reported_at, now, text) }),
      ...people,
    ]);
  }

  const SECTIONS = {
    alarms: { heading: "alarmsHeading", empty: "noAlarms", items: (t) => t.alarms, card: alarmCard },
    orders: { heading: "ordersHeading", empty: "noOrders", items: (t) => t.orders, card: orderCard },
    incidents: { heading: "incidentsHeading", empty: "noIncidents", items: (t) => t.incidents, card: incidentCard },
  };

  function render() {
    if (!team) return;
    const sections = teamSections(team.roles);
    section.hidden = sections.length === 0;
    section.dataset.roles = (team.roles || []).join(" ");
    const now = serverNow();
    body.replaceChildren(...sections.map((key) => {
      const s = SECTIONS[key];
      const items = s.items(team) || [];
      return el("div", { className: "m-team-part", dataset: { testid: `team-${key}` } }, [
        el("h3", { className: "m-heading", text: text[s.heading] }),
        ...(items.length ? items.map((item) => s.card(item, now)) : [el("p", { className: "m-empty", text: text[s.empty] })]),
      ]);
    }));
    tick();
  }

  function tick() {
    const now = serverNow();
    for (const line of /** @type {NodeListOf<HTMLElement>} */ (body.querySelectorAll('[data-testid="team-countdown"]'))) {
      const deadline = line.dataset.deadline ? Date.parse(line.dataset.deadline) : null;
      const c = countdown(deadline, now, text, config.amberSeconds);
      if (line.textContent !== c.text) line.textContent = c.text;
      line.dataset.state = c.state;
    }
  }

  let seq = 0;
  let stopped = false;
  async function refresh() {
    if (stopped) return;
    const mine = ++seq;
    const result = await api.get(config.api.team);
    if (mine !== seq || stopped) return; // a later refresh was started meanwhile: its answer wins
    if (!result.ok) {
      if (!team) return; // nothing shown yet: a member who leads nothing never sees an error here
      status.textContent = result.status === 0 && loadedAt
        ? fill(text.offline, { time: time(loadedAt + clockOffset) })
        : result.message || text.loadError;
      status.dataset.kind = "error";
      return;
    }
    team = /** @type {Team} */ (result.data);
    clockOffset = Date.parse(team.now) - Date.now();
    loadedAt = Date.now();
    status.textContent = fill(text.updated, { time: time(serverNow()) });
    status.dataset.kind = "ok";
    render();
    drawn += 1;
    section.dataset.refreshed = String(drawn);
  }

  let pending = false;
  function refreshSoon() {
    if (pending) return;
    pending = true;
    setTimeout(() => {
      pending = false;
      refresh();
    }, 300);
  }

  const queue = createQueue({
    store: persistentStore({ name }),
    send: (entry) => api.post(entry.url, entry.body, { key: entry.key, headers: memberHeaders(entry) }),
    newKey,
    member: { id: config.member, name: "" },
    lock: navigator.locks ? (fn) => navigator.locks.request(name, fn) : undefined,
    onChange: (entries) => {
      queued = queuedAlarmIds(entries, config.api.acknowledge);
      render();
    },
    onSettled: (entry, result, { awaited }) => {
      if (awaited) return; // acknowledge() shows it
      const [id] = queuedAlarmIds([entry], config.api.acknowledge);
      if (id !== undefined) notices.set(id, outcome(result));
      refreshSoon();
    },
    onWrongMember: () => document.dispatchEvent(new CustomEvent("gridlink:wrong-member")),
  });

  function outcome(result) {
    return result.ok ? { kind: "ok", text: text.acknowledgedDone } : { kind: "error", text: result.message || text.failed };
  }

  async function acknowledge(alarm) {
    notices.set(alarm.id, { kind: "info", text: text.sending });
    render();
    const url = urlFor(config.api.acknowledge, alarm.id);
    let sent;
    try {
      sent = await queue.add({ url, body: {}, label: `${text.acknowledge} · ${alarm.incident.number}`, action: "acknowledge" });
    } catch {
      sent = { queued: false, result: await api.post(url, {}, { headers: memberHeaders({ memberId: config.member }) }) }; // no storage
    }
    notices.set(alarm.id, sent.queued ? { kind: "queued", text: text.queued } : outcome(sent.result));
    render();
    if (!sent.queued) await refresh();
  }

  function onVisible() {
    if (document.visibilityState === "visible") {
      queue.flush();
      refresh();
    }
  }
  function onOnline() {
    queue.flush();
    refresh();
  }
  document.addEventListener("gridlink:member-message", refreshSoon);
  document.addEventListener("visibilitychange", onVisible);
  window.addEventListener("online", onOnline);
  const polling = setInterval(() => {
    if (document.visibilityState === "visible") refresh();
  }, config.refreshSeconds * 1000);
  const ticking = setInterval(tick, 1000);
  queue.start();
  refresh();

  Object.assign(teamOutbox, {
    flush: () => queue.flush(),
    waiting: async () => (await queue.entries()).length,
    stop() {
      stopped = true;
      queue.stop();
      clearInterval(polling);
      clearInterval(ticking);
      document.removeEventListener("gridlink:member-message", refreshSoon);
      document.removeEventListener("visibilitychange", onVisible);
      window.removeEventListener("online", onOnline);
    },
  });
}

const configElement = typeof document === "undefined" ? null : document.getElementById("m-team-config");
if (configElement) start(JSON.parse(configElement.textContent));
