// The incident page: the case on the basemap, the action buttons the detail API offers now
// (`actions`: [{action, label, requires, choices}]) with a small form for what each requires (a
// dispatch with the recommendation of recommend.js), the reveals of ID numbers and of callers' and
// parties' names and phones, and the SLA panel (below). The page itself is rendered by Django;
// after a successful action it is loaded again, so the timeline and every list come from the
// server. A refused action shows the server's message and changes nothing.
//
// Configuration: the json_script element #incident-config (frontend.console_views.incident_view):
// the APIs, the choices, what the user may do, a responder's open transfer request, and every
// word under `text` (the SLA panel's under text.sla, the recommendation's under text.recommend).
// Texts from data go in with textContent only.
// Test hooks: <body data-actions-loaded="N" data-sla-loaded="1">.

import { create, pinIcon } from "./core/basemap.js";
import { clear, el, format } from "./core/dom.js";
import { errorMessages, get, post, rows, url, withParams } from "./core/http.js";
import { time } from "./core/format.js";
import { pageConfig } from "./core/shared.js";
import { clearRoutes, panel as recommendPanel } from "./recommend.js";

/** @typedef {import("../../types/api.js").components["schemas"]} Schemas */
/** @typedef {Schemas["IncidentDetail"]} IncidentDetail */
/** @typedef {Schemas["Action"]} Action */
/** @typedef {Schemas["IncidentDispatch"]} IncidentDispatch */
/** @typedef {Schemas["IncidentOrder"]} IncidentOrder */
/** @typedef {Schemas["Alarm"]} Alarm */
/** @typedef {Schemas["MemberMessageStatus"]} MemberMessageStatus */
/** @typedef {Schemas["ContactsRevealed"]} ContactsRevealed */
/** @typedef {Schemas["Reveal"]} Reveal */
/** @typedef {NonNullable<Schemas["MemberMap"]["properties"]> & {id: number}} MemberRow a member of the map's list, flattened (core/http.js rows) */
/**
 * A replacement's candidate: the API types it as a free dict (dispatch/api.py ReplacementSerializer,
 * a DictField whose help text lists these keys), so the fields read here are named by hand.
 * @typedef {{id: number, name: string, force: string, force_display: string, unit: string,
 *   rule: string | null, travel_seconds: number | null, deadline_minutes: number | null,
 *   on_duty: boolean, reason: string}} ReplacementCandidate
 */

const L = globalThis.L;
const config = pageConfig("incident-config");
const text = config.text;

// ---- the map --------------------------------------------------------------------------------

const base = create("incident-map", config.map, { fit: !config.location, layerControl: false });
if (config.location) {
  const latlng = L.latLng(config.location[1], config.location[0]);
  base.map.setView(latlng, 16);
  L.marker(latlng, { pane: "gl-pin", icon: pinIcon("#c62828"), keyboard: false }).addTo(base.map);
}

// ---- actions ----------------------------------------------------------------------------------

// Both rendered by incident.html whatever the user may do.
const actionsBox = /** @type {HTMLElement} */ (document.getElementById("actions"));
const slot = /** @type {HTMLElement} */ (document.getElementById("action-form-slot"));
/** @type {Promise<{group: string, options: {value: number, label: string}[]}[]> | null} */
let membersPromise = null;

function optionNode(option) {
  const node = el("option", null, option.label);
  node.value = String(option.value);
  return node;
}

function select(name, options, multiple, placeholder) {
  const node = el("select");
  node.name = name;
  node.dataset.field = name;
  if (multiple) {
    node.multiple = true;
    node.size = 8;
  } else {
    const empty = el("option", null, placeholder || text.choose);
    empty.value = "";
    node.appendChild(empty);
  }
  for (const option of options) {
    if (option.group) {
      const group = el("optgroup");
      group.label = option.group;
      for (const inner of option.options) group.appendChild(optionNode(inner));
      node.appendChild(group);
    } else {
      node.appendChild(optionNode(option));
    }
  }
  return node;
}

// A choice among the units of the case's parts; the only one is chosen already.
function unitSelect(units, placeholder) {
  const node = select("unit", units.map((u) => ({ value: u.id, label: u.name })), false, placeholder);
  if (units.length === 1 && !placeholder) node.value = String(units[0].id);
  return node;
}

