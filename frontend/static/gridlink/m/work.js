// The member's orders: live ones, then those finished in the last 24 hours, one card each with the
// case, the countdown, the distance and the buttons; the selected card also shows the description
// and the map. Built with DOM calls and textContent only: descriptions and addresses are typed by
// the public.
//
// Cards are keyed by order and rebuilt only when what they show changed; what the member typed in
// an open form is carried over to the rebuilt card. Countdowns and distances change every second
// without a rebuild (`tick`).
//
// An action waiting in the outbox (state.queue, not yet sent) is not offered again on its card: its
// button is disabled (a note may be added again); the card counts what waits (data-queued).
//
// Test hooks: article[data-testid="order"][data-order][data-state][data-live][data-queued]; buttons
// [data-action]; the form form[data-form]; the notice [data-testid="notice"][data-kind];
// the countdown [data-testid="countdown"][data-state]; the map [data-testid="order-map"].

import { countdown } from "./countdown.js";
import { fill, formatDistance, formatTime } from "./format.js";
import { distanceMetres } from "./geo.js";
import { amapUri, geoUri } from "./nav.js";

// Actions that ask for a text first, and the field the API takes it in.
const FORMS = { decline: "reason", report_on_site: "text", resolve: "text", note: "text" };
const MAX_TEXT = { decline: 500, report_on_site: 4000, resolve: 4000, note: 4000 };

function el(tag, props = {}, children = []) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(props)) {
    if (value === undefined || value === null || value === false) continue;
    if (key === "className") node.className = value;
    else if (key === "text") node.textContent = String(value);
    else if (key === "dataset") Object.assign(node.dataset, value);
    else node.setAttribute(key, value === true ? "" : String(value));
  }
  for (const child of children) {
    if (child) node.append(child);
  }
  return node;
}

/**
 * createWorkView({live, finished, config, text, onAction(item, action, fields), onSelect(id),
 * onForm(id, action | null), map: {place(slot, item)}}) → {render(state), tick(now, fix)}.
 * `state`: {work, selected, notices, form, busy, queue}.
 */
