// GridLink sub-district map (/): the offline basemap of core/basemap.js (our own GeoJSON layers; no
// internet tiles unless TILE_URL is configured) with clickable grids, places and the grid members
// on top, a legend, and the hot-spot layer (heat.js) for the roles that may read it.
//
// Reads its configuration from the json_script element #map-config (frontend.views.map_config: API
// URLs, layer names and words in the user's language, tile settings). Every text that comes from
// data is put in the page with textContent only: names and addresses are typed by people, so they
// are never parsed as HTML.
//
// Test hooks (set by core/basemap.js): document.body.dataset.<layer>Loaded = number of features
// once a layer is drawn (e.g. data-grids-loaded="52"), data-map-ready="1" once every layer has
// settled.

import { colours as COLOURS, create, roadClasses, roadStyles } from "./core/basemap.js";
import { el } from "./core/dom.js";
import { time } from "./core/format.js";
import { pageConfig } from "./core/shared.js";

/** @typedef {import("../../types/api.js").components["schemas"]} Schemas */
/** @typedef {Schemas["PlaceList"]} PlaceList */
/** @typedef {Schemas["MemberMapList"]} MemberMapList */
/** @typedef {Schemas["Grid"]} Grid */
/**
 * A place's properties; `contact` (the contact member's name) only for the staff roles: the
 * serializer drops the field for the others, and so the OpenAPI document, generated without a
 * request, does not name it (geo/serializers.py PlaceSerializer).
 * @typedef {NonNullable<Schemas["Place"]["properties"]> & {contact?: string | null}} PlaceProperties
 */
/** @typedef {NonNullable<Schemas["MemberMap"]["properties"]>} MemberProperties */
/** @typedef {NonNullable<Grid["properties"]>} GridProperties */

const L = globalThis.L;
const config = pageConfig("map-config");
const text = config.text;

const PLACE_COLOURS = {
  residential_complex: "#2e7d32",
  construction_site: "#ef6c00",
  enterprise: "#6d4c41",
  park_building: "#00838f",
  school: "#c2185b",
  market: "#f9a825",
  other: "#757575",
};

const FORCE_COLOURS = {
  command_room: "#b71c1c",
  police: "#1565c0",
  police_call_centre: "#0d47a1",
  traffic_station: "#0288d1",
  grid_worker: "#2e7d32",
  grid_leader: "#1b5e20",
  safety_enforcement: "#e65100",
  urban_management: "#6a1b9a",
  labour_inspection: "#ad1457",
  building_station: "#795548",
  office_staff: "#455a64",
  station_staff: "#78909c",
  property_contact: "#00897b",
  site_contact: "#f57c00",
  enterprise_contact: "#5d4037",
  park_contact: "#00acc1",
};

// Popups pan clear of the zoom buttons (left) and the layer switcher and legend (right).
/** @type {import("leaflet").PopupOptions} */
const POPUP_OPTIONS = {
  maxWidth: 320,
  autoPanPaddingTopLeft: [60, 60],
  autoPanPaddingBottomRight: [300, 40],
};

/**
 * A popup: a title and rows of [label, value]; rows without a value are left out.
 * @param {string | undefined} title
 * @param {string | null | undefined} subtitle
 * @param {[string, unknown][]} rows
 */
function popupContent(title, subtitle, rows) {
  const box = el("div", "gl-popup");
  box.appendChild(el("div", "gl-popup-title", title));
  if (subtitle) box.appendChild(el("div", "gl-popup-subtitle", subtitle));
  const list = el("dl", "gl-popup-rows");
  for (const [label, value] of rows) {
    if (value === undefined || value === null || value === "") continue;
    list.appendChild(el("dt", null, label));
    list.appendChild(el("dd", null, value));
  }
  if (list.childNodes.length) box.appendChild(list);
  return box;
}

// ---- the map -------------------------------------------------------------------------------

const layers = {
  places: L.featureGroup(),
  members: L.featureGroup(),
};

/**
 * Grids answer a click with their popup and light up under the mouse.
 * @param {Grid} feature
 * @param {import("leaflet").Path} layer
 * @param {import("leaflet").PathOptions} normal
 */
