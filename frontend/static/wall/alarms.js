// Overdue arrivals: the alarms panel (overdue cases with their countdowns, then the open alarms:
// the snapshot's, kept up to date by the alarm events and snoozes running out in the store), the
// flashing banner over the map, and its sound (off by default; the choice is kept in
// localStorage). A case is sounded once, when it first turns overdue.

import { clear, el, format } from "../gridlink/core/dom.js";
import { countdown } from "./time.js";
import { categoryName, hhmm } from "./look.js";

const SOUND_KEY = "gridlink.wall.sound";

/** createAlarms({config, text, store, categories, onFocus(id)}) → {render(replaying), tick(overdue), shownOverdue()}. */
export function createAlarms({ config, text, store, categories, onFocus }) {
  const body = document.body;
  const box = /** @type {HTMLOListElement} */ (document.getElementById("wall-alarms"));
  const banner = /** @type {HTMLDivElement} */ (document.getElementById("wall-alarm"));
  const soundButton = /** @type {HTMLButtonElement} */ (document.getElementById("wall-sound"));
  /** @type {Set<number>} */
  const announced = new Set(); // incidents whose overdue alarm was sounded
  /** @type {AudioContext | null} */
  let audio = null;
  let soundOn = false;
  try {
    soundOn = window.localStorage.getItem(SOUND_KEY) === "1";
  } catch {
    soundOn = false;
  }

  const late = (incident) => countdown(store.deadlineOf(incident), store.now(), config.amberSeconds).text;

  function showSound() {
    soundButton.textContent = soundOn ? text.soundOn : text.soundOff;
    soundButton.setAttribute("aria-pressed", soundOn ? "true" : "false");
    soundButton.classList.toggle("is-on", soundOn);
  }

  function beep() {
    // Safari before 14.1 names it webkitAudioContext.
    const Context = window.AudioContext || /** @type {{webkitAudioContext?: typeof AudioContext}} */ (window).webkitAudioContext;
    if (!soundOn || !Context) return;
    try {
      audio = audio || new Context();
      if (audio.state === "suspended") audio.resume();
      for (const offset of [0, 0.35]) {
        const osc = audio.createOscillator();
        const gain = audio.createGain();
        osc.type = "square";
        osc.frequency.value = 880;
        gain.gain.setValueAtTime(0.0001, audio.currentTime + offset);
        gain.gain.exponentialRampToValueAtTime(0.25, audio.currentTime + offset + 0.02);
        gain.gain.exponentialRampToValueAtTime(0.0001, audio.currentTime + offset + 0.25);
        osc.connect(gain).connect(audio.destination);
        osc.start(audio.currentTime + offset);
        osc.stop(audio.currentTime + offset + 0.3);
      }
    } catch {
      // no sound device: the banner is enough
    }
  }

  showSound();
  soundButton.addEventListener("click", () => {
    soundOn = !soundOn;
    try {
      window.localStorage.setItem(SOUND_KEY, soundOn ? "1" : "0");
    } catch {
      // a private window: the choice lasts until the page is reloaded
    }
    showSound();
    if (soundOn) beep(); // also unlocks audio, which browsers allow only after a user gesture
  });

  function renderBanner(overdue, replaying) {
    if (replaying) {
      banner.hidden = true;
      return;
    }
    const fresh = overdue.filter((incident) => !announced.has(incident.id));
    for (const incident of fresh) announced.add(incident.id);
    if (!overdue.length) {
      banner.hidden = true;
      body.classList.remove("has-alarm");
      return;
    }
    clear(banner);
    const message = overdue.length === 1
      ? format(text.alarmBanner, { number: overdue[0].number })
      : format(text.alarmBannerMany, { count: overdue.length });
    banner.appendChild(el("span", "wall-alarm-icon", "⚠"));
    banner.appendChild(el("span", "wall-alarm-text", message));
    for (const incident of overdue.slice(0, 6)) {
      const chip = el("button", "wall-alarm-chip", incident.number + " " + late(incident));
      chip.type = "button";
      chip.addEventListener("click", () => onFocus(incident.id));
      banner.appendChild(chip);
    }
    banner.hidden = false;
    body.classList.add("has-alarm");
    if (fresh.length && store.state.ready) beep();
  }

  function render(replaying) {
    clear(box);
    if (replaying) {
      box.appendChild(el("li", "wall-empty", "–"));
      renderBanner([], true);
      return;
    }
    const overdue = store.overdueIncidents();
    const shown = new Set();
    for (const incident of overdue) {
      shown.add(Number(incident.id));
      const item = el("li", "wall-alarm-item is-overdue");
      item.dataset.incident = String(incident.id);
      item.appendChild(el("span", "wall-a-number", incident.number));
      item.appendChild(el("span", "wall-a-what", categoryName(incident, categories)));
      const cd = el("span", "wall-a-countdown", late(incident));
      cd.dataset.incident = String(incident.id);
      item.appendChild(cd);
      item.addEventListener("click", () => onFocus(incident.id));
      box.appendChild(item);
    }
    for (const alarm of store.state.alarms) {
      if (shown.has(Number(alarm.incident)) || (alarm.state && alarm.state !== "open" && alarm.state !== "raised")) continue;
      const item = el("li", "wall-alarm-item");
      item.dataset.incident = String(alarm.incident);
      item.appendChild(el("span", "wall-a-number", alarm.number));
      item.appendChild(el("span", "wall-a-what", alarm.kind_label || alarm.kind));
      item.appendChild(el("span", "wall-a-time", hhmm(alarm.raised_at || alarm.due_at)));
      item.addEventListener("click", () => onFocus(alarm.incident));
      box.appendChild(item);
    }
    if (!box.childNodes.length) box.appendChild(el("li", "wall-empty", text.noAlarms));
    const counts = store.state.counts;
    /** @type {HTMLElement} */ (document.getElementById("count-overdue")).textContent = String(
      Math.max(overdue.length, counts && !store.state.ready ? counts.overdue : 0),
    );
    renderBanner(overdue, false);
  }

  /** The countdowns of the panel and the banner, once a second (`overdue`: store.overdueIncidents()). */
  function tick(overdue) {
    for (const cd of /** @type {NodeListOf<HTMLElement>} */ (box.querySelectorAll(".wall-a-countdown"))) {
      const incident = store.incident(cd.dataset.incident);
      if (incident && store.deadlineOf(incident)) cd.textContent = late(incident);
    }
    banner.querySelectorAll(".wall-alarm-chip").forEach((chip, i) => {
      const incident = overdue[i];
      if (incident) chip.textContent = incident.number + " " + late(incident);
    });
  }

  return { render, tick, shownOverdue: () => box.querySelectorAll(".is-overdue").length, hideBanner: () => { banner.hidden = true; } };
}
