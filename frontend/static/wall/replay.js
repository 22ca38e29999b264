// Replay of a past day on its own layers: the date picker, play/pause, the speed and the slider,
// the banner; the map, the queue and the counts as they stood (replay-model.js computes them).
// Leaving it shows the live layers again and the page reloads its snapshot (`onExit`).

import { format } from "../gridlink/core/dom.js";
import * as http from "../gridlink/core/http.js";
import { shared } from "../gridlink/core/shared.js";
import { renderCounts } from "./charts.js";
import { latLngOf, scale } from "./look.js";
import { frameAt, panelsAt, prepareDay } from "./replay-model.js";
import { dayOf } from "./time.js";

/**
 * The day replayed: the API's answer (GET …/replay/?date=, typed from the OpenAPI document) and
 * as replay-model.js prepares it; the layers drawn of it.
 * @typedef {import("./replay-model.js").Replay} Replay
 * @typedef {import("./replay-model.js").Day} Day
 * @typedef {{day: Day | null, markers: Record<string, import("leaflet").Marker & {status?: string}>,
 *   routes: Record<number, import("leaflet").Polyline>, members: Record<string, import("leaflet").CircleMarker>,
 *   t: number, playing: boolean, speed: number, lastFrame: number, lastDraw: number,
 *   panelKey: string | null}} ReplayState
 */

