// The live queue: open cases, newest first, with their countdowns. Replay hands its own list
// (the queue as it stood), whose items only fly the map to the case.

import { clear, el } from "../gridlink/core/dom.js";
import { countdown } from "./time.js";
import { categoryName, glyphOf, hhmm, latLngOf, statusBadge, statusColour } from "./look.js";

const QUEUE_MAX = 60;

/** createQueue({config, text, store, categories, onFocus(id), onFly(latlng)}) → {render(replayList?), tick()}. */
export function createQueue({ config, text, store, categories, onFocus, onFly }) {
  const box = /** @type {HTMLOListElement} */ (document.getElementById("wall-queue"));
  const countBox = /** @type {HTMLElement} */ (document.getElementById("queue-count"));

  function item(incident, replayed) {
    const node = el("li", "wall-queue-item" + (incident.major ? " is-major" : ""));
    node.dataset.incident = String(incident.id);
    node.tabIndex = 0;
    const glyph = el("span", "wall-q-glyph", glyphOf(incident.category, categories));
    glyph.style.setProperty("--status-colour", statusColour(incident.status));
    node.appendChild(glyph);
    const main = el("div", "wall-q-main");
    const top = el("div", "wall-q-top");
    top.appendChild(el("span", "wall-q-number", incident.number));
    top.appendChild(el("span", "wall-q-category", categoryName(incident, categories)));
    if (incident.major) top.appendChild(el("span", "wall-q-major", text.major));
    main.appendChild(top);
    main.appendChild(el("div", "wall-q-summary", incident.summary || incident.address || ""));
    node.appendChild(main);
    const side = el("div", "wall-q-side");
    side.appendChild(statusBadge(incident));
    side.appendChild(el("span", "wall-q-time", hhmm(incident.reported_at)));
    const cd = el("span", "wall-q-countdown");
    cd.dataset.incident = String(incident.id);
    side.appendChild(cd);
    node.appendChild(side);
    if (replayed) {
      const latlng = latLngOf(incident.point);
      node.addEventListener("click", () => latlng && onFly(latlng));
    } else {
      node.addEventListener("click", () => onFocus(incident.id));
      node.addEventListener("keydown", (event) => {
        if (event.key === "Enter") onFocus(incident.id);
      });
    }
    return node;
  }

  function tick() {
    for (const cd of /** @type {NodeListOf<HTMLElement>} */ (box.querySelectorAll(".wall-q-countdown"))) {
      const incident = store.incident(cd.dataset.incident);
      const deadline = incident && store.countdownDeadline(incident);
      if (!deadline) {
        cd.textContent = "";
        continue;
      }
      const c = countdown(deadline, store.now(), config.amberSeconds);
      cd.textContent = c.text;
      cd.dataset.state = c.state;
    }
  }

  function render(replayList) {
    const list = replayList ? [...replayList].sort((a, b) => Number(new Date(b.reported_at)) - Number(new Date(a.reported_at))) : store.openIncidents();
    countBox.textContent = String(list.length);
    clear(box);
    if (!list.length) {
      box.appendChild(el("li", "wall-empty", text.emptyQueue));
      return;
    }
    for (const incident of list.slice(0, QUEUE_MAX)) box.appendChild(item(incident, Boolean(replayList)));
    tick();
  }

  return { render, tick };
}