function onGrid(feature, layer, normal) {
  const p = /** @type {GridProperties} */ (feature.properties);
  layer.bindPopup(
    () =>
      popupContent(p.name, null, [
        [text.code, p.code],
        [text.community, p.community],
        [text.version, p.version],
      ]),
    POPUP_OPTIONS,
  );
  // A null dashArray draws the line solid (Leaflet drops the attribute); @types/leaflet has no null.
  layer.on("mouseover", () =>
    layer.setStyle(/** @type {import("leaflet").PathOptions} */ (/** @type {unknown} */ ({ fillOpacity: 0.1, weight: 2, dashArray: null }))),
  );
  layer.on("mouseout", () => layer.setStyle(normal));
}

/**
 * Places are small squares, members round dots: the two never look alike.
 * @param {PlaceProperties} p
 */
function placeIcon(p) {
  const square = el("span", "gl-place-square");
  square.style.setProperty("--place-colour", PLACE_COLOURS[p.kind] || PLACE_COLOURS.other);
  return L.divIcon({ className: "gl-place", html: square, iconSize: [10, 10], iconAnchor: [5, 5] });
}

/** @param {PlaceList} data */
function drawPlaces(data) {
  L.geoJSON(/** @type {import("geojson").FeatureCollection} */ (data), {
    pointToLayer: (feature, latlng) =>
      L.marker(latlng, { icon: placeIcon(/** @type {PlaceProperties} */ (feature.properties)), pane: "gl-places", keyboard: false }),
    onEachFeature: (feature, layer) => {
      const p = /** @type {PlaceProperties} */ (feature.properties);
      layer.bindPopup(
        () =>
          popupContent(p.name, p.kind_display, [
            [text.address, p.address],
            [text.contact, p.contact],
          ]),
        POPUP_OPTIONS,
      );
    },
  }).addTo(layers.places);
  return /** @type {Schemas["Place"][]} */ (data.features).length;
}

/** @param {MemberProperties} p */
function memberIcon(p) {
  const dot = el("span", "gl-member-dot");
  dot.style.setProperty("--force-colour", FORCE_COLOURS[p.force] || "#455a64");
  return L.divIcon({
    className: `gl-member ${p.on_duty ? "is-on-duty" : "is-off-duty"}`,
    html: dot,
    iconSize: [14, 14],
    iconAnchor: [7, 7],
    popupAnchor: [0, -6],
  });
}

/** @param {MemberMapList} data */
function drawMembers(data) {
  L.geoJSON(/** @type {import("geojson").FeatureCollection} */ (data), {
    pointToLayer: (feature, latlng) => {
      const p = /** @type {MemberProperties} */ (feature.properties);
      return L.marker(latlng, {
        icon: memberIcon(p),
        keyboard: false,
        riseOnHover: true,
        zIndexOffset: p.on_duty ? 1000 : 0,
      });
    },
    onEachFeature: (feature, layer) => {
      const p = /** @type {MemberProperties} */ (feature.properties);
      layer.bindPopup(() => {
        // The time of the last position in the sub-district's time zone (from the server).
        /** @type {[string, unknown]} */
        const where = p.position_recorded_at
          ? [text.positionAt, time(p.position_recorded_at, true)]
          : [text.position, text.homePosition];
        return popupContent(p.name, `${p.force_display} · ${p.on_duty ? text.onDuty : text.offDuty}`, [
          [text.unit, p.unit],
          [text.grids, (p.grids || []).join(", ")],
          where,
        ]);
      }, POPUP_OPTIONS);
    },
  }).addTo(layers.members);
  return /** @type {Schemas["MemberMap"][]} */ (data.features).length;
}

// ---- notices ---------------------------------------------------------------------------------

/** @typedef {import("leaflet").Control & {show(message: string): void}} NoticeControl */
/** @typedef {import("leaflet").Control & {_box: HTMLElement}} NoticeThis */
const Notice = L.Control.extend({
  options: { position: "topleft" },
  /** @this {NoticeThis} */
  onAdd() {
    this._box = el("div", "gl-notice");
    this._box.hidden = true;
    return this._box;
  },
  /** @this {NoticeThis} @param {string} message */
  show(message) {
    this._box.textContent = message;
    this._box.hidden = false;
  },
});
// Added once the map exists; a layer that fails before (it cannot: loading is asynchronous)
// would find no notice to show.
/** @type {NoticeControl | null} */
let notice = null;
/** @param {string} message */
function showNotice(message) {
  if (notice) notice.show(message);
}