function field(label, control) {
  const wrap = el("label", "cfield");
  wrap.appendChild(el("span", null, label));
  wrap.appendChild(control);
  return wrap;
}

// Members for a dispatch, grouped by force, on-duty first (the recommendation comes later).
function loadMembers() {
  if (!membersPromise) {
    const membersUrl = config.map.subdistrict
      ? withParams(config.api.members, { subdistrict: config.map.subdistrict.code })
      : config.api.members;
    membersPromise = get(membersUrl).then((result) => {
      if (!result.ok) throw new Error(`members: HTTP ${result.status}`);
      /** @type {Record<string, {value: number, label: string}[]>} */
      const groups = {};
      /** @type {string[]} */
      const order = [];
      const members = /** @type {MemberRow[]} */ (rows(result.data)).sort(
        (a, b) => (b.on_duty ? 1 : 0) - (a.on_duty ? 1 : 0) || String(a.name).localeCompare(String(b.name)),
      );
      for (const m of members) {
        const key = m.force_display || m.force || "";
        if (!groups[key]) {
          groups[key] = [];
          order.push(key);
        }
        groups[key].push({ value: m.id, label: `${m.name} · ${m.unit || ""}${m.on_duty ? " ●" : ""}` });
      }
      return order.map((key) => ({ group: key, options: groups[key] }));
    });
  }
  return membersPromise;
}

// The request body of an action's form.
function actionBody(action, form, note) {
  const body = { action: action.action };
  const textValue = note.value.trim();
  if (textValue) body.text = textValue;
  const unit = form.querySelector('[name="unit"]');
  if (unit && unit.value) body.unit = Number(unit.value);
  const reasonField = form.querySelector('[name="reason"]');
  if (reasonField && reasonField.value.trim()) body.reason = reasonField.value.trim();
  // Members: the options selected in the list and the ticked candidates of the recommendation;
  // off-duty ones only go with their explicit "include off duty" tick.
  const memberFields = form.querySelectorAll('[name="members"]');
  if (memberFields.length) {
    const picked = [];
    for (const node of memberFields) {
      if (node.tagName === "SELECT") {
        for (const o of node.options) {
          if (o.selected) picked.push(Number(o.value));
        }
      } else if (node.checked && !node.disabled) {
        picked.push(Number(node.value));
      }
    }
    body.members = picked.filter((id, i) => picked.indexOf(id) === i);
    const overrides = Array.from(form.querySelectorAll('[name="off_duty_override"]'))
      .filter((node) => node.checked)
      .map((node) => Number(node.value));
    if (overrides.length) body.off_duty_override = overrides;
  }
  const method = form.querySelector('[name="method"]');
  if (method && method.value) body.method = method.value;
  return body;
}

/**
 * @param {Action} action
 * @param {HTMLElement | null} button
 */
