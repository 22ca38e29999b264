// The right panel's two case queues, polled from the incidents API:
// - the live queue (queue=open): newest first, on the map too; a click focuses the case on the
//   map, its number opens its page; the case just taken is highlighted for a while;
// - "needs location" (queue=needs_location): cases taken without a usable place. "Place on map"
//   starts placing one — a banner over the map, a click puts the locate pin, its grid shows — and
//   "Set location" saves the point (with the pin's datum).
//
// Test hooks on <body>: data-queue-loaded / data-locate-loaded = the number of rows once drawn.

import { clear, el, format } from "../core/dom.js";
import { time } from "../core/format.js";
import { errorMessages, get, post, rows, url } from "../core/http.js";
import { byNewest, pointBody } from "./cases.js";
import { caseItem } from "./case-views.js";

/** @typedef {import("./types.js").CaseView} CaseView */

/** Shows `count` on the tab's counter [data-count=name]. @param {string} name @param {number} count */
export function setCount(name, count) {
  const node = document.querySelector(`[data-count="${name}"]`);
  if (!node) return;
  node.textContent = String(count);
  node.classList.toggle("is-zero", !count);
}

/**
 * `config`, `text` the page's; `map` the console's map, `where` the pin describer, `toView(row)` a
 * case view of an API row, `hrefOf(id)` a case's page, `highlight` the case just taken
 * (cases.js createHighlight), `refresh()` reloads every queue. Returns {load(), renderLocate(),
 * locating()}.
 * @param {object} options
 * @param {import("./types.js").ConsoleConfig} options.config
 * @param {import("./types.js").ConsoleText} options.text
 * @param {import("./map.js").ConsoleMap} options.map
 * @param {import("./where.js").Where} options.where
 * @param {(row: import("./types.js").CaseRow) => CaseView} options.toView
 * @param {(id: number) => string} options.hrefOf
 * @param {ReturnType<typeof import("./cases.js").createHighlight>} options.highlight
 * @param {() => void} options.refresh
 */
export function createQueues({ config, text, map, where, toView, hrefOf, highlight, refresh }) {
  const liveList = /** @type {HTMLElement} */ (document.getElementById("live-queue"));
  const locateList = /** @type {HTMLElement} */ (document.getElementById("locate-queue"));
  const stamp = /** @type {HTMLElement} */ (document.querySelector('[data-updated="queue"]'));
  /** @type {CaseView[]} */
  let liveViews = [];
  /** @type {CaseView[]} */
  let locateViews = [];
  /** @type {number | null} */
  let selectedId = null;
  /** @type {{id: number, number: string} | null} */
  let locating = null; // the case being placed on the map

  const item = (/** @type {CaseView} */ view) => caseItem(view, { text, href: hrefOf(view.id), highlighted: highlight.isFresh(view.id) });

  function renderLive() {
    clear(liveList);
    if (!liveViews.length) liveList.appendChild(el("li", "queue-empty", text.emptyQueue));
    for (const view of liveViews) {
      const node = item(view);
      node.classList.toggle("is-selected", view.id === selectedId);
      node.addEventListener("click", (/** @type {MouseEvent} */ event) => {
        if (/** @type {Element} */ (event.target).closest("a")) return;
        liveList.querySelectorAll(".is-selected").forEach((other) => other.classList.remove("is-selected"));
        node.classList.add("is-selected");
        selectedId = view.id;
        map.focusCase(view);
      });
      liveList.appendChild(node);
    }
    setCount("queue", liveViews.length);
    map.drawIncidents(liveViews, highlight.id);
    const highlighted = liveList.querySelector(".is-highlight");
    if (highlighted) highlighted.scrollIntoView({ block: "nearest" });
  }

  function renderLocate() {
    clear(locateList);
    if (!locateViews.length) locateList.appendChild(el("li", "queue-empty", text.emptyQueue));
    for (const view of locateViews) {
      const node = item(view);
      const current = Boolean(locating && locating.id === view.id);
      node.classList.toggle("is-locating", current);
      if (view.address) node.appendChild(el("div", "qaddress", view.address));
      const actions = el("div", "qactions");
      if (!current) {
        const place = el("button", "btn btn-small btn-secondary", text.placeOnMap);
        place.type = "button";
        place.addEventListener("click", () => startLocating(view));
        actions.appendChild(place);
      } else {
        const box = el("div", "where");
        box.dataset.where = "locate";
        node.appendChild(box);
        const pin = map.pinOf("locate");
        if (pin) where.describe(box, pin);
        else box.appendChild(el("span", "where-hint", format(text.clickMapToPlace, { number: view.number })));
        const message = el("p", "form-message is-error");
        message.hidden = true;
        const set = el("button", "btn btn-small btn-primary", text.setLocation);
        set.type = "button";
        set.disabled = !pin;
        set.addEventListener("click", () => submitLocation(view, set, message));
        const cancel = el("button", "btn btn-small btn-quiet", text.cancel);
        cancel.type = "button";
        cancel.addEventListener("click", stopLocating);
        actions.appendChild(cancel);
        actions.appendChild(set);
        node.appendChild(message);
      }
      node.appendChild(actions);
      locateList.appendChild(node);
    }
    setCount("locate", locateViews.length);
  }

  /** @param {CaseView} view */
  function startLocating(view) {
    locating = { id: view.id, number: view.number };
    map.removePin("locate");
    map.showBanner(format(text.clickMapToPlace, { number: view.number }), stopLocating);
    map.setPlacing(true);
    renderLocate();
  }

  function stopLocating() {
    locating = null;
    map.removePin("locate");
    map.showBanner(null);
    map.setPlacing(false);
    renderLocate();
  }

  /** @param {CaseView} view @param {HTMLButtonElement} button @param {HTMLElement} message */
  async function submitLocation(view, button, message) {
    const pin = map.pinOf("locate");
    if (!pin) return;
    button.disabled = true;
    const fail = (/** @type {string} */ reason) => {
      button.disabled = false;
      message.textContent = reason;
      message.hidden = false;
    };
    let result;
    try {
      result = await post(url(config.api.locateIncident, view.id), { location: pointBody(pin.latlng), datum: pin.datum });
    } catch {
      fail(text.failed);
      return;
    }
    if (!result.ok) {
      fail(errorMessages(result, text.failed).message);
      return;
    }
    highlight.set(view.id);
    stopLocating();
    refresh();
  }

  /** @param {string} name @returns {Promise<CaseView[]>} */
  async function loadQueue(name) {
    const result = await get(config.api.incidents, { queue: name, subdistrict: config.subdistrict });
    if (!result.ok) throw new Error(`${name}: HTTP ${result.status}`);
    return /** @type {import("./types.js").QueueRow[]} */ (rows(result.data)).map((row) => toView(row)).sort(byNewest);
  }

  /** Reloads both queues (rejects when one fails; the other is still drawn). */
  function load() {
    const live = loadQueue("open").then((views) => {
      liveViews = views;
      renderLive();
      document.body.dataset.queueLoaded = String(views.length);
      stamp.textContent = format(text.updated, { time: time(new Date().toISOString()) });
    });
    const needs = loadQueue("needs_location").then((views) => {
      locateViews = views;
      // The case being placed was located elsewhere (or closed): stop placing it.
      const placing = locating;
      if (placing && !views.some((v) => v.id === placing.id)) stopLocating();
      else renderLocate();
      document.body.dataset.locateLoaded = String(views.length);
    });
    return Promise.all([live, needs]);
  }

  return { load, renderLocate, locating: () => locating !== null };
}