// ---- the basemap and the layer switcher ----------------------------------------------------

const base = create("map", config, {
  scaleMaxWidth: 160,
  panes: [["gl-places", 500]],
  layerControl: { collapsed: false, baseLayers: true },
  overlays: [
    { name: "places", layer: layers.places, url: config.api.places, draw: drawPlaces },
    { name: "members", layer: layers.members, url: config.api.members, draw: drawMembers },
  ],
  onGrid,
  communityLabelsBelow: true,
  // Keep the sub-district clear of the layer switcher and legend on the right.
  fitOptions(leafletMap) {
    const right = leafletMap.getContainer().querySelector(".leaflet-right .leaflet-control-layers");
    const rightWidth = right ? right.offsetWidth + 12 : 0;
    return { paddingTopLeft: [24, 24], paddingBottomRight: [rightWidth + 24, 24] };
  },
  onLayerError: () => showNotice(text.loadError),
});
const map = base.map;

// The hot-spot layer (a toggle under the layer switcher): its own module, offered to the roles
// that may read it (config.heat is null for the others).
if (config.heat) {
  import(config.heat.module)
    .then((heat) => heat.heatControl(map, config.heat, { position: "topright" }))
    .catch(() => showNotice(text.loadError)); // the map works on without the layer
}

// ---- the legend ---------------------------------------------------------------------------------

function legendSection(title) {
  const section = el("section", "gl-legend-section");
  if (title) section.appendChild(el("h3", null, title));
  const list = el("ul");
  section.appendChild(list);
  return { section, list };
}

function legendItem(list, swatchClass, colour, label) {
  const item = el("li");
  const swatch = el("span", `gl-swatch ${swatchClass}`);
  if (colour) swatch.style.setProperty("--swatch-colour", colour);
  item.appendChild(swatch);
  item.appendChild(el("span", null, label));
  list.appendChild(item);
}

const Legend = L.Control.extend({
  options: { position: "bottomright" },
  onAdd() {
    const box = el("details", "gl-legend leaflet-bar");
    box.open = true;
    box.appendChild(el("summary", null, text.legend));
    const body = el("div", "gl-legend-body");
    box.appendChild(body);

    const areas = legendSection(null);
    legendItem(areas.list, "is-line is-boundary", COLOURS.boundary, config.layers.boundary);
    legendItem(areas.list, "is-line is-community", COLOURS.community, config.layers.communities);
    legendItem(areas.list, "is-line is-grid", COLOURS.grid, config.layers.grids);
    legendItem(areas.list, "is-area", COLOURS.water, config.layers.waters);
    body.appendChild(areas.section);

    const roads = legendSection(config.layers.roads);
    for (const cls of roadClasses.slice().reverse()) {
      legendItem(roads.list, `is-road is-road-${cls}`, roadStyles[cls].fill, config.roadClasses[cls] || cls);
    }
    body.appendChild(roads.section);

    const places = legendSection(config.layers.places);
    for (const kind of Object.keys(PLACE_COLOURS)) {
      legendItem(places.list, "is-place", PLACE_COLOURS[kind], config.placeKinds[kind] || kind);
    }
    body.appendChild(places.section);

    if (config.api.members) {
      const members = legendSection(config.layers.members);
      legendItem(members.list, "is-member is-on-duty", "#455a64", text.onDuty);
      legendItem(members.list, "is-member is-off-duty", "#455a64", text.offDuty);
      const forceBox = el("details", "gl-legend-forces");
      forceBox.appendChild(el("summary", null, text.force));
      const forces = el("ul");
      for (const force of Object.keys(FORCE_COLOURS)) {
        legendItem(forces, "is-member is-on-duty", FORCE_COLOURS[force], config.forces[force] || force);
      }
      forceBox.appendChild(forces);
      members.section.appendChild(forceBox);
      body.appendChild(members.section);
    }
    L.DomEvent.disableClickPropagation(box);
    L.DomEvent.disableScrollPropagation(box);
    return box;
  },
});
new Legend().addTo(map);

notice = /** @type {NoticeControl} */ (new Notice().addTo(map));
if (!config.subdistrict) notice.show(text.noData);