export function createWorkView({ live, finished, config, text, onAction, onSelect, onForm, map }) {
  const cards = new Map(); // order id → {node, signature, item}
  let member = null;

  function buttonLabel(action, fallback) {
    return text.buttons[action] || fallback || action;
  }

  function scenePart(item) {
    const parts = [];
    const { order } = item;
    if (item.live && order.state !== "arrived") {
      parts.push(el("p", { className: "m-countdown", dataset: { testid: "countdown", state: "none" } }));
      if (order.arrive_by) {
        parts.push(el("p", { className: "m-small", text: fill(text.arriveBy, { time: time(order.arrive_by) }) }));
      }
      parts.push(el("p", { className: "m-distance", dataset: { testid: "distance" } }));
    }
    if (order.state === "arrived") {
      const bits = [fill(text.arrivedAt, { time: time(order.arrived_at) })];
      if (order.arrival_distance_m !== null) {
        bits.push(fill(text.arrivalDistance, { distance: formatDistance(order.arrival_distance_m, text) }));
      }
      parts.push(el("p", { className: "m-arrival", text: bits.join(" · "), dataset: { testid: "arrival" } }));
      if (order.arrival_flagged) {
        parts.push(el("p", { className: "m-warn", text: text.arrivalFlagged }));
      }
    }
    if (order.state === "declined") {
      parts.push(el("p", { className: "m-small", text: fill(text.declined, { reason: order.decline_reason }) }));
    }
    if (order.state === "stood_down") {
      parts.push(el("p", { className: "m-small", text: fill(text.stoodDown, { reason: order.stand_down_reason }) }));
    }
    return parts;
  }

  function time(iso) {
    return formatTime(iso, config.timeZone);
  }

  function actionButtons(item, busy, waiting) {
    const { order, incident } = item;
    const buttons = [];
    const button = (action, label, className) =>
      el("button", {
        type: "button",
        className: `m-btn ${className}`,
        text: label,
        disabled: busy || (action !== "note" && waiting.includes(action)),
        dataset: { action, queued: waiting.includes(action) ? "1" : undefined },
      });
    // The next step first: accept, the on-site moves, then decline and the note.
    if (order.can_accept) buttons.push(button("accept", buttonLabel("accept"), "m-btn-go"));
    const note = item.actions.find((a) => a.action === "note");
    for (const a of item.actions) {
      if (a !== note) buttons.push(button(a.action, buttonLabel(a.action, a.label), "m-btn-main"));
    }
    if (order.can_decline) buttons.push(button("decline", buttonLabel("decline"), "m-btn-stop"));
    if (note) buttons.push(button("note", buttonLabel("note", note.label), "m-btn-plain"));
    if (item.live && incident.location) {
      const [lon, lat] = incident.location;
      const name = incident.address_text || fill(text.case, { number: incident.number });
      buttons.push(el("a", {
        className: "m-btn m-btn-nav",
        href: amapUri(lon, lat, name, member ? member.travel_mode : "car"),
        target: "_blank",
        rel: "noopener",
        text: buttonLabel("navigate"),
        dataset: { testid: "navigate" },
      }));
      buttons.push(el("a", {
        className: "m-btn m-btn-plain",
        href: geoUri(lon, lat, name),
        text: buttonLabel("otherMaps"),
        dataset: { testid: "geo-link" },
      }));
    }
    return buttons.length ? el("div", { className: "m-actions" }, buttons) : null;
  }

  function actionForm(item, action) {
    const field = FORMS[action];
    const id = `m-form-${item.order.id}-${action}`;
    const textarea = el("textarea", {
      id,
      name: field,
      rows: 3,
      required: true,
      maxlength: MAX_TEXT[action],
      className: "m-textarea",
    });
    const form = el("form", { className: "m-form", dataset: { form: action } }, [
      el("label", { for: id, className: "m-label", text: text.formLabels[action] }),
      textarea,
      el("div", { className: "m-actions" }, [
        el("button", { type: "submit", className: "m-btn m-btn-main", text: text.send }),
        el("button", { type: "button", className: "m-btn m-btn-plain", text: text.cancel, dataset: { cancel: "1" } }),
      ]),
    ]);
    form.addEventListener("submit", (event) => {
      event.preventDefault();
      const value = textarea.value.trim();
      if (!value) {
        textarea.focus();
        return;
      }
      onAction(item, action, { text: value });
    });
    form.querySelector("[data-cancel]").addEventListener("click", () => onForm(item.order.id, null));
    return form;
  }

  function buildCard(item, state) {
    const { order, incident } = item;
    const selected = state.selected === order.id;
    const formAction = state.form && state.form.orderId === order.id ? state.form.action : null;
    const busy = state.busy === order.id;
    const waiting = queuedActions(state, order.id);
    const notice = state.notices[order.id];
    const stateLabel = config.orderStates[order.state] || order.state_display;
    const head = el("button", {
      type: "button",
      className: "m-card-head",
      "aria-expanded": selected ? "true" : "false",
      dataset: { select: "1" },
    }, [
      el("span", { className: "m-cat", text: incident.category }),
      incident.major ? el("span", { className: "m-major", text: text.major }) : null,
      el("span", { className: "m-state", text: stateLabel, dataset: { state: order.state } }),
      el("span", { className: "m-number", text: incident.number }),
    ]);
    head.addEventListener("click", () => onSelect(order.id));
    const card = el("article", {
      className: ["m-card", item.live ? "is-live" : "is-finished", selected ? "is-selected" : "",
        incident.major ? "is-major" : ""].join(" ").trim(),
      dataset: { testid: "order", order: order.id, incident: incident.id, state: order.state, live: item.live ? "1" : "0",
        queued: String(waiting.length) },
    }, [
      head,
      el("p", { className: "m-address", text: incident.address_text || "—" }),
      ...scenePart(item),
    ]);
    // The buttons come before the description and the map: no scrolling to act.
    if (formAction) {
      card.append(actionForm(item, formAction));
    } else {
      const actions = actionButtons(item, busy, waiting);
      if (actions) {
        actions.addEventListener("click", (event) => {
          const target = event.target.closest("button[data-action]");
          if (!target || target.disabled) return;
          const action = target.dataset.action;
          if (FORMS[action]) onForm(order.id, action);
          else onAction(item, action, {});
        });
        card.append(actions);
      }
    }
    if (notice) {
      card.append(el("p", {
        className: `m-notice is-${notice.kind}`,
        role: notice.kind === "error" ? "alert" : "status",
        text: notice.text,
        dataset: { testid: "notice", kind: notice.kind },
      }));
    }
    if (selected) {
      card.append(el("p", { className: "m-desc", text: incident.description, dataset: { testid: "description" } }));
      if (incident.location) card.append(el("div", { className: "m-map-slot" }));
    }
    return card;
  }

  // What the member typed in an open form survives the card's rebuild (a refresh, a notice).
  // Returns whether the same form was open before.
  function keepDraft(old, fresh) {
    const draft = old.querySelector("form[data-form] textarea");
    const form = draft && draft.form.dataset.form;
    const target = form && fresh.querySelector(`form[data-form="${form}"] textarea`);
    if (!target) return false;
    target.value = draft.value;
    if (document.activeElement === draft) {
      const [start, end] = [draft.selectionStart, draft.selectionEnd];
      queueMicrotask(() => {
        target.focus();
        target.setSelectionRange(start, end);
      });
    }
    return true;
  }

  function queuedActions(state, id) {
    return (state.queue || []).filter((entry) => entry.orderId === id).map((entry) => entry.action);
  }

  function signature(item, state) {
    const id = item.order.id;
    return JSON.stringify([
      queuedActions(state, id),
      item,
      state.selected === id,
      state.form && state.form.orderId === id ? state.form.action : null,
      state.busy === id,
      state.notices[id] || null,
      member ? member.travel_mode : null,
    ]);
  }

  function renderList(container, items, state, emptyText) {
    const wanted = new Set(items.map((item) => item.order.id));
    for (const [id, card] of cards) {
      if (!wanted.has(id) && card.node.parentNode === container) {
        card.node.remove();
        cards.delete(id);
      }
    }
    let previous = null;
    let opened = null; // the textarea of a form just opened: it gets the focus
    for (const item of items) {
      const id = item.order.id;
      const known = cards.get(id);
      const sig = signature(item, state);
      let node = known ? known.node : null;
      if (!known || known.signature !== sig) {
        const fresh = buildCard(item, state);
        const textarea = fresh.querySelector("form[data-form] textarea");
        if (textarea && !(node && keepDraft(node, fresh))) {
          opened = textarea;
        }
        if (node) node.replaceWith(fresh);
        node = fresh;
      }
      cards.set(id, { node, signature: sig, item });
      const expected = previous ? previous.nextSibling : container.firstChild;
      if (expected !== node) container.insertBefore(node, expected);
      previous = node;
    }
    for (const stale of container.querySelectorAll(".m-empty")) stale.remove();
    if (!items.length) container.append(el("p", { className: "m-empty", text: emptyText }));
    if (opened) opened.focus();
  }

  return {
    render(state) {
      const work = state.work;
      if (!work) return;
      member = work.member;
      renderList(live, work.orders.filter((o) => o.live), state, text.noOrders);
      renderList(finished, work.orders.filter((o) => !o.live), state, text.noFinished);
      const selected = cards.get(state.selected);
      if (selected) {
        const slot = selected.node.querySelector(".m-map-slot");
        if (slot) map.place(slot, selected.item);
      }
    },
    /** Countdowns and distances at `now` (ms, server time) from `fix` (the phone's, or null). */
    tick(now, fix) {
      const shared = member && member.position ? member.position : null;
      for (const { node, item } of cards.values()) {
        const clock = node.querySelector('[data-testid="countdown"]');
        if (clock) {
          const deadline = item.order.arrive_by ? Date.parse(item.order.arrive_by) : null;
          const c = countdown(deadline, now, text, config.amberSeconds);
          if (clock.textContent !== c.text) clock.textContent = c.text;
          clock.dataset.state = c.state;
        }
        const distance = node.querySelector('[data-testid="distance"]');
        if (distance) {
          distance.textContent = distanceText(item, fix, shared);
        }
      }
    },
  };

  function distanceText(item, fix, shared) {
    const bits = [];
    const location = item.incident.location;
    const from = fix || shared;
    if (location && from) {
      const metres = distanceMetres(from, { lon: location[0], lat: location[1] });
      bits.push(fill(fix ? text.distance : text.distanceFromShared, { distance: formatDistance(metres, text) }));
    }
    if (item.order.travel_seconds) {
      bits.push(fill(text.eta, { minutes: Math.max(1, Math.ceil(item.order.travel_seconds / 60)) }));
    }
    return bits.join(" · ");
  }
}
