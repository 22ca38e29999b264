// The header bar: the clock, the connection line (live / reconnecting, the newest event's time and
// age: a wall that has gone quiet shows it) and the full-screen button.

import { format } from "../gridlink/core/dom.js";
import { age } from "../gridlink/core/format.js";
import { clock } from "./look.js";
import { resizeCharts } from "./charts.js";

/** createHeader({text, store, map}) → {setConnection(state), showConnection(), showClock(t)}. */
export function createHeader({ text, store, map }) {
  const body = document.body;
  const clockBox = /** @type {HTMLElement} */ (document.getElementById("wall-clock"));
  const conn = /** @type {HTMLElement} */ (document.getElementById("wall-conn"));
  const connText = /** @type {HTMLElement} */ (document.getElementById("wall-conn-text"));
  const connLast = /** @type {HTMLElement} */ (document.getElementById("wall-conn-last"));
  let state = "connecting";

  function showConnection() {
    conn.dataset.state = state;
    connText.textContent = state === "live" ? text.live : state === "reconnecting" ? text.reconnecting : text.connecting;
    const at = store.state.lastEventAt;
    connLast.textContent = at
      ? format(text.lastEvent, { time: clock(at, false) }) + " (" + age(new Date(at).toISOString()) + ")"
      : text.noEventYet;
  }

  const fullscreenButton = /** @type {HTMLButtonElement} */ (document.getElementById("wall-fullscreen"));
  if (!document.documentElement.requestFullscreen) fullscreenButton.hidden = true;
  fullscreenButton.addEventListener("click", () => {
    if (document.fullscreenElement) document.exitFullscreen();
    else document.documentElement.requestFullscreen().catch(() => {});
  });
  document.addEventListener("fullscreenchange", () => {
    fullscreenButton.textContent = document.fullscreenElement ? text.exitFullscreen : text.fullscreen;
    window.setTimeout(() => {
      map.invalidateSize();
      resizeCharts();
    }, 200);
  });

  return {
    /** "connecting" | "live" | "reconnecting" (also body[data-socket], a test hook). */
    setConnection(next) {
      state = next;
      body.dataset.socket = next;
      showConnection();
    },
    showConnection,
    showClock(t) {
      clockBox.textContent = clock(t);
    },
  };
}
