// The call-backs to make (command room and dispatchers): a case resolved and fed back is called
// back to ask the caller whether they are satisfied. Each row: the caller (masked; "Reveal the
// number" shows it, logged in the case's timeline), the case, and "Record": reached (with the
// satisfaction; a dissatisfied caller may reopen the case) or unreachable, with a note.
//
// A call-back being recorded keeps its form: polling does not redraw under the typing.
// Test hook: body[data-callbacks-loaded] = the number of rows once drawn.

import { clear, el } from "../core/dom.js";
import { age } from "../core/format.js";
import { get, post, rows, url } from "../core/http.js";
import { callbackBody, callbackCase } from "./cases.js";
import { clearFieldErrors, sendForm } from "./form-ui.js";
import { setCount } from "./queues.js";

/** @typedef {import("./types.js").Callback} Callback */

/**
 * `list` the call-backs' <ol> (absent when the user may not record them: then nothing is loaded);
 * `config`, `text` the page's; `hrefOf(id)` a case's page; `onReopened()` after a case was reopened.
 * Returns {load(force)}.
 * @param {object} options
 * @param {HTMLElement | null} options.list
 * @param {import("./types.js").ConsoleConfig} options.config
 * @param {import("./types.js").ConsoleText} options.text
 * @param {(id: number) => string} options.hrefOf
 * @param {() => void} options.onReopened
 */
export function createCallbacks({ list, config, text, hrefOf, onReopened }) {
  const api = config.api;
  /** @type {Callback[]} */
  let callbacks = [];
  /** @type {number | null} */
  let openId = null; // the call-back whose form is open

  /** @param {string} name @param {string} value @param {string} label @param {boolean} checked */
  function radio(name, value, label, checked) {
    const box = el("label");
    const input = el("input");
    input.type = "radio";
    input.name = name;
    input.value = value;
    input.checked = checked;
    box.appendChild(input);
    box.appendChild(el("span", null, label));
    return box;
  }

  /** @param {Callback} row */
  function callbackForm(row) {
    const form = el("form", "cform callback-form");
    form.noValidate = true;
    const states = el("div", "segmented");
    states.appendChild(radio("state", "done", text.reached, true));
    states.appendChild(radio("state", "unreachable", text.unreachable, false));
    states.dataset.field = "state";
    form.appendChild(states);
    const satisfaction = el("select");
    satisfaction.name = "satisfaction";
    satisfaction.dataset.field = "satisfaction";
    const empty = el("option", null, text.choose);
    empty.value = "";
    satisfaction.appendChild(empty);
    for (const [key, label] of Object.entries(config.satisfaction)) {
      const option = el("option", null, label);
      option.value = key;
      satisfaction.appendChild(option);
    }
    form.appendChild(satisfaction);
    const note = el("textarea");
    note.name = "note";
    note.rows = 2;
    note.placeholder = text.note;
    note.dataset.field = "note";
    form.appendChild(note);
    const reopenLabel = el("label", "check");
    const reopen = el("input");
    reopen.type = "checkbox";
    reopen.name = "reopen";
    reopenLabel.appendChild(reopen);
    reopenLabel.appendChild(el("span", null, text.reopen));
    reopenLabel.hidden = true;
    form.appendChild(reopenLabel);
    form.appendChild(el("p", "form-message")).hidden = true;
    const actions = el("div", "form-actions");
    const cancel = el("button", "btn btn-small btn-quiet", text.cancel);
    cancel.type = "button";
    cancel.addEventListener("click", () => {
      openId = null;
      render();
    });
    const submit = el("button", "btn btn-small btn-primary", text.record);
    submit.type = "submit";
    actions.appendChild(cancel);
    actions.appendChild(submit);
    form.appendChild(actions);

    const state = () => /** @type {HTMLInputElement} */ (form.querySelector('input[name="state"]:checked')).value;
    // Satisfaction only when reached; "reopen" only when dissatisfied.
    function sync() {
      const reached = state() === "done";
      satisfaction.disabled = !reached;
      const dissatisfied = reached && satisfaction.value === "dissatisfied";
      reopenLabel.hidden = !dissatisfied;
      if (!dissatisfied) reopen.checked = false;
    }
    form.addEventListener("change", sync);
    sync();

    form.addEventListener("submit", async (/** @type {Event} */ event) => {
      event.preventDefault();
      clearFieldErrors(form);
      const body = callbackBody({ state: state(), satisfaction: satisfaction.value, note: note.value, reopen: reopen.checked });
      const data = await sendForm(form, () => post(url(api.callbackComplete, row.id), body), text);
      if (data === null) return;
      openId = null;
      load(true);
      if (body.reopen) onReopened();
    });
    return form;
  }

  // Masked in the list: the desk reveals the number it is calling (logged in the case's timeline).
  /**
   * @param {Record<string, any>} row
   * @param {HTMLElement} name
   * @param {HTMLElement} phone
   */
  function revealButton(row, name, phone) {
    const reveal = el("button", "btn btn-small btn-quiet cb-reveal", text.revealCall);
    reveal.type = "button";
    reveal.addEventListener("click", async () => {
      reveal.disabled = true;
      const result = await post(url(api.revealContacts, row.incident), { callbacks: [row.id] });
      const shown = result.ok && result.data.callbacks && result.data.callbacks[0];
      if (!shown) {
        reveal.disabled = false;
        return;
      }
      name.textContent = shown.name || "—";
      clear(phone);
      const dial = el("a", null, shown.phone);
      dial.href = `tel:${shown.phone}`;
      phone.appendChild(dial);
      reveal.remove();
    });
    return reveal;
  }

  function render() {
    if (!list) return;
    clear(list);
    if (!callbacks.length) list.appendChild(el("li", "queue-empty", text.emptyQueue));
    for (const row of callbacks) {
      const item = el("li", "qitem callback");
      item.dataset.id = String(row.id);
      const head = el("div", "qhead");
      const name = head.appendChild(el("strong", "cb-name", row.name || "—"));
      const phone = head.appendChild(el("span", "cb-phone", row.phone || ""));
      if (row.phone) head.appendChild(revealButton(row, name, phone));
      item.appendChild(head);
      const meta = el("div", "qmeta");
      const incident = callbackCase(row);
      const link = el("a", "qnum", incident.number);
      link.href = hrefOf(incident.id);
      meta.appendChild(link);
      if (row.created_at) meta.appendChild(el("span", "age", age(row.created_at)));
      item.appendChild(meta);
      if (openId === row.id) {
        item.classList.add("is-open");
        item.appendChild(callbackForm(row));
      } else {
        const actions = el("div", "qactions");
        const record = el("button", "btn btn-small btn-secondary", text.record);
        record.type = "button";
        record.addEventListener("click", () => {
          openId = row.id;
          render();
        });
        actions.appendChild(record);
        item.appendChild(actions);
      }
      list.appendChild(item);
    }
    setCount("callbacks", callbacks.length);
  }

  /** Reloads the open call-backs; unless `force`, not while one is being recorded. @param {boolean} force */
  async function load(force) {
    if (!list || !config.can.callbacks) return;
    if (openId !== null && !force) return;
    const result = await get(api.callbacks, { state: "open", subdistrict: config.subdistrict });
    if (!result.ok) throw new Error(`callbacks: HTTP ${result.status}`);
    callbacks = /** @type {Callback[]} */ (rows(result.data));
    render();
    document.body.dataset.callbacksLoaded = String(callbacks.length);
  }

  return { load };
}