function openForm(action, button) {
  for (const node of actionsBox.querySelectorAll(".is-active")) node.classList.remove("is-active");
  clear(slot);
  clearRoutes();
  if (button) button.classList.add("is-active");
  const requires = action.requires || [];
  const form = el("form", "cform action-form");
  form.noValidate = true;
  form.dataset.action = action.action;
  form.appendChild(el("h3", null, action.label));

  if (requires.includes("members")) {
    // A dispatch shows the recommendation (recommend.js): the proposed responders pre-selected,
    // their routes on the map; the full list below it is for anybody else.
    const recommended = action.action === "dispatch"
      ? recommendPanel(form, base.map, { url: config.recommend.url, incident: config.incident, text: text.recommend })
      : null;
    const holder = el("div", "cfield");
    holder.appendChild(el("span", null, text.members));
    holder.appendChild(el("span", "muted", text.loading));
    if (recommended) {
      const others = el("details", "rec-others");
      others.appendChild(el("summary", null, recommended.othersLabel));
      others.appendChild(holder);
      form.appendChild(others);
    } else {
      form.appendChild(holder);
    }
    loadMembers()
      .then((groups) => {
        clear(holder);
        holder.appendChild(el("span", null, text.members));
        holder.appendChild(select("members", groups, true));
      })
      .catch(() => {
        clear(holder);
        holder.appendChild(el("span", "field-error", text.failed));
      });
  } else if (action.action === "arrive" && config.liveMembers.length) {
    // The command room records who arrived; a responder's own click needs no choice.
    form.appendChild(field(text.members, select("members",
      config.liveMembers.map((m) => ({ value: m.id, label: `${m.name} · ${m.unit}` })), true)));
  }
  if (requires.includes("method")) {
    const methods = (action.choices && action.choices.method)
      || Object.keys(config.methods).map((key) => ({ value: key, label: config.methods[key] }));
    form.appendChild(field(text.method, select("method", methods, false)));
  }
  if (requires.includes("unit")) {
    form.appendChild(field(text.unit, select("unit", config.units.map((u) => ({ value: u.id, label: u.name })), false)));
  } else if (action.action === "accept_handover" || action.action === "return_handover") {
    // The command room decides for a named office (the only one waiting needs no choice); an
    // office's staff decide for their own unit.
    if (config.can.command && config.pendingUnits.length > 1) {
      form.appendChild(field(text.unit, unitSelect(config.pendingUnits)));
    }
  } else if (action.action === "complete" && config.can.command) {
    // The command room completes an office's part on its behalf: which office, and why.
    form.appendChild(field(`${text.unit} *`, unitSelect(config.acceptedUnits)));
    const reason = el("textarea");
    reason.name = "reason";
    reason.rows = 2;
    reason.dataset.field = "reason";
    form.appendChild(field(`${text.reason} *`, reason));
  } else if (action.action === "send_back" && config.completedUnits.length > 1) {
    // One office's part, or (no choice) every completed part.
    form.appendChild(field(text.unit, unitSelect(config.completedUnits, text.allOffices)));
  }
  const note = el("textarea");
  note.name = "text";
  note.rows = 3;
  note.dataset.field = "text";
  form.appendChild(field(requires.includes("text") ? `${text.text} *` : text.note, note));

  const message = el("p", "form-message is-error");
  message.hidden = true;
  message.setAttribute("role", "alert");
  form.appendChild(message);
  const buttons = el("div", "form-actions");
  const cancel = el("button", "btn btn-quiet", text.cancel);
  cancel.type = "button";
  cancel.addEventListener("click", () => {
    clear(slot);
    clearRoutes();
    if (button) button.classList.remove("is-active");
  });
  const submit = el("button", "btn btn-primary", action.label);
  submit.type = "submit";
  buttons.appendChild(cancel);
  buttons.appendChild(submit);
  form.appendChild(buttons);

  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const body = actionBody(action, form, note);
    submit.disabled = true;
    message.hidden = true;
    post(url(config.api.transitions, config.incident), body)
      .then((result) => {
        if (result.ok) {
          window.location.reload();
          return;
        }
        submit.disabled = false;
        message.textContent = errorMessages(result, text.failed).message;
        message.hidden = false;
        document.body.dataset.actionRefused = String(result.status);
      })
      .catch(() => {
        submit.disabled = false;
        message.textContent = text.failed;
        message.hidden = false;
      });
  });
  slot.appendChild(form);
  const first = /** @type {HTMLElement | null} */ (form.querySelector("select, textarea"));
  if (first) first.focus();
}

// A responder's open request for a transfer (the notice rendered by the page, its unit and reason
// in config.transferRequest): when the user may transfer the case now, its button opens the
// transfer form with the unit and the reason filled in.
/** @param {Action[]} actions */
function offerTransferRequest(actions) {
  const notice = document.querySelector("[data-testid='transfer-request']");
  const transfer = actions.find((a) => a.action === "transfer");
  const open = notice && /** @type {HTMLButtonElement | null} */ (notice.querySelector("[data-open-transfer]"));
  const ask = config.transferRequest;
  if (!open || !transfer || !ask) return;
  open.hidden = false;
  open.addEventListener("click", () => {
    openForm(transfer, actionsBox.querySelector('[data-action="transfer"]'));
    const unit = /** @type {HTMLSelectElement | null} */ (slot.querySelector('[name="unit"]'));
    const reason = /** @type {HTMLTextAreaElement | null} */ (slot.querySelector('[name="text"]'));
    if (unit && ask.unit !== null && ask.unit !== undefined && ask.unit !== "") unit.value = String(ask.unit);
    if (reason) reason.value = ask.reason || "";
    slot.scrollIntoView({ block: "nearest" });
  });
}

