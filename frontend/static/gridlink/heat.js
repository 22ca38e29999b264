// The hot-spot layer (热点图) of the overview map and the wall map: a heat map of the cases of the
// last N days (7, 30 or 90), of one category or all, drawn by the Leaflet.heat plugin (npm
// `leaflet.heat`, static vendor/leaflet-heat, loaded as a classic script after Leaflet: it extends
// Leaflet's global `L`, which is read here, never written).
//
// The pages' scripts call `heatControl(map, config)` through a dynamic import of this module, with
// the configuration their view built (frontend/reports_trends_views.heat_config): the API
// (GET /api/v1/reports/heat/?subdistrict=&days=&category= → {points: [[lat, lon, cases]], ...}: the
// cases snapped to 25 m cells in SQL), the day choices, the categories and the words. The layer is
// off until its box is ticked; while on it is reloaded every RELOAD_MS. Text is set with textContent.
//
// Test hooks on the map's container: data-heat-state = off | loading | on | failed,
// data-heat-points = the points drawn, data-heat-cases = the cases behind them.

/** @typedef {import("../../types/api.js").components["schemas"]["Heat"]} Heat */

const RELOAD_MS = 5 * 60 * 1000;
const GRADIENT = { 0.3: "#2c7bb6", 0.5: "#00a6ca", 0.65: "#90eb9d", 0.8: "#f9d057", 0.9: "#f29e2e", 1: "#d7191c" };

// The API address for `days` and `category` (empty: every category).
export function heatUrl(base, days, category) {
  const url = new URL(base, "http://localhost");
  url.searchParams.set("days", String(days));
  if (category) url.searchParams.set("category", category);
  else url.searchParams.delete("category");
  return base.startsWith("http") ? url.toString() : url.pathname + url.search;
}

// The weight that draws as the hottest colour: the 95th percentile of the cells' counts (at least
// 2), so that one very busy cell does not leave every other hot spot pale.
/** @param {number[][]} points [lat, lon, cases] each */
export function heatMax(points) {
  if (!points.length) return 1;
  const weights = points.map((p) => p[2]).sort((a, b) => a - b);
  return Math.max(2, weights[Math.min(weights.length - 1, Math.floor(weights.length * 0.95))]);
}

// "%(name)s" placeholders of Django's translated strings, filled with plain text.
function fill(template, values) {
  return String(template).replace(/%\((\w+)\)s/g, (_match, key) => String(values[key] ?? ""));
}

function option(value, label, selected) {
  const item = document.createElement("option");
  item.value = String(value);
  item.textContent = label;
  item.selected = selected;
  return item;
}

/**
 * @param {import("leaflet").Map} map
 * @param {any} config the view's heat_config (null: no layer)
 * @param {{position?: import("leaflet").ControlPosition}} [options]
 */
export function heatControl(map, config, { position = "topright" } = {}) {
  const L = window.L;
  if (!L || typeof L.heatLayer !== "function" || !config) return null;
  const container = map.getContainer();
  const text = config.text;
  let layer = null;
  let timer = null;
  let request = 0;

  const box = document.createElement("div");
  box.className = "gl-heat leaflet-bar";
  box.dataset.testid = "heat-control";
  const toggleLabel = document.createElement("label");
  toggleLabel.className = "gl-heat-toggle";
  const toggle = document.createElement("input");
  toggle.type = "checkbox";
  toggle.dataset.testid = "heat-toggle";
  toggleLabel.append(toggle, document.createTextNode(` ${text.layer}`));
  const options = document.createElement("div");
  options.className = "gl-heat-options";
  options.hidden = true;
  const days = document.createElement("select");
  days.setAttribute("aria-label", text.period);
  days.dataset.testid = "heat-days";
  for (const n of config.days) days.append(option(n, fill(text.days, { days: n }), n === config.defaultDays));
  const category = document.createElement("select");
  category.setAttribute("aria-label", text.category);
  category.dataset.testid = "heat-category";
  category.append(option("", text.allCategories, true));
  for (const c of config.categories) category.append(option(c.code, c.name, false));
  const status = document.createElement("div");
  status.className = "gl-heat-status";
  status.setAttribute("role", "status");
  status.dataset.testid = "heat-status";
  options.append(days, category, status);
  box.append(toggleLabel, options);
  container.dataset.heatState = "off";

  function setState(state, message) {
    container.dataset.heatState = state;
    status.textContent = message || "";
  }

  async function load() {
    const mine = ++request;
    setState("loading", text.loading);
    /** @type {Heat} */
    let data;
    try {
      const response = await fetch(heatUrl(config.url, days.value, category.value),
        { credentials: "same-origin", headers: { Accept: "application/json" } });
      if (!response.ok) throw new Error(String(response.status));
      data = await response.json();
    } catch {
      if (mine === request && toggle.checked) setState("failed", text.failed);
      return;
    }
    if (mine !== request || !toggle.checked) return; // a newer choice, or switched off meanwhile
    const options = { radius: 16, blur: 14, maxZoom: 16, minOpacity: 0.3, max: heatMax(data.points), gradient: GRADIENT };
    const points = /** @type {[number, number, number][]} */ (data.points); // [lat, lon, cases]
    if (layer) {
      layer.setOptions(options);
      layer.setLatLngs(points);
    } else {
      layer = L.heatLayer(points, options).addTo(map);
    }
    container.dataset.heatPoints = String(data.points.length);
    container.dataset.heatCases = String(data.cases);
    setState("on", data.cases ? fill(text.cases, { cases: data.cases }) : text.none);
  }

  function switchOn() {
    options.hidden = false;
    load();
    timer = window.setInterval(load, RELOAD_MS);
  }

  function switchOff() {
    options.hidden = true;
    request += 1;
    window.clearInterval(timer);
    if (layer) {
      map.removeLayer(layer);
      layer = null;
    }
    delete container.dataset.heatPoints;
    delete container.dataset.heatCases;
    setState("off");
  }

  toggle.addEventListener("change", () => (toggle.checked ? switchOn() : switchOff()));
  days.addEventListener("change", load);
  category.addEventListener("change", load);

  const control = new L.Control({ position }); // what L.control() makes; @types/leaflet types the class only
  control.onAdd = () => {
    L.DomEvent.disableClickPropagation(box);
    L.DomEvent.disableScrollPropagation(box);
    return box;
  };
  control.addTo(map);
  return control;
}
