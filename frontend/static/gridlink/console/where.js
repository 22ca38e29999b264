// Where a pin lies — its grid and community, outside the sub-district, or in no grid — asked of
// the locate API and shown in a ".where" box under the form (or in the case being placed).
//
// Test hook: body[data-where] = "grid" | "outside" | "none" once the call pin's place is known
// ("" while the call form has no pin).

import { clear, el } from "../core/dom.js";
import { errorMessages, get } from "../core/http.js";
import { coordsLabel, nameOf, pointParams } from "./cases.js";

/** @typedef {import("./types.js").ConsoleText} ConsoleText @typedef {import("./types.js").Pin} Pin */

/** @param {string} label @param {string} value @param {string} className */
function whereItem(label, value, className) {
  const item = el("span", `where-item ${className}`);
  item.appendChild(el("span", "where-label", label));
  item.appendChild(el("strong", null, value || "—"));
  return item;
}

/** @typedef {ReturnType<typeof createWhere>} Where */

/**
 * `url` the locate API, `subdistrict` the page's code, `text` its words.
 * @param {{url: string, subdistrict: string | null, text: ConsoleText}} options
 */
export function createWhere({ url, subdistrict, text }) {
  // Only the answer to the latest question is shown: a pin dragged twice asks twice.
  let ticket = 0;

  /** @param {HTMLElement} box @param {string} state */
  function markBody(box, state) {
    if (box.dataset.where === "call") document.body.dataset.where = state;
  }

  /** The box with no pin: how to put one. @param {HTMLElement} box */
  function hint(box) {
    clear(box);
    box.className = "where is-empty";
    box.appendChild(el("span", "where-hint", text.pinHint));
    markBody(box, "");
  }

  /** The box for a pin ({latlng, datum}): its coordinates, then its grid and community. @param {HTMLElement} box @param {Pin} pin */
  async function describe(box, pin) {
    const mine = (ticket += 1);
    const coords = () => el("span", "where-coords", coordsLabel(pin.latlng));
    clear(box);
    box.className = "where is-loading";
    box.appendChild(coords());
    box.appendChild(el("span", "where-hint", text.loading));
    let result;
    try {
      result = await get(url, { ...pointParams(pin.latlng, pin.datum), subdistrict });
    } catch {
      box.className = "where is-error";
      box.appendChild(el("span", "where-hint", text.failed));
      return;
    }
    if (mine !== ticket) return;
    clear(box);
    box.appendChild(coords());
    if (!result.ok) {
      box.className = "where is-error";
      box.appendChild(el("span", "where-hint", errorMessages(result, text.failed).message));
      return;
    }
    const data = result.data || {};
    if (data.outside || data.outside_jurisdiction) {
      box.className = "where is-outside";
      box.appendChild(el("span", "where-outside", text.outside));
      markBody(box, "outside");
    } else if (data.grid) {
      box.className = "where is-inside";
      box.appendChild(whereItem(text.grid, nameOf(data.grid) || data.grid_name, "where-grid"));
      box.appendChild(whereItem(text.community, nameOf(data.community) || data.community_name, "where-community"));
      markBody(box, "grid");
    } else {
      box.className = "where is-nogrid";
      box.appendChild(el("span", "where-hint", text.noGrid));
      markBody(box, "none");
    }
  }

  return { hint, describe };
}
