// The district map (/district/): the grids, cases and members of all the user's sub-districts, as
// vector tiles (/api/v1/tiles/, geo/tiles.py) drawn by MapLibre GL JS — an npm package served by our
// static files (vendor/maplibre), imported from the URL the server gives (no global, no CDN).
//
// Configuration and words: the json_script element #district-config (frontend/district_views.py);
// statuses' labels and the time zone from #gridlink-shared. Popups are built with DOM calls and
// textContent only: names and numbers come from people.
//
// Test hook: document.body.dataset.districtReady = "1" once the map's style has loaded.

import { el } from "../core/dom.js";
import { pageConfig, shared } from "../core/shared.js";
import { districtStyle, popupRows, STYLE_LAYERS } from "./style.js";

/** @typedef {import("./style.js").DistrictConfig} DistrictConfig */

const config = /** @type {DistrictConfig} */ (pageConfig("district-config"));
const container = /** @type {HTMLElement} */ (document.getElementById("district-map"));

const timeFormat = new Intl.DateTimeFormat(document.documentElement.lang || undefined, {
  timeZone: shared.timeZone, month: "2-digit", day: "2-digit", hour: "2-digit", minute: "2-digit",
});

/**
 * A popup's content: title, rows and the case's link.
 * @param {{title: string, rows: [string, string][], link: string | null}} content
 */
function popupNode(content) {
  const box = el("div", "gl-popup");
  box.append(el("strong", null, content.title));
  for (const [label, value] of content.rows) {
    box.append(el("div", null, label ? `${label}: ${value}` : value));
  }
  if (content.link) {
    const link = el("a", null, config.text.open);
    link.href = content.link;
    box.append(link);
  }
  return box;
}

/**
 * The layer switcher: a checkbox per tile layer.
 * @param {import("maplibre-gl").Map} map
 */
function layerSwitcher(map) {
  const panel = el("div", "district-layers");
  for (const [layer, styleLayers] of Object.entries(STYLE_LAYERS)) {
    const label = el("label");
    const box = el("input");
    box.type = "checkbox";
    box.checked = true;
    box.dataset.layer = layer;
    box.addEventListener("change", () => {
      for (const id of styleLayers) map.setLayoutProperty(id, "visibility", box.checked ? "visible" : "none");
    });
    label.append(box, el("span", null, config.layers[layer]));
    panel.append(label);
  }
  container.append(panel);
}

async function main() {
  /** @type {typeof import("maplibre-gl")} */
  let maplibregl;
  try {
    maplibregl = await import(config.library);
  } catch (error) {
    container.append(el("p", "district-error", config.text.loadError));
    throw error;
  }
  const map = new maplibregl.Map({
    container,
    style: districtStyle(config, location.origin),
    center: config.center,
    zoom: config.zoom,
    maxZoom: 20,
    attributionControl: config.basemap ? {} : false,
  });
  if (config.bounds) map.fitBounds(config.bounds, { padding: 20, animate: false });
  map.addControl(new maplibregl.NavigationControl({ showCompass: false }), "top-left");
  map.addControl(new maplibregl.ScaleControl({}), "bottom-left");
  map.on("error", (event) => console.warn("district map:", event.error));
  map.on("load", () => {
    document.body.dataset.districtReady = "1";
  });
  layerSwitcher(map);

  const clickable = /** @type {const} */ ([["members", "members"], ["incidents", "incidents"], ["grids-fill", "grids"]]);
  map.on("click", (event) => {
    // The topmost feature under the pointer: members, then cases, then grids.
    for (const [styleLayer, layer] of clickable) {
      const [feature] = map.queryRenderedFeatures(event.point, { layers: [styleLayer] });
      if (!feature) continue;
      const properties = { ...feature.properties, id: feature.id };
      const content = popupRows(layer, properties, config, {
        statuses: shared.statuses,
        format: (seconds) => timeFormat.format(new Date(seconds * 1000)),
      });
      new maplibregl.Popup({ maxWidth: "320px" }).setLngLat(event.lngLat).setDOMContent(popupNode(content)).addTo(map);
      return;
    }
  });
  for (const [styleLayer] of clickable) {
    map.on("mouseenter", styleLayer, () => { map.getCanvas().style.cursor = "pointer"; });
    map.on("mouseleave", styleLayer, () => { map.getCanvas().style.cursor = ""; });
  }
}

main();
