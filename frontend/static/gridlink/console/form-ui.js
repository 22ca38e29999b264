// What the console's forms share: the message on top of a form, the server's refusal shown field
// by field, the busy state, and the category picker (police-type and non-police groups).
//
// A form's fields carry data-field="<the API's field name>", so that a DRF field error lands next
// to its field. The labels in the summary ("category: required") come from the page's
// configuration (`text.fields`, by API field name), not from the template's text.

import { clear, el } from "../core/dom.js";
import { errorMessages } from "../core/http.js";

/** @typedef {import("./types.js").ConsoleText} ConsoleText @typedef {import("./types.js").ApiResult} ApiResult */

/**
 * Shows `message` on top of `form` ("ok" or "error"), or hides the box when there is none.
 * @param {HTMLElement} form
 * @param {string | null} message
 * @param {"ok" | "error"} [kind]
 */
export function showMessage(form, message, kind) {
  const box = /** @type {HTMLElement} */ (form.querySelector(".form-message"));
  box.textContent = message || "";
  box.hidden = !message;
  box.classList.toggle("is-error", kind === "error");
  box.classList.toggle("is-ok", kind === "ok");
}

/** @param {HTMLElement} form */
export function clearFieldErrors(form) {
  form.querySelectorAll(".has-error").forEach((node) => node.classList.remove("has-error"));
  form.querySelectorAll(".field-error").forEach((node) => node.remove());
}

/**
 * Shows the server's refusal in `form`: the message on top, each field's own next to it. A DRF
 * field error is summed up on top with the field's label; the error named by the answer's `code`
 * (already its `detail`) is not repeated. `text` holds `failed` and `fields` (labels by name).
 * @param {HTMLElement} form
 * @param {ApiResult} result
 * @param {ConsoleText} text
 */
export function showErrors(form, result, text) {
  const errors = errorMessages(result, text.failed);
  const data = result.data || {};
  const labels = text.fields || {};
  const summary = data.detail ? [String(data.detail)] : [];
  for (const [key, message] of Object.entries(errors.fields)) {
    const field = form.querySelector(`[data-field="${key}"]`);
    if (key !== data.code) summary.push(`${labels[key] || key}: ${message}`);
    if (field) {
      field.classList.add("has-error");
      field.insertAdjacentElement("afterend", el("p", "field-error", message));
    }
  }
  showMessage(form, summary.length ? summary.join(" ") : errors.message, "error");
}

/**
 * Sends a form: busy while `request()` runs; a network failure or a refusal is shown in the form
 * (`text.failed`, or the server's errors field by field). The answer's data when it was accepted,
 * else null.
 * @param {HTMLElement} form
 * @param {() => Promise<ApiResult>} request
 * @param {ConsoleText} text
 * @returns {Promise<any>}
 */
export async function sendForm(form, request, text) {
  setBusy(form, true);
  let result;
  try {
    result = await request();
  } catch {
    showMessage(form, text.failed, "error");
    return null;
  } finally {
    setBusy(form, false);
  }
  if (!result.ok) {
    showErrors(form, result, text);
    return null;
  }
  return result.data;
}

/** @param {HTMLElement} form @param {boolean} busy */
export function setBusy(form, busy) {
  /** @type {NodeListOf<HTMLButtonElement>} */ (form.querySelectorAll("button[type=submit]")).forEach((button) => {
    button.disabled = busy;
  });
  form.classList.toggle("is-busy", busy);
}

/**
 * The form's fields by name (the last value of a name), checkboxes as booleans.
 * @param {HTMLFormElement} form
 * @returns {Record<string, any>}
 */
export function formValues(form) {
  /** @type {Record<string, any>} */
  const values = Object.fromEntries(new FormData(form));
  /** @type {NodeListOf<HTMLInputElement>} */ (form.querySelectorAll("input[type=checkbox][name]")).forEach((box) => {
    values[box.name] = box.checked;
  });
  return values;
}

/**
 * Fills a category <select>: "Choose…", then the police-type and the non-police groups.
 * @param {HTMLSelectElement} select
 * @param {import("./types.js").Category[]} categories
 * @param {ConsoleText} text
 */
export function fillCategories(select, categories, text) {
  clear(select);
  const empty = el("option", null, text.choose);
  empty.value = "";
  select.appendChild(empty);
  /** @type {[boolean, string][]} */
  const groups = [
    [true, text.police],
    [false, text.nonPolice],
  ];
  for (const [police, label] of groups) {
    const group = el("optgroup");
    group.label = label;
    for (const category of categories) {
      if (Boolean(category.police) !== police) continue;
      const option = el("option", null, category.name);
      option.value = category.code;
      group.appendChild(option);
    }
    if (group.childNodes.length) select.appendChild(group);
  }
}
