// The joint-consultation assignment form (联席会商交办单): category, description, the responsible
// offices — a list of checkboxes, the first one ticked leads (marked as such) — a deadline, an
// address and a pin. It is filed on the page's joint-assignment channel.

import { el, format } from "../core/dom.js";
import { post } from "../core/http.js";
import { assignBody, resultCase, tickOffice } from "./cases.js";
import { clearFieldErrors, fillCategories, formValues, showMessage, sendForm } from "./form-ui.js";

/**
 * `form` the assignment form; `config`, `text` the page's; `map` the console's map (pins), `where`
 * the pin describer; `onTaken(incident)` once the case is filed. Returns {pinMoved()} for the
 * map's "assign" pin.
 * @param {object} options
 * @param {HTMLFormElement} options.form
 * @param {import("./types.js").ConsoleConfig} options.config
 * @param {import("./types.js").ConsoleText} options.text
 * @param {import("./map.js").ConsoleMap} options.map
 * @param {import("./where.js").Where} options.where
 * @param {(incident: Record<string, any>) => void} options.onTaken
 */
export function createAssignForm({ form, config, text, map, where, onTaken }) {
  const officeBox = /** @type {HTMLElement} */ (form.querySelector('[data-field="offices"]'));
  const whereBox = /** @type {HTMLElement} */ (form.querySelector('[data-where="assign"]'));
  /** @type {number[]} */
  let officeOrder = [];

  fillCategories(/** @type {HTMLSelectElement} */ (form.querySelector('[data-field="category"]')), config.categories, text);
  for (const unit of config.units) {
    const label = el("label", "office");
    const input = el("input");
    input.type = "checkbox";
    input.value = String(unit.id);
    input.addEventListener("change", () => {
      officeOrder = tickOffice(officeOrder, Number(input.value), input.checked);
      markLead();
    });
    label.appendChild(input);
    label.appendChild(el("span", "office-name", unit.name));
    label.appendChild(el("span", "office-kind", unit.kind));
    officeBox.appendChild(label);
  }
  where.hint(whereBox);

  function markLead() {
    officeBox.querySelectorAll(".office").forEach((label) => {
      const input = /** @type {HTMLInputElement} */ (label.querySelector("input"));
      const lead = officeOrder.length > 0 && Number(input.value) === officeOrder[0];
      label.classList.toggle("is-lead", lead);
      const badge = label.querySelector(".office-lead");
      if (lead && !badge) label.appendChild(el("span", "office-lead", text.lead));
      else if (!lead && badge) badge.remove();
    });
  }

  function clearExtras() {
    clearFieldErrors(form);
    officeOrder = [];
    markLead();
    map.removePin("assign");
    where.hint(whereBox);
  }

  async function submit() {
    clearFieldErrors(form);
    showMessage(form, "");
    const body = assignBody(formValues(form), { channel: config.jointChannel, offices: officeOrder, pin: map.pinOf("assign") });
    const data = await sendForm(form, () => post(config.api.incidents, body), text);
    if (data === null) return;
    const incident = resultCase(data);
    /** @type {NodeListOf<HTMLInputElement>} */ (form.querySelectorAll("input, textarea, select")).forEach((field) => {
      if (field.type === "checkbox") field.checked = false;
      else field.value = "";
    });
    clearExtras();
    showMessage(form, format(text.created, { number: incident.number || "" }), "ok");
    onTaken(incident);
  }

  form.addEventListener("submit", (event) => {
    event.preventDefault();
    submit();
  });
  form.addEventListener("reset", () => {
    setTimeout(() => {
      clearExtras();
      showMessage(form, "");
    });
  });

  return {
    /** The assign pin was put or dragged: where it lies. */
    pinMoved() {
      const pin = map.pinOf("assign");
      if (pin) where.describe(whereBox, pin);
    },
  };
}
