// The ticker along the bottom: the latest events, newest first, each once (by its id).

import { clear, el } from "../gridlink/core/dom.js";
import { eventLabel } from "./labels.js";
import { hhmm } from "./look.js";

const TICKER_MAX = 40;

/** @typedef {import("./store.js").WallEvent} WallEvent  the socket's and the snapshot's events */

/**
 * createTicker({words, onFocus(id)}) → {add(event), reset(events)}; `words` as labels.js's eventLabel takes them.
 * @param {{words: Parameters<typeof eventLabel>[1], onFocus: (id: number) => void}} options
 */
export function createTicker({ words, onFocus }) {
  const box = /** @type {HTMLOListElement} */ (document.getElementById("wall-ticker"));

  /** @param {WallEvent} event */
  function item(event) {
    const node = el("li", "wall-tick wall-tick-" + event.kind);
    node.dataset.event = String(event.id);
    node.appendChild(el("span", "wall-tick-time", hhmm(event.at)));
    node.appendChild(el("span", "wall-tick-number", event.number));
    node.appendChild(el("span", "wall-tick-kind", eventLabel(event, words)));
    node.addEventListener("click", () => onFocus(event.incident));
    return node;
  }

  return {
    /** @param {WallEvent} event */
    add(event) {
      if (box.querySelector(`[data-event="${Number(event.id)}"]`)) return;
      box.insertBefore(item(event), box.firstChild);
      while (box.childNodes.length > TICKER_MAX) box.removeChild(/** @type {ChildNode} */ (box.lastChild));
    },
    /** @param {WallEvent[] | null | undefined} events */
    reset(events) {
      clear(box);
      for (const event of (events || []).slice(0, TICKER_MAX)) box.appendChild(item(event));
    },
  };
}