/** createReplay({config, text, store, mapView, queue, alarms, card, header, onExit}) → {active()}. */
export function createReplay({ config, text, store, mapView, queue, alarms, card, header, onExit }) {
  const L = globalThis.L;
  const body = document.body;
  const map = mapView.map;
  const dateInput = /** @type {HTMLInputElement} */ (document.getElementById("replay-date"));
  const controls = /** @type {HTMLElement} */ (document.getElementById("replay-controls"));
  const slider = /** @type {HTMLInputElement} */ (document.getElementById("replay-slider"));
  const playButton = /** @type {HTMLButtonElement} */ (document.getElementById("replay-play"));
  const speedSelect = /** @type {HTMLSelectElement} */ (document.getElementById("replay-speed"));
  const exitButton = /** @type {HTMLButtonElement} */ (document.getElementById("replay-exit"));
  const banner = /** @type {HTMLElement} */ (document.getElementById("wall-replay-banner"));
  const layers = L.layerGroup();
  /** @type {ReplayState} */
  const replay = { day: null, markers: {}, routes: {}, members: {}, t: 0, playing: false, speed: 300, lastFrame: 0, lastDraw: 0, panelKey: null };
  let active = false;

  // Yesterday and before, in the sub-district's time zone.
  dateInput.max = dayOf(store.now() - 86400 * 1000, shared.timeZone);

  function draw() {
    const day = /** @type {Day} */ (replay.day); // drawn only while a day is loaded
    const t = replay.t;
    slider.value = String(Math.round((t - day.start) / 1000));
    header.showClock(t);
    const frame = frameAt(day, t, store.isGone);
    const shownIds = new Set();
    for (const { incident, status } of frame.incidents) {
      shownIds.add(String(incident.id));
      const shown = { id: incident.id, status, major: incident.major, category: incident.category };
      let marker = replay.markers[incident.id];
      if (!marker) {
        // on the map: it has a point (frameAt)
        marker = L.marker(/** @type {import("leaflet").LatLng} */ (latLngOf(incident.point)), { icon: mapView.incidentIcon(shown, "is-replay"), pane: "wall-incidents", keyboard: false });
        marker.status = status;
        replay.markers[incident.id] = marker;
        marker.addTo(layers);
      } else if (marker.status !== status) {
        marker.status = status;
        marker.setIcon(mapView.incidentIcon(shown, "is-replay"));
      }
    }
    for (const id of Object.keys(replay.markers)) {
      if (!shownIds.has(id)) {
        layers.removeLayer(replay.markers[id]);
        delete replay.markers[id];
      }
    }
    const onTheWay = new Set(frame.onTheWay);
    day.orders.forEach((order, index) => {
      const line = replay.routes[index];
      if (onTheWay.has(index) && order.route && order.route.length >= 2) {
        if (!line) {
          // [lon, lat] pairs: none is null
          replay.routes[index] = L.polyline(/** @type {import("leaflet").LatLng[]} */ (order.route.map(latLngOf)), {
            renderer: mapView.routeRenderer,
            color: "#40c8ff",
            weight: 3 * scale(),
            opacity: 0.8,
            className: "wall-route is-replay",
            interactive: false,
          }).addTo(layers);
        }
      } else if (line) {
        layers.removeLayer(line);
        delete replay.routes[index];
      }
    });
    for (const member of Object.keys(replay.members)) {
      if (!frame.positions[member]) {
        layers.removeLayer(replay.members[member]);
        delete replay.members[member];
      }
    }
    for (const [member, p] of Object.entries(frame.positions)) {
      const latlng = L.latLng(p[1], p[0]);
      const style = mapView.memberStyle({ status: frame.busy[member] ? "busy" : "on_duty" });
      const marker = replay.members[member];
      if (!marker) {
        replay.members[member] = L.circleMarker(latlng, style).addTo(layers);
      } else {
        marker.setLatLng(latlng);
        if (marker.options.fillColor !== style.fillColor) {
          marker.setStyle(style);
          marker.setRadius(style.radius);
        }
      }
    }
    body.dataset.replayIncidents = String(Object.keys(replay.markers).length);
    // The queue and today's charts as they stood (redrawn when a case appears or changes).
    const panels = panelsAt(day, t, { isGone: store.isGone, isDone: store.isDone, statuses: shared.statuses });
    if (panels.key !== replay.panelKey) {
      replay.panelKey = panels.key;
      queue.render(panels.open);
      renderCounts(panels.counts, true);
    }
  }

  /** @param {number} stamp */
  function frame(stamp) {
    if (!replay.playing || !active) return;
    // Playing: a day is loaded (start(); exit() stops playing first).
    const dt = stamp - replay.lastFrame;
    replay.lastFrame = stamp;
    replay.t = Math.min(/** @type {Day} */ (replay.day).end, replay.t + dt * replay.speed);
    // About 12 frames a second are enough and keep 692 markers light.
    if (stamp - replay.lastDraw > 80 || replay.t >= /** @type {Day} */ (replay.day).end) {
      replay.lastDraw = stamp;
      draw();
    }
    if (replay.t >= /** @type {Day} */ (replay.day).end) {
      setPlaying(false);
      return;
    }
    window.requestAnimationFrame(frame);
  }

  /** @param {boolean} playing */
  function setPlaying(playing) {
    replay.playing = playing;
    playButton.textContent = playing ? text.pause : text.play;
    if (playing) {
      replay.lastFrame = performance.now();
      window.requestAnimationFrame(frame);
    }
  }

  /** @param {Replay} data */
  function start(data) {
    active = true;
    body.classList.add("is-replay");
    body.dataset.replay = data.date;
    card.close();
    alarms.hideBanner();
    mapView.showLive(false);
    layers.clearLayers();
    layers.addTo(map);
    replay.day = prepareDay(data);
    replay.panelKey = null;
    replay.markers = {};
    replay.routes = {};
    replay.members = {};
    replay.t = replay.day.start;
    // Today's grid loads and alarms do not belong to that day.
    store.state.gridLoads = {};
    mapView.restyleGrids();
    alarms.render(true);
    slider.min = "0";
    slider.max = String(Math.round((replay.day.end - replay.day.start) / 1000));
    slider.value = "0";
    controls.hidden = false;
    banner.hidden = false;
    banner.textContent = format(text.replaying, { date: data.date });
    if (!(data.incidents || []).length && !Object.keys(data.tracks || {}).length) banner.textContent += " — " + text.replayEmpty;
    draw();
    setPlaying(true);
  }

  /** @param {string} date */
  function enter(date) {
    banner.hidden = false;
    banner.textContent = text.connecting;
    http.get(config.api.replay, { date }).then((result) => {
      if (!result.ok || !result.data) {
        banner.textContent = text.replayError;
        return;
      }
      start(result.data);
    });
  }

  function exit() {
    setPlaying(false);
    active = false;
    body.classList.remove("is-replay");
    delete body.dataset.replay;
    controls.hidden = true;
    banner.hidden = true;
    dateInput.value = "";
    map.removeLayer(layers);
    layers.clearLayers();
    replay.day = null;
    mapView.showLive(true);
    onExit();
  }

  dateInput.addEventListener("change", () => {
    if (dateInput.value) {
      setPlaying(false);
      enter(dateInput.value);
    }
  });
  playButton.addEventListener("click", () => {
    if (replay.day && replay.t >= replay.day.end) replay.t = replay.day.start;
    setPlaying(!replay.playing);
  });
  speedSelect.addEventListener("change", () => {
    replay.speed = Number(speedSelect.value) || 300;
  });
  replay.speed = Number(speedSelect.value) || 300;
  slider.addEventListener("input", () => {
    if (!replay.day) return;
    replay.t = replay.day.start + Number(slider.value) * 1000;
    draw();
  });
  exitButton.addEventListener("click", exit);

  return { active: () => active };
}