/** @param {Action[]} actions */
function renderActions(actions) {
  clear(actionsBox);
  if (!actions.length) actionsBox.appendChild(el("span", "muted", "—"));
  for (const action of actions) {
    const button = el("button", "btn btn-action", action.label);
    button.type = "button";
    button.dataset.action = action.action;
    button.addEventListener("click", () => openForm(action, button));
    actionsBox.appendChild(button);
  }
  offerTransferRequest(actions);
  document.body.dataset.actionsLoaded = String(actions.length);
}

get(url(config.api.incident, config.incident))
  .then((result) => {
    if (!result.ok) throw new Error(`detail: HTTP ${result.status}`);
    const detail = /** @type {IncidentDetail | null} */ (result.data);
    renderActions((detail && detail.actions) || []);
  })
  .catch(() => {
    clear(actionsBox);
    actionsBox.appendChild(el("span", "field-error", text.failed));
  });

// ---- reveal callers' and parties' names and phones (masked on the page; each reveal is logged) ----

function showContact(key, value) {
  const node = document.querySelector(`[data-contact="${CSS.escape(key)}"]`);
  if (node) {
    node.textContent = value;
    node.classList.add("is-revealed");
  }
}

for (const button of /** @type {NodeListOf<HTMLButtonElement>} */ (document.querySelectorAll("[data-reveal-contacts]"))) {
  button.addEventListener("click", () => {
    const party = button.dataset.party ? Number(button.dataset.party) : null;
    const body = party ? { parties: [party] } : { caller: true };
    button.disabled = true;
    post(url(config.api.revealContacts, config.incident), body).then((result) => {
      if (!result.ok || !result.data) {
        button.disabled = false;
        button.after(el("span", "field-error", errorMessages(result, text.failed).message));
        return;
      }
      const revealed = /** @type {ContactsRevealed} */ (result.data);
      const caller = revealed.caller;
      if (caller) {
        showContact("caller", [caller.name, caller.phone].join(" ").trim());
        for (const report of caller.reports) {
          showContact(`report:${report.id}`, [report.caller_name, report.caller_phone].join(" ").trim());
        }
      }
      for (const person of revealed.parties || []) {
        showContact(`party-name:${person.id}`, person.name);
        showContact(`party-phone:${person.id}`, person.phone);
      }
      button.remove();
    });
  });
}

// ---- reveal an ID number ------------------------------------------------------------------------

for (const button of /** @type {NodeListOf<HTMLButtonElement>} */ (document.querySelectorAll("[data-reveal]"))) {
  button.addEventListener("click", () => {
    // The selector says the attribute is there; the template renders the ID number beside it.
    const id = /** @type {string} */ (button.dataset.reveal);
    const target = /** @type {HTMLElement} */ (document.querySelector(`.id-number[data-party="${CSS.escape(id)}"]`));
    button.disabled = true;
    post(url(config.api.reveal, id), {}).then((result) => {
      const revealed = /** @type {Reveal | null} */ (result.data);
      if (result.ok && revealed && revealed.id_number) {
        target.textContent = revealed.id_number;
        target.classList.add("is-revealed");
        button.remove();
      } else {
        button.disabled = false;
        button.after(el("span", "field-error", errorMessages(result, text.failed).message));
      }
    });
  });
}

// ---- the SLA panel ------------------------------------------------------------------------------
//
// The SLA panel (issue 4): the orders' answers, the escalation level and the SLA clock's alarms.
// The dispatched member accepts or declines (with a reason) their order; a dispatcher may answer
// for them; the command room raises the level and acknowledges (with a note) or snoozes alarms.
// Everything, including what the user may do, comes from the API config.sla.api; after a change
// the page reloads, like the actions above. Words: config.text.sla.

const SNOOZE_MINUTES = [5, 10, 15, 30, 60, 120];

