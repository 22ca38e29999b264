// The planner's map: the sub-district's boundary, communities, roads and places (the geo layers,
// fetched once), the grids in force as a faint outline, the grids of the open version (the draft's
// are editable: editor.js enables Geoman on them), and the overlays the tabs ask for — problems
// where they are, the impact's highlights, a comparison's shaded changes. Leaflet and Geoman are
// loaded by the page as classic scripts and define the global `L` — the libraries', not ours.
// Coordinates arrive as GeoJSON (lon, lat) and are swapped to Leaflet's (lat, lon) in geometry.js.
//
// Snapping (Geoman's): every polyline and polygon on the map is a snap target unless it says
// `snapIgnore: true` — here the draft grids, the boundary, the community borders and the roads
// are; the outline in force (it lies under the draft), points and overlays are not.
//
// Addresses (thousands in a sub-district) are fetched for the view only, from `pointsZoom` on: after
// each move (debounced by ADDRESS_DELAY_MS), the previous request aborted, the layer redrawn from the
// answer for the view's bbox.
//
// Labels are DOM elements with textContent (Leaflet would take a string as HTML).
//
// Test hooks: body[data-base-ready="1"] once the geo layers are drawn; body[data-map-view] = JSON
// {west, south, east, north, width, height} of the view after each move (a test turns (lon, lat)
// into pixels with it); body[data-addresses] = how many addresses are drawn, once a fetch is answered,
// body[data-addresses-bbox] = the view (west,south,east,north) they were asked for.

import { latLngOf, sameGeometry, swap, toLatLngs } from "./geometry.js";

const STYLE = {
  boundary: { color: "#b3261e", weight: 3, dashArray: "12 5 2 5", fill: false },
  community: { color: "#6b3fa0", weight: 2, dashArray: "6 4", fill: false },
  inForce: { color: "#5b6878", weight: 1, dashArray: "3 3", fill: false },
  grid: { color: "#1f5fae", weight: 2, fillColor: "#3d6fb0", fillOpacity: 0.08 },
  gridView: { color: "#444", weight: 1.5, fillColor: "#888", fillOpacity: 0.05 },
  selected: { color: "#d46b08", weight: 3.5, fillColor: "#fa8c16", fillOpacity: 0.18 },
  problem: { color: "#cf1322", weight: 4, fillColor: "#ff4d4f", fillOpacity: 0.35 },
  impact: { color: "#ad4e00", weight: 2, fillColor: "#fa8c16", fillOpacity: 0.25 },
  compare: { color: "#531dab", weight: 1, fillColor: "#722ed1", fillOpacity: 0.35 },
  road: { color: "#b8a77a", weight: 2, opacity: 0.8 },
  place: { radius: 3, color: "#3d3d3d", weight: 1, fillColor: "#ffffff", fillOpacity: 1 },
  address: { radius: 2.5, color: "#7a5c00", weight: 1, fillColor: "#ffd666", fillOpacity: 0.9 },
};

export const ADDRESS_DELAY_MS = 250;

function label(text) {
  const span = document.createElement("span");
  span.textContent = text;
  return span;
}

/** @param {number[]} lonLat @returns {[number, number]} */
function lonLatToLatLng([lon, lat]) {
  return [lat, lon];
}

