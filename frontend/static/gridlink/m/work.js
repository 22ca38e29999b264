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
// The forms of the scene: the on-site report carries up to three photos (picked or taken with the
// camera, previewed, each removable; checked by photos.js — the files are kept as picked, never
// re-encoded, so their EXIF location reaches the server); "register a person" checks the ID number
// as the server does (idcard.js) before anything is queued; "ask for a transfer" offers the units
// of the page's `transfer_units`, grouped. The selected card lists the people registered (ID numbers
// masked, as the server answers them) and the photos already sent.
//
// Test hooks: article[data-testid="order"][data-order][data-state][data-live][data-queued]; buttons
// [data-action]; the form form[data-form]; the notice [data-testid="notice"][data-kind];
// the countdown [data-testid="countdown"][data-state]; the map [data-testid="order-map"]; the
// photo previews [data-testid="photo-previews"] li, their problems [data-testid="photo-problems"];
// a field's problem [data-problem="<field>"]; the lists [data-testid="parties"] li and
// [data-testid="photos"] img.

import { countdown } from "./countdown.js";
import { el } from "./dom.js";
import { fill, formatDistance, formatTime } from "./format.js";
import { distanceMetres } from "./geo.js";
import { idNumberProblem, normaliseIdNumber, normalisePhone, personProblems } from "./idcard.js";
import { amapUri, geoUri } from "./nav.js";
import { addPhotos, megabytes } from "./photos.js";

// Actions that open a form first: the field the API takes the text in and its longest length; the
// report also takes photos, the transfer request a unit; registering a person asks their details.
const FORMS = {
  decline: { text: "reason", max: 500 },
  report_on_site: { text: "text", max: 4000, photos: true },
  resolve: { text: "text", max: 4000 },
  note: { text: "text", max: 4000 },
  request_transfer: { text: "text", max: 4000, unit: true },
  register_party: { person: true },
};
const PERSON_FIELDS = [
  { name: "name", type: "text", max: 64, required: true, autocomplete: "off" },
  { name: "phone", type: "tel", max: 20, inputmode: "tel", autocomplete: "off" },
  { name: "id_number", type: "text", max: 18, autocomplete: "off", autocapitalize: "characters", spellcheck: "false" },
];

// The API's answers, as its OpenAPI document declares them (scripts/api-types): GET api/v1/m/work/.
/** @typedef {import("../../../types/api.js").components["schemas"]["WorkItem"]} WorkItem */

// Actions a member may queue again while one waits: more notes, more people.
const REPEATABLE = new Set(["note", "register_party"]);

/**
 * createWorkView({live, finished, config, text, onAction(item, action, fields), onSelect(id),
 * onForm(id, action | null), map: {place(slot, item)}}) → {render(state), tick(now, fix)}.
 * `state`: {work, selected, notices, form, busy, queue}.
 *
 * @param {object} options
 * @param {HTMLElement} options.live
 * @param {HTMLElement} options.finished
 * @param {any} options.config the page's configuration (#m-config)
 * @param {any} options.text its words
 * @param {(item: WorkItem, action: string, fields?: object) => void} options.onAction
 * @param {(id: number) => void} options.onSelect
 * @param {(id: number, action: string | null) => void} options.onForm
 * @param {{place(slot: HTMLElement, item: WorkItem): void}} options.map
 * @param {(item: WorkItem, what: object) => void} [options.onReveal] "Call": reveal a number, then dial it
 */