function slaPanel(card, urls, words) {
  const part = (name) => card.querySelector(`[data-sla="${name}"]`);
  const formSlot = part("form");

  // The API's URLs of an order or an alarm are reversed with 0 for its id.
  function idUrl(template, id) {
    return String(template).replace("/0/", `/${encodeURIComponent(id)}/`);
  }

  function button(label, className, onClick) {
    const node = el("button", `btn btn-small ${className || "btn-quiet"}`, label);
    node.type = "button";
    node.addEventListener("click", onClick);
    return node;
  }

  function labelled(label, control) {
    const wrap = el("label", "cfield");
    wrap.appendChild(el("span", null, label));
    wrap.appendChild(control);
    return wrap;
  }

  // Posts; reloads on success, else resolves to the server's message.
  function send(target, body) {
    return post(target, body)
      .then((result) => {
        if (result.ok) {
          window.location.reload();
          return new Promise(() => {});
        }
        document.body.dataset.slaRefused = String(result.status);
        return errorMessages(result, words.failed).message;
      })
      .catch(() => words.failed);
  }

  // A small form under the card: its fields, a submit that posts `body()` to `target`.
  function openSlaForm(title, fields, submitLabel, target, body) {
    clear(formSlot);
    const form = el("form", "cform action-form");
    form.noValidate = true;
    form.appendChild(el("h3", null, title));
    for (const f of fields) form.appendChild(f);
    const message = el("p", "form-message is-error");
    message.hidden = true;
    message.setAttribute("role", "alert");
    form.appendChild(message);
    const buttons = el("div", "form-actions");
    buttons.appendChild(button(words.cancel, "btn-quiet", () => clear(formSlot)));
    const submit = el("button", "btn btn-primary", submitLabel);
    submit.type = "submit";
    buttons.appendChild(submit);
    form.appendChild(buttons);
    form.addEventListener("submit", (event) => {
      event.preventDefault();
      submit.disabled = true;
      message.hidden = true;
      send(target, body()).then((error) => {
        submit.disabled = false;
        message.textContent = error;
        message.hidden = false;
      });
    });
    formSlot.appendChild(form);
    const first = /** @type {HTMLElement | null} */ (form.querySelector("select, textarea, input"));
    if (first) first.focus();
  }

  function textarea(name) {
    const node = el("textarea");
    node.name = name;
    node.rows = 2;
    node.dataset.field = name;
    return node;
  }

  function selectOf(name, values) {
    const node = el("select");
    node.name = name;
    node.dataset.field = name;
    for (const value of values) {
      const option = el("option", null, value);
      option.value = String(value);
      node.appendChild(option);
    }
    return node;
  }

  // ---- escalation level ---------------------------------------------------------------------

  /** @param {IncidentDispatch} summary */
  function renderLevel(summary) {
    part("level").textContent = format(words.level, { level: summary.level });
    // "2人未确认": orders dispatched and not accepted yet (the SLA clock sends them again).
    const unconfirmed = part("unconfirmed");
    unconfirmed.hidden = !summary.unconfirmed;
    unconfirmed.textContent = summary.unconfirmed ? format(words.unconfirmed, { count: summary.unconfirmed }) : "";
    const row = clear(part("level-row"));
    if (!summary.can_raise_level) return;
    row.appendChild(button(words.raise, "btn-action", () => {
      const levels = [];
      for (let n = summary.level + 1; n <= summary.max_level; n += 1) levels.push(n);
      const level = selectOf("level", levels);
      const note = textarea("note");
      openSlaForm(words.raise, [labelled(words.toLevel, level), labelled(words.note, note)], words.raise,
        urls.levelUrl, () => ({ level: Number(level.value), note: note.value.trim() }));
    }));
  }

  // ---- orders --------------------------------------------------------------------------------

  // Only the orders with something to answer or to know beyond the orders list: a declined one,
  // an overdue one, an arrival far from the scene.
  /** @param {IncidentOrder} order */
  function worthShowing(order) {
    return order.can_accept || order.can_decline || order.can_stand_down || order.can_remind ||
      order.arrival_flagged ||
      order.state === "declined" || order.state === "stood_down" ||
      (order.overdue_escalated_at && (order.state === "dispatched" || order.state === "accepted"));
  }

  // ---- reaching a person: was each one told, did they see it (issue 10) ----------------------

  // "Told 14:02 · seen 14:03", "Told 14:02 · not seen", "Told 14:02 · SMS sent 14:03",
  // "Told 14:02 · SMS retrying (3 attempts)" for one message (`summary.messages`).
  /** @param {MemberMessageStatus} message */
  function reachedText(message) {
    const parts = [format(words.toldAt, { time: time(message.created_at) })];
    if (message.status === "seen") {
      parts.push(format(words.seenAt, { time: time(message.read_at) }));
    } else if (message.status === "sent") {
      parts.push(format(words.smsSent, { time: time(message.sent_at) }));
    } else if (message.status === "retrying") {
      parts.push(format(words.smsRetrying, { attempts: message.attempts }));
    } else {
      parts.push(words.notSeen);
      if (message.status === "skipped") parts.push(words.smsSkipped);
    }
    return parts.join(" · ");
  }

  /** @param {MemberMessageStatus} message @param {string} [prefix] */
  function reachedNode(message, prefix) {
    const node = el("div", `row-meta${message.status === "seen" || message.status === "sent" ? "" : " row-warn"}`,
      (prefix ? `${prefix}: ` : "") + reachedText(message));
    node.dataset.reached = message.status;
    node.dataset.message = String(message.id);
    return node;
  }

  // Declining or standing down an order: a reason is required.
  /** @param {string} label @param {IncidentOrder} order @param {string} target */
  function reasonForm(label, order, target) {
    const reason = textarea("reason");
    openSlaForm(`${label} · ${order.member.name}`, [labelled(`${words.reason} *`, reason)], label,
      idUrl(target, order.id), () => ({ reason: reason.value.trim() }));
  }

  /** @param {IncidentDispatch} summary */
  function renderOrders(summary) {
    const list = clear(part("orders"));
    /** @type {Record<number, MemberMessageStatus>} */
    const told = {};
    for (const message of summary.messages || []) {
      if (message.kind === "order" && message.order !== null) told[message.order] = message;
    }
    for (const order of summary.orders.filter(worthShowing)) {
      const item = el("li");
      item.dataset.order = String(order.id);
      const head = el("div", "row-head");
      head.appendChild(el("strong", null, order.member.name));
      head.appendChild(el("span", `state state-${order.state}`, order.state_display));
      item.appendChild(head);
      const live = order.state === "dispatched" || order.state === "accepted";
      const meta = [order.unit];
      if (order.arrive_by && live) meta.push(format(words.arriveBy, { time: time(order.arrive_by) }));
      item.appendChild(el("div", "row-meta", meta.join(" · ")));
      if (told[order.id]) item.appendChild(reachedNode(told[order.id]));
      if (order.reminded_at && order.state === "dispatched") {
        item.appendChild(el("div", "row-meta row-warn", format(words.remindedAt, { time: time(order.reminded_at) })));
      }
      if (order.overdue_escalated_at && live) item.appendChild(el("span", "badge badge-warn", words.overdue));
      if (order.arrival_flagged) {
        item.appendChild(el("div", "row-text row-warn",
          format(words.far, { distance: Math.round(/** @type {number} a flagged arrival has its distance */ (order.arrival_distance_m)) })));
      }
      if (order.decline_reason) item.appendChild(el("div", "row-text row-warn", order.decline_reason));
      if (order.state === "stood_down" && order.stand_down_reason) {
        item.appendChild(el("div", "row-text", format(words.stoodDown, { reason: order.stand_down_reason })));
      }
      const answer = (target) => () => {
        send(idUrl(target, order.id), {}).then((error) => item.appendChild(el("span", "field-error", error)));
      };
      const actions = el("div", "form-actions");
      if (order.can_accept) actions.appendChild(button(words.accept, "btn-primary", answer(urls.acceptUrl)));
      if (order.can_remind) {
        // One tap: the order is sent again to the member's app (at most every few minutes: 429).
        const remind = actions.appendChild(button(words.remind, "btn-action", answer(urls.remindUrl)));
        remind.dataset.orderAction = "remind";
      }
      if (order.can_decline) {
        actions.appendChild(button(words.decline, "btn-quiet", () => reasonForm(words.decline, order, urls.declineUrl)));
      }
      if (order.can_stand_down) {
        const standDown = actions.appendChild(button(words.standDown, "btn-quiet",
          () => reasonForm(words.standDown, order, urls.standDownUrl)));
        standDown.dataset.orderAction = "stand-down";
      }
      if (actions.childNodes.length) item.appendChild(actions);
      list.appendChild(item);
    }
  }

  // ---- replacements: the next candidate of the same rule for a declined or late order --------

  /** @param {IncidentDispatch} summary */
  function renderReplacements(summary) {
    const list = clear(part("replacements"));
    const proposals = summary.replacements || [];
    if (proposals.length) list.appendChild(el("li", "rows-heading", words.replacements));
    for (const proposal of proposals) {
      const item = el("li", "replacement");
      item.dataset.replaces = String(proposal.order);
      const why = proposal.why === "declined" ? words.inPlaceOfDeclined : words.inPlaceOfOverdue;
      item.appendChild(el("div", "row-head", format(why, { name: proposal.member.name })));
      const c = /** @type {ReplacementCandidate | null} */ (proposal.candidate);
      if (!c) {
        item.appendChild(el("div", "row-text row-warn", words.noReplacement));
        list.appendChild(item);
        continue;
      }
      const meta = [c.force_display, c.unit];
      if (c.travel_seconds !== null && c.travel_seconds !== undefined) {
        meta.push(format(words.eta, { minutes: Math.max(1, Math.round(c.travel_seconds / 60)) }));
      }
      item.appendChild(el("div", "row-meta", `${c.name} · ${meta.join(" · ")}`));
      if (c.reason) item.appendChild(el("div", "row-text", c.reason));
      if (proposal.can_send) {
        const actions = el("div", "form-actions");
        actions.appendChild(button(format(words.send, { name: c.name }), "btn-primary", () => {
          send(idUrl(urls.replaceUrl, proposal.order), { member: c.id, method: "phone" })
            .then((error) => item.appendChild(el("span", "field-error", error)));
        })).dataset.replacement = String(c.id);
        item.appendChild(actions);
      }
      list.appendChild(item);
    }
  }

  // ---- alarms --------------------------------------------------------------------------------

  /** @param {IncidentDispatch} summary */
  function renderAlarms(summary) {
    const list = clear(part("alarms"));
    if (!summary.alarms.length) list.appendChild(el("li", "muted", words.noAlarms));
    for (const alarm of summary.alarms) {
      const item = el("li");
      item.dataset.alarm = String(alarm.id);
      item.dataset.state = alarm.state;
      const head = el("div", "row-head");
      head.appendChild(el("strong", null, alarm.kind_display + (alarm.member ? ` · ${alarm.member.name}` : "") +
        (alarm.handover ? ` · ${alarm.handover.unit}` : "")));
      head.appendChild(el("span", `state state-${alarm.state}`, alarm.state_display));
      item.appendChild(head);
      item.appendChild(el("div", "row-meta", time(alarm.raised_at, true)));
      const names = alarm.notified.map((m) => m.name);
      item.appendChild(el("div", "row-meta",
        names.length ? format(words.told, { names: names.join("、") }) : words.nobodyTold));
      for (const message of summary.messages || []) {
        if (message.alarm === alarm.id) item.appendChild(reachedNode(message, message.member.name));
      }
      if (alarm.state === "snoozed" && alarm.snoozed_until) {
        item.appendChild(el("div", "row-meta", format(words.snoozedUntil, { time: time(alarm.snoozed_until) })));
      }
      if (alarm.note) item.appendChild(el("div", "row-text", alarm.note));
      if (summary.can_handle_alarms && alarm.state !== "acknowledged") {
        const actions = el("div", "form-actions");
        actions.appendChild(button(words.acknowledge, "btn-primary", () => {
          const note = textarea("note");
          openSlaForm(`${words.acknowledge} · ${alarm.kind_display}`, [labelled(`${words.note} *`, note)],
            words.acknowledge, idUrl(urls.acknowledgeUrl, alarm.id), () => ({ note: note.value.trim() }));
        }));
        actions.appendChild(button(words.snooze, "btn-quiet", () => {
          const minutes = selectOf("minutes", SNOOZE_MINUTES);
          openSlaForm(`${words.snooze} · ${alarm.kind_display}`, [labelled(words.minutes, minutes)],
            words.snooze, idUrl(urls.snoozeUrl, alarm.id), () => ({ minutes: Number(minutes.value) }));
        }));
        item.appendChild(actions);
      }
      list.appendChild(item);
    }
  }

  get(urls.api)
    .then((result) => {
      if (!result.ok) throw new Error(`dispatch summary: HTTP ${result.status}`);
      const summary = /** @type {IncidentDispatch} */ (result.data);
      renderLevel(summary);
      renderOrders(summary);
      renderReplacements(summary);
      renderAlarms(summary);
      document.body.dataset.slaLoaded = "1";
    })
    .catch(() => {
      clear(part("alarms")).appendChild(el("li", "field-error", words.failed));
    });
}

const slaCard = document.getElementById("sla-card");
if (slaCard) slaPanel(slaCard, config.sla, text.sla);
