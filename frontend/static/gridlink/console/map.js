// The console's map: the offline basemap (core/basemap.js), the open cases as circles coloured by
// status (major ones ringed in red), the pins and the banner of the case being placed.
//
// Pins: one per purpose — the hotline call ("call"), the assignment form ("assign"), the case of
// the needs-location queue being placed ("locate"); only the active form's pin shows (and the
// locate pin while a case is being placed). A pin put by a click or a drag is in the tiles' datum
// (TILE_DATUM: GCJ-02 tiles give GCJ-02 points); one put at a gazetteer match is WGS 84. Each pin
// keeps its datum and every request with its point names it: the server converts to WGS 84.
//
// Leaflet is loaded by the page as a classic script and defines the global `L` — the library's,
// not ours. Cases arrive as (lon, lat) and are swapped to Leaflet's (lat, lng) here.

import { create, pinIcon } from "../core/basemap.js";
import { clear, el } from "../core/dom.js";
import { casePopup } from "./case-views.js";

/** @typedef {import("./types.js").CaseView} CaseView @typedef {import("./types.js").ConsoleConfig} ConsoleConfig */
/** @typedef {import("./types.js").ConsoleText} ConsoleText @typedef {import("./types.js").PinKind} PinKind */
/** @typedef {import("./types.js").Pin} Pin @typedef {import("leaflet").LatLng} LatLng */
/** @typedef {import("leaflet").Marker & {datum: string}} PinMarker a pin that knows its datum */
/** @typedef {ReturnType<typeof createConsoleMap>} ConsoleMap */

/** @type {Record<PinKind, string>} */
const PIN_COLOURS = { call: "#1565c0", assign: "#6a1b9a", locate: "#ef6c00" };
// Colours only: the statuses and their labels are the server's (core/shared.js).
/** @type {Record<string, string>} */
const STATUS_COLOURS = {
  needs_location: "#ef6c00",
  new: "#1565c0",
  dispatched: "#00838f",
  arrived: "#2e7d32",
  reported: "#558b2f",
  transferred: "#6d4c41",
  assigned: "#6a1b9a",
  in_progress: "#5e35b1",
  completed: "#455a64",
  reported_to_command: "#455a64",
  resolved: "#607d8b",
  fed_back: "#90a4ae",
};

/**
 * The map in #`containerId`. `config` is the page's configuration, `text` its words, `hrefOf(id)`
 * a case's page; `banner` the element above the map. Callbacks: `onClick(latlng)` for a click on
 * the map, `onPinMoved(kind)` when a pin is put or dragged.
 * @param {string} containerId
 * @param {object} options
 * @param {ConsoleConfig} options.config
 * @param {ConsoleText} options.text
 * @param {(id: number) => string} options.hrefOf
 * @param {HTMLElement} options.banner
 * @param {(latlng: LatLng) => void} options.onClick
 * @param {(kind: PinKind) => void} options.onPinMoved
 */