export function createWorkView({ live, finished, config, text, onAction, onSelect, onForm, map, onReveal = () => {} }) {
  const cards = new Map(); // order id → {node, signature, item}
  const photoDrafts = new Map(); // order id → the photo records picked for its report, with preview URLs
  let member = null;
  const photoLimits = { maxCount: config.photo_max_count || 3, maxBytes: config.photo_max_bytes };

  function buttonLabel(action, fallback) {
    return text.buttons[action] || fallback || action;
  }

  /** @param {WorkItem} item */
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

  /** @param {WorkItem} item */
  function actionButtons(item, busy, waiting) {
    const { order, incident } = item;
    const buttons = [];
    const button = (action, label, className) =>
      el("button", {
        type: "button",
        className: `m-btn ${className}`,
        text: label,
        disabled: busy || (!REPEATABLE.has(action) && waiting.includes(action)),
        dataset: { action, queued: waiting.includes(action) ? "1" : undefined },
      });
    // The next step first: accept, the on-site moves, then decline and the note.
    if (order.can_accept) buttons.push(button("accept", buttonLabel("accept"), "m-btn-go"));
    const note = item.actions.find((a) => a.action === "note");
    for (const a of item.actions) {
      if (a === note) continue;
      // Asking for a transfer is the way out, not the next step: a plain button.
      buttons.push(button(a.action, buttonLabel(a.action, a.label), a.action === "request_transfer" ? "m-btn-plain" : "m-btn-main"));
    }
    // The people involved are registered on the scene (or once the arrival waits to be sent).
    if (item.live && (order.state === "arrived" || waiting.includes("arrive"))) {
      buttons.push(button("register_party", buttonLabel("register_party"), "m-btn-plain"));
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

  function textField(id, spec) {
    return el("textarea", { id, name: spec.text, rows: 3, required: true, maxlength: spec.max, className: "m-textarea" });
  }

  function problemLine(field) {
    return el("p", { className: "m-field-problem", role: "alert", hidden: true, dataset: { problem: field } });
  }

  function showProblem(form, field, message) {
    const line = form.querySelector(`[data-problem="${field}"]`);
    if (!line) return;
    line.textContent = message || "";
    line.hidden = !message;
  }

  // ---- the report's photos: picked (or taken), previewed, removable; kept as picked ----------------

  function photoDraft(orderId) {
    if (!photoDrafts.has(orderId)) photoDrafts.set(orderId, []);
    return photoDrafts.get(orderId);
  }

  function dropPhotoDraft(orderId) {
    for (const photo of photoDrafts.get(orderId) || []) URL.revokeObjectURL(photo.preview);
    photoDrafts.delete(orderId);
  }

  /** @param {WorkItem} item */
  function photoPart(item, id) {
    const orderId = item.order.id;
    const input = el("input", { id, type: "file", name: "photos", accept: "image/*", multiple: true,
      className: "m-file" }); // no `capture`: it would hide the gallery on Android and drop `multiple`
    const pick = el("label", { for: id, className: "m-btn m-btn-plain m-photo-pick", text: text.addPhotos,
      dataset: { testid: "photo-pick" } });
    const previews = el("ul", { className: "m-photos", dataset: { testid: "photo-previews" } });
    const problems = el("p", { className: "m-field-problem", role: "alert", hidden: true, dataset: { testid: "photo-problems" } });

    function draw() {
      const draft = photoDraft(orderId);
      previews.replaceChildren(...draft.map((photo, n) => {
        const remove = el("button", { type: "button", className: "m-btn m-btn-stop m-photo-remove", text: text.removePhoto,
          "aria-label": `${text.removePhoto} ${photo.name}`, dataset: { remove: String(n) } });
        remove.addEventListener("click", () => {
          const [gone] = draft.splice(n, 1);
          URL.revokeObjectURL(gone.preview);
          problems.hidden = true;
          draw();
        });
        return el("li", { className: "m-photo" }, [
          el("img", { src: photo.preview, alt: fill(text.photoAlt, { n: n + 1 }) }), remove]);
      }));
      const full = draft.length >= photoLimits.maxCount;
      input.disabled = full;
      pick.classList.toggle("is-disabled", full);
      pick.setAttribute("aria-disabled", full ? "true" : "false");
    }

    input.addEventListener("change", () => {
      const draft = photoDraft(orderId);
      const { photos, problems: refused } = addPhotos(draft, [...input.files], photoLimits);
      for (const photo of photos.slice(draft.length)) {
        photo.preview = URL.createObjectURL(photo.blob);
        draft.push(photo);
      }
      input.value = ""; // the same photo may be picked again after removing it
      const messages = refused.map((p) => fill(text.photoProblems[p.code], {
        name: p.name, n: photoLimits.maxCount, max: megabytes(photoLimits.maxBytes || 0) }));
      problems.textContent = messages.join(" ");
      problems.hidden = messages.length === 0;
      draw();
    });
    draw();
    return el("div", { className: "m-photo-part" }, [
      el("p", { className: "m-label", text: fill(text.photos, { n: photoLimits.maxCount }) }),
      previews, input, pick, problems]);
  }

  // ---- the unit of a transfer request, grouped as the plan hands cases on --------------------------

  function unitSelect(id) {
    const select = el("select", { id, name: "unit", required: true, className: "m-select" },
      [el("option", { value: "", text: text.chooseUnit })]);
    const groups = new Map();
    for (const unit of config.transfer_units || []) {
      if (!groups.has(unit.group)) {
        const group = el("optgroup", { label: (config.transfer_groups || {})[unit.group] || unit.group });
        groups.set(unit.group, group);
        select.append(group);
      }
      groups.get(unit.group).append(el("option", { value: String(unit.id), text: `${unit.name} · ${unit.kind_display}` }));
    }
    return select;
  }

  // ---- a person involved ----------------------------------------------------------------------------

  function personFields(prefix) {
    const parts = [];
    for (const field of PERSON_FIELDS) {
      const id = `${prefix}-${field.name}`;
      parts.push(
        el("label", { for: id, className: "m-label", text: text.person[field.name] }),
        el("input", { id, name: field.name, type: field.type, maxlength: field.max, required: field.required,
          inputmode: field.inputmode, autocomplete: field.autocomplete, autocapitalize: field.autocapitalize,
          spellcheck: field.spellcheck, className: "m-input" }),
        problemLine(field.name),
      );
    }
    const roleId = `${prefix}-role`;
    parts.push(
      el("label", { for: roleId, className: "m-label", text: text.person.role }),
      el("select", { id: roleId, name: "role", className: "m-select" },
        (config.party_roles || []).map((role) => el("option", { value: role.value, text: role.label }))),
    );
    return parts;
  }

  function personOf(form) {
    return {
      name: form.elements.name.value.trim(),
      phone: normalisePhone(form.elements.phone.value),
      id_number: normaliseIdNumber(form.elements.id_number.value),
      role: form.elements.role.value,
    };
  }

  function checkPerson(form) {
    const problems = personProblems(personOf(form));
    for (const field of PERSON_FIELDS) {
      showProblem(form, field.name, problems[field.name] ? text.personProblems[problems[field.name]] : "");
    }
    const first = PERSON_FIELDS.find((field) => problems[field.name]);
    return first ? form.elements[first.name] : null;
  }

  /** @param {WorkItem} item */
  function actionForm(item, action) {
    const spec = FORMS[action];
    const id = `m-form-${item.order.id}-${action}`;
    const parts = [];
    if (spec.unit) {
      parts.push(el("label", { for: `${id}-unit`, className: "m-label", text: text.transferUnit }), unitSelect(`${id}-unit`));
    }
    if (spec.text) {
      parts.push(el("label", { for: id, className: "m-label", text: text.formLabels[action] }), textField(id, spec));
    }
    if (spec.photos) parts.push(photoPart(item, `${id}-photos`));
    if (spec.person) parts.push(...personFields(id));
    const form = el("form", { className: "m-form", dataset: { form: action }, novalidate: true }, [
      ...parts,
      el("div", { className: "m-actions" }, [
        el("button", { type: "submit", className: "m-btn m-btn-main", text: text.send }),
        el("button", { type: "button", className: "m-btn m-btn-plain", text: text.cancel, dataset: { cancel: "1" } }),
      ]),
    ]);
    if (spec.person) {
      // The ID number is checked as soon as all 18 characters are typed (and again on sending) —
      // while typing, not on leaving the field: a message vanishing as the member taps "send"
      // would move the button from under the finger.
      const idField = form.elements.id_number;
      idField.addEventListener("input", () => {
        const id = normaliseIdNumber(idField.value);
        const problem = id.length === 18 ? idNumberProblem(id) : null;
        showProblem(form, "id_number", problem ? text.personProblems[problem] : "");
      });
    }
    form.addEventListener("submit", (event) => {
      event.preventDefault();
      const fields = {};
      if (spec.person) {
        const wrong = checkPerson(form);
        if (wrong) {
          wrong.focus();
          return;
        }
        fields.person = personOf(form);
      }
      if (spec.unit) {
        const select = form.elements.unit;
        if (!select.value) {
          select.focus();
          return;
        }
        fields.unit = Number(select.value);
        fields.unitName = select.selectedOptions[0].textContent;
      }
      if (spec.text) {
        const textarea = form.elements[spec.text];
        fields.text = textarea.value.trim();
        if (!fields.text) {
          textarea.focus();
          return;
        }
      }
      if (spec.photos) fields.photos = photoDraft(item.order.id).map(({ name, type, size, blob }) => ({ name, type, size, blob }));
      onAction(item, action, fields);
    });
    form.querySelector("[data-cancel]").addEventListener("click", () => onForm(item.order.id, null));
    return form;
  }

  // "Call": names and numbers come masked, so the button reveals the number (logged on the case)
  // and dials it (onReveal); offered while the member's order is current (may_reveal_contacts).
  /** @param {WorkItem} item */
  function callButton(item, what, testid) {
    const button = el("button", { type: "button", className: "m-btn m-btn-go m-call", text: text.dial, dataset: { testid } });
    button.addEventListener("click", () => onReveal(item, what));
    return button;
  }

  // What the case already holds: the caller and the people registered (masked as the server answers
  // them) and the photos this member sent.
  /** @param {WorkItem} item */
  function caseRecords(item) {
    const { incident } = item;
    const mayCall = Boolean(item.may_reveal_contacts);
    const parts = [];
    if (incident.caller_name || incident.caller_phone) {
      parts.push(el("p", { className: "m-caller", dataset: { testid: "caller" } }, [
        el("span", { text: `${text.caller}: ` }),
        el("span", { className: "m-masked", text: [incident.caller_name, incident.caller_phone].filter(Boolean).join(" ") }),
        mayCall && incident.caller_phone ? callButton(item, { caller: true }, "call-caller") : null,
      ]));
    }
    const parties = incident.parties || [];
    if (parties.length) {
      parts.push(el("h3", { className: "m-subheading", text: text.parties }), el("ul", { className: "m-parties", dataset: { testid: "parties" } },
        parties.map((party) => el("li", { dataset: { party: String(party.id) } }, [
          el("strong", { text: party.name }),
          el("span", { text: ` · ${party.role_display}` }),
          party.phone_masked ? el("span", { className: "m-masked", text: ` · ${party.phone_masked}` }) : null,
          party.id_number_masked ? el("span", { className: "m-masked", text: ` · ${party.id_number_masked}`, dataset: { testid: "id-masked" } }) : null,
          mayCall && party.phone_masked ? callButton(item, { parties: [party.id] }, "call-party") : null,
        ]))));
    }
    const photos = incident.photos || [];
    if (photos.length) {
      parts.push(el("h3", { className: "m-subheading", text: text.photosSent }), el("ul", { className: "m-photos m-photos-sent", dataset: { testid: "photos" } },
        photos.map((photo, n) => el("li", { className: "m-photo" }, [
          el("a", { href: photo.url, target: "_blank", rel: "noopener" }, [
            el("img", { src: photo.thumb_url, alt: fill(text.photoAlt, { n: n + 1 }), loading: "lazy", dataset: { photo: String(photo.id) } }),
          ]),
        ]))));
    }
    return parts;
  }

  /** @param {WorkItem} item */
  function buildCard(item, state) {
    const { order, incident } = item;
    const selected = state.selected === order.id;
    const formAction = state.form && state.form.orderId === order.id ? state.form.action : null;
    const busy = state.busy === order.id;
    const waiting = queuedActions(state, order.id);
    const notice = state.notices[order.id];
    // `state` is optional in the document only because the model field has a default: always sent.
    const stateLabel = config.orderStates[/** @type {string} */ (order.state)] || order.state_display;
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
      card.append(...caseRecords(item));
      if (incident.location) card.append(el("div", { className: "m-map-slot" }));
    }
    return card;
  }

  // What the member typed in an open form survives the card's rebuild (a refresh, a notice): every
  // named field but the photo input (the picked photos live in photoDrafts). Returns whether the
  // same form was open before.
  function keepDraft(old, fresh) {
    const before = old.querySelector("form[data-form]");
    const form = before && before.dataset.form;
    const after = form && fresh.querySelector(`form[data-form="${form}"]`);
    if (!after) return false;
    let focused = null;
    for (const field of before.querySelectorAll("input[name], textarea[name], select[name]")) {
      if (field.type === "file") continue;
      const target = after.elements[field.name];
      if (!target) continue;
      target.value = field.value;
      if (document.activeElement === field) focused = [field, target];
    }
    for (const line of before.querySelectorAll("[data-problem]:not([hidden])")) {
      showProblem(after, line.dataset.problem, line.textContent);
    }
    if (focused) {
      const [field, target] = focused;
      const range = "selectionStart" in field ? [field.selectionStart, field.selectionEnd] : null;
      queueMicrotask(() => {
        target.focus();
        if (range && target.setSelectionRange) target.setSelectionRange(...range);
      });
    }
    return true;
  }

  function queuedActions(state, id) {
    return (state.queue || []).filter((entry) => entry.orderId === id).map((entry) => entry.action);
  }

  /** @param {WorkItem} item */
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

  /** @param {HTMLElement} container @param {WorkItem[]} items */
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
        const first = fresh.querySelector("form[data-form] :is(select, textarea, input:not([type=file]))");
        if (first && !(node && keepDraft(node, fresh))) {
          opened = first;
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

  // Photos picked for a report whose form is closed (sent, queued or cancelled) are let go.
  function dropClosedDrafts(state) {
    for (const orderId of [...photoDrafts.keys()]) {
      const open = state.form && state.form.orderId === orderId && state.form.action === "report_on_site";
      if (!open) dropPhotoDraft(orderId);
    }
  }

  return {
    render(state) {
      const work = state.work;
      if (!work) return;
      member = work.member;
      dropClosedDrafts(state);
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

  /** @param {WorkItem} item */
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
