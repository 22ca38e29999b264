// The call form's address search: a combobox over the gazetteer (the sub-district's addresses).
// Typing asks the gazetteer (debounced; only the latest answer is shown); the arrows move through
// the matches, Enter or a click chooses one, Escape closes the list.

import { clear, el } from "../core/dom.js";
import { get, rows } from "../core/http.js";
import { debounce, nameOf } from "./cases.js";

/** @typedef {import("./types.js").AddressMatch} AddressMatch */

/**
 * `input` the search field, `list` its listbox, `url` the gazetteer, `subdistrict` the page's
 * code; `onChoose(match)` with the chosen gazetteer row ({text, place, lon, lat, …}).
 * Returns {reset()}.
 * @param {object} options
 * @param {HTMLInputElement} options.input
 * @param {HTMLElement} options.list
 * @param {string} options.url
 * @param {string | null} options.subdistrict
 * @param {import("./types.js").ConsoleText} options.text
 * @param {(match: AddressMatch) => void} options.onChoose
 */
export function createAddressSearch({ input, list, url, subdistrict, text, onChoose }) {
  /** @type {AddressMatch[]} */
  let matches = [];
  let active = -1;
  let ticket = 0;

  function close() {
    list.hidden = true;
    input.setAttribute("aria-expanded", "false");
    active = -1;
  }

  /** @param {number} index */
  function highlight(index) {
    active = index;
    list.querySelectorAll(".combo-item").forEach((item, i) => {
      item.classList.toggle("is-active", i === index);
      item.setAttribute("aria-selected", i === index ? "true" : "false");
    });
    if (index >= 0) input.setAttribute("aria-activedescendant", `${input.id}-option-${index}`);
    else input.removeAttribute("aria-activedescendant");
  }

  /** @param {number} index */
  function choose(index) {
    const match = matches[index];
    if (!match) return;
    input.value = match.text;
    close();
    onChoose(match);
  }

  /** @param {string} query */
  function render(query) {
    clear(list);
    if (!matches.length) list.appendChild(el("li", "combo-empty", text.noMatches));
    matches.forEach((match, index) => {
      const item = el("li", "combo-item");
      // The option ids keep the form's old ones ("call-address-option-N"), for aria-activedescendant.
      item.id = `${input.id}-option-${index}`;
      item.setAttribute("role", "option");
      item.appendChild(el("span", "combo-text", match.text));
      const place = nameOf(match.place);
      if (place && place !== match.text) item.appendChild(el("span", "combo-note", place));
      item.addEventListener("mousedown", (/** @type {MouseEvent} */ event) => {
        event.preventDefault(); // keep the focus in the input
        choose(index);
      });
      list.appendChild(item);
    });
    list.hidden = !query;
    input.setAttribute("aria-expanded", list.hidden ? "false" : "true");
    highlight(matches.length ? 0 : -1);
  }

  const search = debounce(async () => {
    const query = input.value.trim();
    const mine = (ticket += 1);
    if (!query) {
      matches = [];
      close();
      return;
    }
    const result = await get(url, { q: query, subdistrict });
    if (mine !== ticket || !result.ok) return;
    matches = /** @type {AddressMatch[]} */ (rows(result.data)).filter((row) => row && row.text);
    if (document.activeElement === input) render(query);
  }, 250);

  input.addEventListener("input", search);
  input.addEventListener("keydown", (/** @type {KeyboardEvent} */ event) => {
    if (list.hidden) return;
    if (event.key === "ArrowDown") {
      event.preventDefault();
      highlight(Math.min(matches.length - 1, active + 1));
    } else if (event.key === "ArrowUp") {
      event.preventDefault();
      highlight(Math.max(0, active - 1));
    } else if (event.key === "Enter") {
      if (active >= 0) {
        event.preventDefault();
        choose(active);
      }
    } else if (event.key === "Escape") {
      close();
    }
  });
  input.addEventListener("blur", () => setTimeout(close, 150));

  return {
    reset() {
      matches = [];
      close();
    },
  };
}