export function createConsoleMap(containerId, { config, text, hrefOf, banner, onClick, onPinMoved }) {
  const L = globalThis.L;
  const base = create(containerId, config.map, {});
  const map = base.map;
  const tileDatum = (config.map.tiles && config.map.tiles.datum) || "WGS84";
  const incidentLayer = L.featureGroup().addTo(map);
  /** @type {Record<PinKind, PinMarker | null>} */
  const pins = { call: null, assign: null, locate: null };
  /** @type {Record<number, import("leaflet").CircleMarker>} */
  let markersById = {};
  // Polling redraws the markers: the case whose popup is open keeps it open.
  /** @type {number | null} */
  let openPopupId = null;

  map.on("click", (event) => onClick(event.latlng));

  /** Draws the cases (views with a lonLat) anew; `highlightId`'s marker is marked. @param {CaseView[]} views @param {number | null} highlightId */
  function drawIncidents(views, highlightId) {
    const reopen = openPopupId;
    incidentLayer.clearLayers();
    markersById = {};
    for (const view of views) {
      if (!view.lonLat) continue;
      const marker = L.circleMarker([view.lonLat[1], view.lonLat[0]], {
        pane: "gl-incidents",
        radius: view.major ? 9 : 7,
        color: view.major ? "#b71c1c" : "#ffffff",
        weight: view.major ? 3 : 2,
        fillColor: STATUS_COLOURS[view.status] || "#1565c0",
        fillOpacity: 0.95,
        className: view.id === highlightId ? "gl-incident is-highlight" : "gl-incident",
      });
      marker.bindPopup(() => casePopup(view, { text, href: hrefOf(view.id) }));
      marker.bindTooltip(`${view.number} ${view.category}`, { direction: "top", offset: [0, -6] });
      marker.on("popupopen", () => {
        openPopupId = view.id;
      });
      marker.on("popupclose", () => {
        if (openPopupId === view.id) openPopupId = null;
      });
      marker.addTo(incidentLayer);
      markersById[view.id] = marker;
    }
    if (reopen !== null && markersById[reopen]) markersById[reopen].openPopup();
  }

  /** Flies to a case and opens its popup. @param {CaseView} view */
  function focusCase(view) {
    if (!view.lonLat) return;
    map.flyTo(L.latLng(view.lonLat[1], view.lonLat[0]), Math.max(map.getZoom(), 16), { duration: 0.6 });
    const marker = markersById[view.id];
    if (marker) map.once("moveend", () => marker.openPopup());
  }

  /** Puts the `kind` pin at `latlng` (in `datum`, by default the tiles'). @param {PinKind} kind @param {LatLng} latlng @param {string} [datum] */
  function setPin(kind, latlng, datum) {
    let pin = pins[kind];
    if (!pin) {
      const created = /** @type {PinMarker} */ (L.marker(latlng, { draggable: true, pane: "gl-pin", icon: pinIcon(PIN_COLOURS[kind], `is-${kind}`), autoPan: true }));
      created.on("dragend", () => {
        created.datum = tileDatum;
        onPinMoved(kind);
      });
      pin = pins[kind] = created.addTo(map);
    } else {
      pin.setLatLng(latlng);
      if (!map.hasLayer(pin)) pin.addTo(map);
    }
    pin.datum = datum || tileDatum;
    onPinMoved(kind);
  }

  /** Puts the `kind` pin at a (lon, lat) in `datum` and flies there (street level). @param {PinKind} kind @param {number[]} lonLat @param {string} datum */
  function dropPinAt(kind, lonLat, datum) {
    const latlng = L.latLng(lonLat[1], lonLat[0]);
    setPin(kind, latlng, datum);
    map.flyTo(latlng, Math.max(map.getZoom(), 17), { duration: 0.6 });
  }

  /** The `kind` pin as {latlng, datum}, or null when it is not put. @param {PinKind} kind @returns {Pin | null} */
  function pinOf(kind) {
    const pin = pins[kind];
    return pin ? { latlng: pin.getLatLng(), datum: pin.datum } : null;
  }

  /** @param {PinKind} kind */
  function removePin(kind) {
    const pin = pins[kind];
    if (!pin) return;
    map.removeLayer(pin);
    pins[kind] = null;
  }

  /** Shows the pin of the form `kind` (and the locate pin when `locating`), hides the others. @param {string} kind @param {boolean} locating */
  function showPinsFor(kind, locating) {
    for (const [k, pin] of /** @type {[PinKind, PinMarker | null][]} */ (Object.entries(pins))) {
      if (!pin) continue;
      const visible = k === kind || (k === "locate" && locating);
      if (visible && !map.hasLayer(pin)) pin.addTo(map);
      else if (!visible && map.hasLayer(pin)) map.removeLayer(pin);
    }
  }

  /** The banner over the map with a Cancel button; none when `message` is empty. @param {string | null} message @param {() => void} [onCancel] */
  function showBanner(message, onCancel) {
    clear(banner);
    banner.hidden = !message;
    if (!message) return;
    banner.appendChild(el("span", null, message));
    if (onCancel) {
      const cancel = el("button", "btn btn-small btn-quiet", text.cancel);
      cancel.type = "button";
      cancel.addEventListener("click", onCancel);
      banner.appendChild(cancel);
    }
  }

  /** The crosshair cursor while a case is being placed. @param {boolean} placing */
  function setPlacing(placing) {
    map.getContainer().classList.toggle("is-placing", placing);
  }

  return { map, ready: base.ready, drawIncidents, focusCase, setPin, dropPinAt, pinOf, removePin, showPinsFor, showBanner, setPlacing };
}
