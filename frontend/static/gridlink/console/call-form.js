// The hotline call form: the hotline, the caller, the description, the address (gazetteer search or
// a pin on the map), the category and the major flag.
//
// Category: as the description is typed the API suggests categories; the best one is pre-selected
// until the call-taker picks one, the others are offered as chips. The major flag follows the
// category's default until the call-taker ticks or unticks it.
// Duplicates: open cases near the pin (and of the category, where the server says so) are offered;
// "Link to this case" files the call as another report of that case instead of a new one.
// After a case is taken the fields are emptied and the hotline is kept (the call-taker stays on it).

import { clear, el, format } from "../core/dom.js";
import { age } from "../core/format.js";
import { get, lonLatOf, post, rows } from "../core/http.js";
import { createAddressSearch } from "./address-search.js";
import { callBody, debounce, pointParams, resultCase, suggestionRows } from "./cases.js";
import { policeTag, statusChip } from "./case-views.js";
import { clearFieldErrors, fillCategories, formValues, showMessage, sendForm } from "./form-ui.js";

/**
 * `form` the call form; `config` the page's configuration and `text` its words; `categories` the
 * categories by code; `map` the console's map (pins), `where` the pin describer; `toView(row)` a
 * case view of an API row, `hrefOf(id)` a case's page; `onTaken(incident)` once a case is taken
 * or the call is linked to one. Returns {pinMoved()} for the map's "call" pin.
 * @param {object} options
 * @param {HTMLFormElement} options.form
 * @param {import("./types.js").ConsoleConfig} options.config
 * @param {import("./types.js").ConsoleText} options.text
 * @param {Record<string, import("./types.js").Category>} options.categories
 * @param {import("./map.js").ConsoleMap} options.map
 * @param {import("./where.js").Where} options.where
 * @param {(row: import("./types.js").CaseRow) => import("./types.js").CaseView} options.toView
 * @param {(id: number) => string} options.hrefOf
 * @param {(incident: Record<string, any>) => void} options.onTaken
 */