/** createPlannerMap(element, config, {onGridClick(id, event), onMapClick()}) → the map's API. */
export function createPlannerMap(element, config, { onGridClick, onMapClick }) {
  const L = globalThis.L;
  const map = L.map(element, { zoomSnap: 0.25, zoomDelta: 0.5, minZoom: 10, maxZoom: 20, doubleClickZoom: false });
  if (config.tiles) {
    L.tileLayer(config.tiles.url, { attribution: config.tiles.attribution, maxZoom: 20 }).addTo(map);
  }
  L.control.scale({ imperial: false }).addTo(map);
  map.setView(config.center, config.zoom);
  /** @type {[string, number][]} */ ([
    ["pl-base", 380],
    ["pl-grids", 410],
    ["pl-overlay", 430],
  ]).forEach(([name, z]) => {
    map.createPane(name).style.zIndex = String(z);
  });
  const roadRenderer = L.canvas({ pane: "pl-base", tolerance: 2 });
  const text = config.text;

  const layers = {
    boundary: L.featureGroup().addTo(map),
    communities: L.featureGroup().addTo(map),
    roads: L.featureGroup().addTo(map),
    inForce: L.featureGroup().addTo(map),
    draft: L.featureGroup().addTo(map),
    places: L.featureGroup(),
    addresses: L.featureGroup(),
    problems: L.featureGroup().addTo(map),
    impact: L.featureGroup().addTo(map),
    compare: L.featureGroup().addTo(map),
  };
  L.control
    .layers(undefined, Object.fromEntries(Object.entries(layers).map(([name, layer]) => [text.layers[name], layer])), {
      collapsed: true,
    })
    .addTo(map);

  const gridLayers = new Map(); // grid id → L.Polygon
  const drawnGeometry = new WeakMap(); // L.Polygon → the grid geometry it was last drawn from
  let editable = false;
  let subdistrictBounds = null;

  function publishView() {
    const b = map.getBounds();
    const size = map.getSize();
    document.body.dataset.mapView = JSON.stringify({
      west: b.getWest(), south: b.getSouth(), east: b.getEast(), north: b.getNorth(), width: size.x, height: size.y,
    });
  }
  map.on("moveend zoomend resize", publishView);
  map.on("click", () => onMapClick?.());

  // Places only from `pointsZoom` on: thousands of points would hide the grids.
  function placesByZoom() {
    const show = map.getZoom() >= config.pointsZoom;
    if (show && !map.hasLayer(layers.places)) layers.places.addTo(map);
    if (!show && map.hasLayer(layers.places)) layers.places.remove();
  }
  map.on("zoomend", placesByZoom);

  // Addresses of the view, from `pointsZoom` on (the layer control can still hide them).
  let addressTimer = null;
  let addressRequest = null; // the AbortController of the fetch under way
  let addressesWanted = true;
  layers.addresses.on("add", () => {
    if (addressesWanted) return; // added by loadAddresses itself
    addressesWanted = true; // put back by the layer control
    scheduleAddresses();
  });
  layers.addresses.on("remove", () => {
    // Removed by the layer control (not by zooming out): not fetched again until it is back.
    if (map.getZoom() >= config.pointsZoom) addressesWanted = false;
  });

  async function loadAddresses() {
    addressRequest?.abort();
    addressRequest = null;
    if (!config.api.addresses || map.getZoom() < config.pointsZoom) {
      layers.addresses.clearLayers();
      layers.addresses.remove();
      document.body.dataset.addresses = "0";
      return;
    }
    if (!addressesWanted) return;
    const controller = new AbortController();
    addressRequest = controller;
    const b = map.getBounds();
    const bbox = [b.getWest(), b.getSouth(), b.getEast(), b.getNorth()].map((v) => v.toFixed(6)).join(",");
    let data;
    try {
      const response = await fetch(url(config.api.addresses, { bbox }), {
        credentials: "same-origin", headers: { Accept: "application/json" }, signal: controller.signal,
      });
      if (!response.ok) return;
      data = await response.json();
    } catch {
      return; // aborted by a newer move, or the network: the next move asks again
    } finally {
      if (addressRequest === controller) addressRequest = null;
    }
    if (controller.signal.aborted) return;
    layers.addresses.clearLayers();
    for (const f of features(data)) {
      if (f.geometry?.type !== "Point") continue;
      L.circleMarker(lonLatToLatLng(f.geometry.coordinates), { ...STYLE.address, pmIgnore: true, snapIgnore: true, pane: "pl-overlay" })
        .bindTooltip(label(f.properties?.text ?? ""))
        .addTo(layers.addresses);
    }
    if (!map.hasLayer(layers.addresses)) layers.addresses.addTo(map);
    document.body.dataset.addresses = String(layers.addresses.getLayers().length);
    document.body.dataset.addressesBbox = bbox;
  }

  function scheduleAddresses() {
    clearTimeout(addressTimer);
    addressTimer = setTimeout(loadAddresses, ADDRESS_DELAY_MS);
  }
  map.on("moveend", scheduleAddresses);

  function url(base, params = {}) {
    const full = new URL(base, window.location.origin);
    if (config.subdistrict) full.searchParams.set("subdistrict", config.subdistrict.code);
    for (const [key, value] of Object.entries(params)) full.searchParams.set(key, value);
    return full.toString();
  }

  async function fetchJson(base) {
    const response = await fetch(url(base), { credentials: "same-origin", headers: { Accept: "application/json" } });
    if (!response.ok) throw new Error(`${base}: HTTP ${response.status}`);
    return response.json();
  }

  function features(data) {
    if (!data) return [];
    if (data.type === "FeatureCollection") return data.features;
    if (Array.isArray(data)) return data;
    if (data.results) return features(data.results);
    return [];
  }

  function outline(feature, style, layer, pane = "pl-base", snappable = true) {
    const g = feature.geometry;
    if (!g || !["Polygon", "MultiPolygon"].includes(g.type)) return null;
    const polygon = L.polygon(toLatLngs(g), { ...style, pane, pmIgnore: true, snapIgnore: !snappable, interactive: false });
    polygon.addTo(layer);
    return polygon;
  }

  async function loadBase() {
    const results = await Promise.allSettled([
      fetchJson(config.api.boundary).then((data) => {
        for (const f of features(data)) {
          const polygon = outline(f, STYLE.boundary, layers.boundary, "pl-overlay");
          if (polygon) subdistrictBounds = polygon.getBounds();
        }
      }),
      fetchJson(config.api.communities).then((data) => {
        for (const f of features(data)) outline(f, STYLE.community, layers.communities);
      }),
      fetchJson(config.api.roads).then((data) => {
        for (const f of features(data)) {
          if (f.geometry?.type !== "LineString") continue;
          L.polyline(f.geometry.coordinates.map(lonLatToLatLng), {
            ...STYLE.road, renderer: roadRenderer, pmIgnore: true, snapIgnore: false, interactive: false,
          }).addTo(layers.roads);
        }
      }),
      fetchJson(config.api.grids).then((data) => {
        for (const f of features(data)) outline(f, STYLE.inForce, layers.inForce, "pl-base", false);
      }),
      fetchJson(config.api.places).then((data) => {
        for (const f of features(data)) {
          if (f.geometry?.type !== "Point") continue;
          L.circleMarker(lonLatToLatLng(f.geometry.coordinates), { ...STYLE.place, pmIgnore: true, snapIgnore: true, pane: "pl-overlay" })
            .bindTooltip(label(f.properties?.name ?? ""))
            .addTo(layers.places);
        }
      }),
    ]);
    if (subdistrictBounds) map.fitBounds(subdistrictBounds, { padding: [12, 12] });
    placesByZoom();
    scheduleAddresses();
    publishView();
    document.body.dataset.baseReady = "1";
    return results.filter((r) => r.status === "rejected").map((r) => r.reason);
  }

  function gridTooltip(grid) {
    return label(`${grid.code} ${grid.name}`);
  }

  /**
   * Draw the grids of the open version: `grids` is an array of {id, code, name, geometry}; a layer
   * whose drawn vertices already equal its grid's geometry is kept as it is (an edit in progress
   * keeps its Geoman markers). `isDraft`: the layers are snap targets and editable.
   */
  function showGrids(grids, isDraft) {
    if (isDraft !== editable) {
      for (const layer of gridLayers.values()) layer.remove();
      gridLayers.clear();
      editable = isDraft;
    }
    const seen = new Set();
    for (const grid of grids) {
      seen.add(grid.id);
      let layer = gridLayers.get(grid.id);
      if (layer && (drawnGeometry.get(layer) === grid.geometry || sameGeometry(drawnGeometry.get(layer), grid.geometry))) {
        drawnGeometry.set(layer, grid.geometry);
        layer.setTooltipContent(gridTooltip(grid));
        continue;
      }
      const latlngs = toLatLngs(grid.geometry);
      if (layer) {
        layer.setLatLngs(latlngs);
        layer.setTooltipContent(gridTooltip(grid));
      } else {
        layer = L.polygon(latlngs, {
          ...(isDraft ? STYLE.grid : STYLE.gridView),
          pane: "pl-grids",
          pmIgnore: !isDraft,
          snapIgnore: !isDraft,
        });
        layer.bindTooltip(gridTooltip(grid), { sticky: true });
        layer.on("click", (event) => {
          // While Geoman draws (a split line), the click is a vertex of the line: the map must get it.
          if (map.pm?.globalDrawModeEnabled()) return;
          L.DomEvent.stopPropagation(event);
          onGridClick?.(grid.id, event);
        });
        layer.addTo(layers.draft);
        gridLayers.set(grid.id, layer);
      }
      drawnGeometry.set(layer, grid.geometry);
    }
    for (const [id, layer] of gridLayers) {
      if (!seen.has(id)) {
        layer.remove();
        gridLayers.delete(id);
      }
    }
  }

  function setSelected(ids) {
    const chosen = new Set(ids);
    for (const [id, layer] of gridLayers) {
      layer.setStyle(chosen.has(id) ? STYLE.selected : editable ? STYLE.grid : STYLE.gridView);
      if (chosen.has(id)) layer.bringToFront();
    }
  }

  function drawGeometries(layer, items, style, onClick) {
    layer.clearLayers();
    for (const item of items) {
      const g = item.geometry;
      if (!g) continue;
      let drawn;
      const options = { ...style, pane: "pl-overlay", pmIgnore: true, snapIgnore: true };
      if (g.type === "Point") drawn = L.circleMarker(swap(g.coordinates), { ...options, radius: 7 });
      else if (g.type === "MultiPoint") drawn = L.featureGroup(g.coordinates.map((c) => L.circleMarker(swap(c), { ...options, radius: 7 })));
      else if (g.type === "LineString" || g.type === "MultiLineString") drawn = L.polyline(swap(g.coordinates), { ...options, weight: 5 });
      else if (g.type === "Polygon" || g.type === "MultiPolygon") drawn = L.polygon(swap(g.coordinates), options);
      else if (g.type === "GeometryCollection") {
        drawGeometries(layer, g.geometries.map((geometry) => ({ ...item, geometry })), style, onClick);
        continue;
      } else continue;
      if (item.label) drawn.bindTooltip(label(item.label), { sticky: true });
      if (onClick) drawn.on("click", () => onClick(item));
      drawn.addTo(layer);
    }
  }

  return {
    map,
    L,
    layers,
    loadBase,
    showGrids,
    setSelected,
    gridLayer: (id) => gridLayers.get(id),
    /** The layer of grid `id` already shows `geometry` (an edit the page made): no redraw for it. */
    markDrawn(id, geometry) {
      const layer = gridLayers.get(id);
      if (layer) drawnGeometry.set(layer, geometry);
    },
    gridLayers: () => gridLayers,
    /** Problems where they are: [{geometry, label}] (their `where`). */
    drawProblems: (items, onClick) => drawGeometries(layers.problems, items, STYLE.problem, onClick),
    drawImpact: (items) => drawGeometries(layers.impact, items, STYLE.impact),
    drawCompare: (items) => drawGeometries(layers.compare, items, STYLE.compare),
    /** Zoom to [[south, west], [north, east]]. */
    fitTo(bounds, maxZoom = 18) {
      if (!bounds) return;
      const [[s, w], [n, e]] = bounds;
      const pad = s === n && w === e ? 0.0005 : 0;
      map.fitBounds([[s - pad, w - pad], [n + pad, e + pad]], { padding: [40, 40], maxZoom });
    },
    latLngOf,
  };
}