export function createCallForm({ form, config, text, categories, map, where, toView, hrefOf, onTaken }) {
  const api = config.api;
  const categorySelect = /** @type {HTMLSelectElement} */ (form.querySelector('[data-field="category"]'));
  const majorBox = /** @type {HTMLInputElement} */ (form.querySelector('[name="major"]'));
  const description = /** @type {HTMLTextAreaElement} */ (form.querySelector('[name="description"]'));
  const suggestionsBox = /** @type {HTMLElement} */ (form.querySelector(".suggestions"));
  const duplicatesBox = /** @type {HTMLElement} */ (form.querySelector(".duplicates"));
  const whereBox = /** @type {HTMLElement} */ (form.querySelector('[data-where="call"]'));
  let categoryTouched = false;
  let majorTouched = false;
  /** @type {{code: string, score: number}[]} */
  let suggested = [];
  let suggestTicket = 0;
  let duplicateTicket = 0;

  // ---- hotlines and category ------------------------------------------------------------------

  const channelBox = /** @type {HTMLElement} */ (form.querySelector('[data-field="channel"]'));
  config.hotlines.forEach((channel, index) => {
    const label = el("label", "hotline");
    const input = el("input");
    input.type = "radio";
    input.name = "channel";
    input.value = channel.code;
    input.id = `hotline-${index}`;
    label.appendChild(input);
    const body = el("span", "hotline-body");
    body.appendChild(el("span", "hotline-name", channel.name));
    if (channel.phone) body.appendChild(el("span", "hotline-phone", channel.phone));
    label.appendChild(body);
    channelBox.appendChild(label);
  });
  fillCategories(categorySelect, config.categories, text);
  where.hint(whereBox);

  function applyMajorDefault() {
    const category = categories[categorySelect.value];
    if (!majorTouched) majorBox.checked = Boolean(category && category.major);
  }

  /** @param {string} [code] */
  function categoryChosen(code) {
    if (code !== undefined) categorySelect.value = code;
    applyMajorDefault();
    markSuggestions();
    loadDuplicates();
  }

  categorySelect.addEventListener("change", () => {
    categoryTouched = true;
    categoryChosen();
  });
  majorBox.addEventListener("change", () => {
    majorTouched = true;
  });

  // ---- suggested categories ---------------------------------------------------------------------

  function markSuggestions() {
    /** @type {NodeListOf<HTMLElement>} */ (suggestionsBox.querySelectorAll(".chip")).forEach((chip) => {
      chip.classList.toggle("is-chosen", chip.dataset.code === categorySelect.value);
    });
  }

  function renderSuggestions() {
    clear(suggestionsBox);
    if (!suggested.length) return;
    suggestionsBox.appendChild(el("span", "suggestions-label", text.suggested));
    for (const { code } of suggested) {
      const category = categories[code];
      const chip = el("button", "chip");
      chip.type = "button";
      chip.dataset.code = code;
      chip.appendChild(policeTag(category.police, text));
      chip.appendChild(el("span", null, category.name));
      chip.addEventListener("click", () => {
        categoryTouched = true;
        categoryChosen(code);
      });
      suggestionsBox.appendChild(chip);
    }
    markSuggestions();
  }

  const loadSuggestions = debounce(async () => {
    const typed = description.value.trim();
    const mine = (suggestTicket += 1);
    if (typed.length < 2) {
      suggested = [];
      renderSuggestions();
      return;
    }
    const result = await get(api.suggest, { text: typed });
    if (mine !== suggestTicket || !result.ok) return;
    suggested = suggestionRows(result.data, categories);
    if (!categoryTouched && suggested.length) {
      categorySelect.value = suggested[0].code;
      applyMajorDefault();
      loadDuplicates();
    }
    renderSuggestions();
  }, 350);
  description.addEventListener("input", loadSuggestions);

  // ---- the address: gazetteer search, then the pin ----------------------------------------------

  const addressSearch = createAddressSearch({
    input: /** @type {HTMLInputElement} */ (form.querySelector('[data-field="address"]')),
    list: /** @type {HTMLElement} */ (form.querySelector('[data-testid="address-matches"]')),
    url: api.gazetteer,
    subdistrict: config.subdistrict,
    text,
    onChoose(match) {
      // Gazetteer points are WGS 84 whatever the tiles.
      const lonLat = lonLatOf(match) || match.lonLat;
      if (lonLat) map.dropPinAt("call", lonLat, "WGS84");
    },
  });

  // ---- likely duplicates near the pin -------------------------------------------------------------

  /** @param {import("./types.js").CaseView[]} views */
  function renderDuplicates(views) {
    const list = /** @type {HTMLElement} */ (duplicatesBox.querySelector("ul"));
    clear(list);
    duplicatesBox.hidden = !views.length;
    for (const view of views) {
      const item = el("li", "dup");
      const head = el("div", "dup-head");
      const link = el("a", "qnum", view.number);
      link.href = hrefOf(view.id);
      link.target = "_blank";
      link.rel = "noopener";
      head.appendChild(link);
      head.appendChild(statusChip(view));
      head.appendChild(el("span", "age", age(view.reportedAt)));
      item.appendChild(head);
      item.appendChild(el("div", "dup-cat", [view.category, view.address].filter(Boolean).join(" · ")));
      item.appendChild(el("div", "qdesc", view.description));
      const button = el("button", "btn btn-small btn-secondary", text.linkTo);
      button.type = "button";
      button.dataset.testid = "link-to";
      button.addEventListener("click", () => submit(view.id));
      item.appendChild(button);
      list.appendChild(item);
    }
  }

  async function loadDuplicates() {
    const mine = (duplicateTicket += 1);
    const pin = map.pinOf("call");
    if (!pin) {
      renderDuplicates([]);
      return;
    }
    const params = { ...pointParams(pin.latlng, pin.datum), category: categorySelect.value, subdistrict: config.subdistrict };
    const result = await get(api.duplicates, params);
    if (mine === duplicateTicket && result.ok) renderDuplicates(/** @type {import("./types.js").Duplicate[]} */ (rows(result.data)).map(toView));
  }

  // ---- submitting, resetting ----------------------------------------------------------------------

  /** @param {number | null} linkTo the case this call is another report of */
  async function submit(linkTo) {
    clearFieldErrors(form);
    showMessage(form, "");
    const data = await sendForm(form, () => post(api.incidents, callBody(formValues(form), map.pinOf("call"), linkTo)), text);
    if (data === null) return;
    const incident = resultCase(data);
    emptyFields();
    showMessage(form, format(linkTo ? text.linked : text.created, { number: incident.number || "" }), "ok");
    onTaken(incident);
  }

  function clearExtras() {
    clearFieldErrors(form);
    map.removePin("call");
    where.hint(whereBox);
    categoryTouched = false;
    majorTouched = false;
    suggested = [];
    renderSuggestions();
    renderDuplicates([]);
    addressSearch.reset();
  }

  // Empties the fields but keeps the hotline (a radio).
  function emptyFields() {
    /** @type {NodeListOf<HTMLInputElement>} */ (form.querySelectorAll("input, textarea, select")).forEach((field) => {
      if (field.type === "radio") return;
      if (field.type === "checkbox") field.checked = false;
      else field.value = "";
    });
    clearExtras();
  }

  form.addEventListener("reset", () => {
    // After the browser has reset the fields.
    setTimeout(() => {
      clearExtras();
      showMessage(form, "");
    });
  });
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    submit(null);
  });

  return {
    /** The call pin was put or dragged: where it lies, and the cases near it. */
    pinMoved() {
      const pin = map.pinOf("call");
      if (pin) where.describe(whereBox, pin);
      loadDuplicates();
    },
  };
}
