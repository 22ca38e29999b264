// The offline basemap as the overview map, the incident page, the console and the wall draw it:
// our own GeoJSON layers (boundary, land, waters, roads with their names, communities, grids with
// their names); internet tiles only when TILE_URL is configured. Leaflet is the library global `L`
// (vendor/leaflet/leaflet.js, a classic script loaded before the modules), read, never written.
//
// No innerHTML anywhere: every text that comes from data is set with textContent, since names are
// typed by people.

import { el } from "./dom.js";

// The layers' answers, typed from the API's OpenAPI document (frontend/types/api.d.ts): a field
// renamed in geo's serializers fails `tsc` here. Drawn<F>: a Feature as drawn, its properties and
// geometry there (the schemas mark every GeoJSON member optional).
/** @typedef {import("../../../types/api.js").components["schemas"]} Schemas */
/**
 * @template {{properties?: unknown, geometry?: unknown}} F
 * @typedef {F & {properties: NonNullable<F["properties"]>, geometry: NonNullable<F["geometry"]>}} Drawn
 */
/** @template F @typedef {{type: "FeatureCollection", features: F[]}} Layer */
/** @typedef {Drawn<Schemas["Road"]> & {geometry: {coordinates: number[][]}}} Road */
/** @typedef {NonNullable<Schemas["Road"]["properties"]>} RoadProperties */
/** @typedef {NonNullable<Schemas["Community"]["properties"]>} CommunityProperties */
/** @typedef {NonNullable<Schemas["Grid"]["properties"]>} GridProperties */

// ---- the basemap ------------------------------------------------------------------------------

const COLOURS = {
  land: "#f7f6f2",
  water: "#a8cde6",
  waterEdge: "#7fb0d4",
  boundary: "#b3261e",
  community: "#6b3fa0",
  grid: "#3d6fb0",
};

// Road classes drawn from minor to major so that major roads lie on top; widths in pixels
// at zoom 15, scaled with the zoom.
const ROAD_CLASSES = ["path", "local", "secondary", "arterial"];
const ROAD_STYLES = {
  arterial: { fill: "#f6c86b", casing: "#c9963a", width: 7 },
  secondary: { fill: "#fff3c4", casing: "#c7b27a", width: 5 },
  local: { fill: "#ffffff", casing: "#c4c4c4", width: 3.5 },
  path: { fill: "#a39c8f", casing: null, width: 1.5, dashArray: "4 3" },
};
// Zoom levels from which road names show.
const ARTERIAL_NAME_ZOOM = 14;
const SECONDARY_NAME_ZOOM = 15.5;
// Names of arterial and secondary roads: at most one per ROAD_LABEL_SPACING_M of the same name.
const ROAD_LABEL_SPACING_M = 1200;

// The layers of the basemap, in the order of the layer switcher.
const BASE_OVERLAYS = ["boundary", "communities", "grids", "roads", "waters"];

// Draws the offline basemap into a new Leaflet map on `containerId`. `mapConfig` is the map
// configuration (frontend.views.map_config). Options, all optional:
//   fit: false            do not fit the view to the sub-district once its boundary is drawn;
//   fitOptions(map)       Leaflet fitBounds options for that fit (default 16 px all round);
//   layerControl: false   no layer switcher; or {collapsed, baseLayers} where baseLayers: true
//                         offers the configured tiles and the offline basemap as base layers;
//   overlays              the page's own layers, [{name, layer, url, draw(data)}], shown in the
//                         switcher under mapConfig.layers[name] and loaded with the basemap
//                         (left out when `url` is empty);
//   panes                 the page's own panes, [[name, zIndex]] (default: incidents and pin);
//   scaleMaxWidth         width of the scale bar (default 140);
//   onGrid(feature, layer, style)  makes the grids clickable (with a transparent fill), for
//                         popups and hover styles; `style` is their normal style;
//   communityLabelsBelow  community names lie under grid names;
//   onLayerError(name, error)  called when a layer fails to load.
// Returns {map, ready, layers, fitSubdistrict}: `ready` resolves when every layer has settled
// (failed layers are logged, not fatal). Test hooks: document.body.dataset.<layer>Loaded = the
// number of features once a layer is drawn (e.g. data-grids-loaded="52"), <layer>Error = "1" when
// it failed, data-map-ready="1" once every layer has settled.
export function create(containerId, mapConfig, options = {}) {
  const L = globalThis.L;
  const text = mapConfig.text || {};
  const overlayLayers = (options.overlays || []).filter(function (overlay) {
    return Boolean(overlay.url);
  });
  const map = L.map(containerId, {
    center: mapConfig.center,
    zoom: mapConfig.zoom,
    minZoom: 10,
    maxZoom: 19,
    zoomSnap: 0.25,
    zoomDelta: 0.5,
    zoomControl: false,
  });
  L.control.zoom({ zoomInTitle: text.zoomIn, zoomOutTitle: text.zoomOut, position: "topleft" }).addTo(map);
  L.control.scale({ imperial: false, maxWidth: options.scaleMaxWidth || 140 }).addTo(map);

  // Panes fix the drawing order whatever order the layers arrive in.
  /** @type {[string, number][]} */ ([
    ["gl-land", 210],
    ["gl-water", 300],
    ["gl-roads", 350],
    ["gl-grids", 410],
    ["gl-communities", 420],
    ["gl-boundary", 430],
    ["gl-labels", 450],
  ]
    .concat(
      options.panes || [
        ["gl-incidents", 620],
        ["gl-pin", 650],
      ]
    ))
    .forEach(function (pane) {
      map.createPane(pane[0]).style.zIndex = String(pane[1]);
    });
  // Both panes were created just above.
  /** @type {HTMLElement} */ (map.getPane("gl-labels")).style.pointerEvents = "none";
  /** @type {HTMLElement} */ (map.getPane("gl-land")).style.pointerEvents = "none";
  const roadRenderer = L.canvas({ pane: "gl-roads", tolerance: 2 });
  const waterRenderer = L.canvas({ pane: "gl-water" });

  const layers = {
    boundary: L.featureGroup().addTo(map),
    waters: L.featureGroup().addTo(map),
    roads: L.featureGroup().addTo(map),
    communities: L.featureGroup().addTo(map),
    grids: L.featureGroup().addTo(map),
  };
  overlayLayers.forEach(function (overlay) {
    layers[overlay.name] = overlay.layer.addTo(map);
  });
  const landLayer = L.featureGroup().addTo(map);
  let subdistrictBounds = null;
  const fitted = [];

  let tiles = null;
  if (mapConfig.tiles && mapConfig.tiles.url) {
    tiles = L.tileLayer(mapConfig.tiles.url, { attribution: mapConfig.tiles.attribution || "", maxZoom: 19 }).addTo(map);
  }
  if (options.layerControl !== false) {
    const control = options.layerControl || {};
    /** @type {import("leaflet").Control.LayersObject | null} */
    let baseLayers = null;
    if (tiles && control.baseLayers) {
      baseLayers = {};
      baseLayers[mapConfig.layers.tiles] = tiles;
      baseLayers[mapConfig.layers.offline] = L.layerGroup();
      map.on("baselayerchange", function (event) {
        // The land fill of the offline basemap would hide the tiles.
        const online = event.layer === tiles;
        landLayer.eachLayer(function (layer) {
          /** @type {import("leaflet").Path} */ (layer).setStyle({ fillOpacity: online ? 0 : 1 });
        });
      });
    }
    /** @type {import("leaflet").Control.LayersObject} */
    const overlays = {};
    BASE_OVERLAYS.concat(
      overlayLayers.map(function (overlay) {
        return overlay.name;
      })
    ).forEach(function (name) {
      overlays[mapConfig.layers[name]] = layers[name];
    });
    L.control
      .layers(/** @type {import("leaflet").Control.LayersObject | undefined} */ (baseLayers), overlays, { collapsed: control.collapsed !== false, position: "topright" })
      .addTo(map);
  }

  // Road names depend on the zoom: classes on the map container switch them on (see app.css).
  function zoomClasses() {
    const zoom = map.getZoom();
    const container = map.getContainer();
    container.classList.toggle("show-arterial-names", zoom >= ARTERIAL_NAME_ZOOM);
    container.classList.toggle("show-secondary-names", zoom >= SECONDARY_NAME_ZOOM);
  }
  map.on("zoomend", zoomClasses);
  zoomClasses();

  function labelMarker(latlng, className, label, angle, zIndexOffset) {
    const span = el("span", "gl-label-text", label);
    if (angle) {
      span.style.transform = "translate(-50%, -50%) rotate(" + angle.toFixed(1) + "deg)";
    }
    return L.marker(latlng, {
      icon: L.divIcon({ className: "gl-label " + className, html: span, iconSize: [0, 0] }),
      interactive: false,
      keyboard: false,
      pane: "gl-labels",
      zIndexOffset: zIndexOffset || 0,
    });
  }

  // Area labels show only where their area is wide enough on screen for the text, so that
  // small grids do not pile their names on top of each other when zoomed out.
  function fitLabel(entry) {
    const nw = map.latLngToLayerPoint(entry.bounds.getNorthWest());
    const se = map.latLngToLayerPoint(entry.bounds.getSouthEast());
    entry.fits = entry.textWidth < (se.x - nw.x) * 0.9 && entry.textHeight < (se.y - nw.y) * 0.7;
    const icon = entry.marker.getElement();
    if (icon) {
      icon.classList.toggle("is-fitted", entry.fits);
    }
  }

  // Once most grid names show, community names step back into faint background text.
  function fitLabels() {
    let grids = 0;
    let gridsFitted = 0;
    fitted.forEach(function (entry) {
      fitLabel(entry);
      if (entry.kind === "grid") {
        grids += 1;
        gridsFitted += entry.fits ? 1 : 0;
      }
    });
    map.getContainer().classList.toggle("show-grid-labels", grids > 0 && gridsFitted * 2 >= grids);
  }
  map.on("zoomend", fitLabels);

  function addFittedLabel(layer, kind, bounds, lonLat, label, fontPx) {
    // Community names may lie under grid names (see app.css: they turn into faint background text).
    const below = kind === "community" && options.communityLabelsBelow ? -10000 : 0;
    const marker = labelMarker(L.latLng(lonLat[1], lonLat[0]), "gl-label-" + kind, label, 0, below).addTo(layer);
    // Wide CJK glyphs are about one em; a Latin name is narrower, so this errs on the safe side.
    const entry = { kind: kind, marker: marker, bounds: bounds, textWidth: String(label).length * fontPx + 8, textHeight: fontPx + 4 };
    fitted.push(entry);
    marker.on("add", function () {
      fitLabel(entry);
    });
    fitLabel(entry);
  }

  function layerUrl(base) {
    const url = new URL(base, window.location.origin);
    if (mapConfig.subdistrict) {
      url.searchParams.set("subdistrict", mapConfig.subdistrict.code);
    }
    return url.toString();
  }

  function fetchLayer(base) {
    return fetch(layerUrl(base), { credentials: "same-origin", headers: { Accept: "application/json" } }).then(
      function (response) {
        if (!response.ok) {
          throw new Error(base + ": HTTP " + response.status);
        }
        return response.json();
      }
    );
  }

  /** @param {Layer<Drawn<Schemas["Subdistrict"]>>} data */
  function drawBoundary(data) {
    const land = L.geoJSON(data, {
      pane: "gl-land",
      interactive: false,
      style: { stroke: false, fillColor: COLOURS.land, fillOpacity: mapConfig.tiles && mapConfig.tiles.url ? 0 : 1 },
    }).addTo(landLayer);
    // A white halo under the red line keeps the boundary readable over roads.
    L.geoJSON(data, {
      pane: "gl-boundary",
      interactive: false,
      style: { color: "#ffffff", weight: 7, opacity: 0.8, fill: false },
    }).addTo(layers.boundary);
    L.geoJSON(data, {
      pane: "gl-boundary",
      interactive: false,
      style: { color: COLOURS.boundary, weight: 3, dashArray: "12 5 2 5", fill: false },
    }).addTo(layers.boundary);
    if (data.features.length) {
      subdistrictBounds = land.getBounds();
      map.setMaxBounds(subdistrictBounds.pad(0.6));
      if (options.fit !== false) {
        fitSubdistrict();
      }
    }
  }

  function fitSubdistrict() {
    if (subdistrictBounds) {
      map.fitBounds(subdistrictBounds, options.fitOptions ? options.fitOptions(map) : { padding: [16, 16] });
    }
  }

  function drawWaters(data) {
    // `renderer` is a path option, passed on to the layers the GeoJSON makes.
    L.geoJSON(
      data,
      /** @type {import("leaflet").GeoJSONOptions} */ ({
        pane: "gl-water",
        renderer: waterRenderer,
        interactive: false,
        style: { color: COLOURS.waterEdge, weight: 1, fillColor: COLOURS.water, fillOpacity: 1 },
      })
    ).addTo(layers.waters);
  }

  const roadLines = [];

  function roadWidth(style, zoom) {
    // Half as wide two zooms out, twice as wide two zooms in, within sensible limits.
    const width = style.width * Math.pow(2, (zoom - 15) / 2);
    return Math.max(style.width * 0.35, Math.min(width, style.width * 2.2));
  }

  function restyleRoads() {
    const zoom = map.getZoom();
    roadLines.forEach(function (entry) {
      const width = roadWidth(entry.style, zoom);
      entry.layer.setStyle({ weight: entry.casing ? width + 2 : width });
    });
  }

  /** @param {Layer<Road>} data */
  function drawRoads(data) {
    const byClass = {};
    data.features.forEach(function (feature) {
      const cls = ROAD_STYLES[feature.properties.road_class] ? feature.properties.road_class : "local";
      (byClass[cls] = byClass[cls] || []).push(feature);
    });
    ROAD_CLASSES.forEach(function (cls) {
      const features = byClass[cls];
      if (!features) {
        return;
      }
      const style = ROAD_STYLES[cls];
      const collection = /** @type {import("geojson").FeatureCollection} */ ({ type: "FeatureCollection", features: features });
      if (style.casing) {
        const casing = L.geoJSON(collection, /** @type {import("leaflet").GeoJSONOptions} */ ({
          renderer: roadRenderer,
          interactive: false,
          style: function (/** @type {any} */ feature) {
            return {
              color: /** @type {RoadProperties} */ (feature.properties).is_bridge ? "#6f6a60" : style.casing,
              weight: style.width + 2,
              lineCap: "round",
              lineJoin: "round",
            };
          },
        }));
        casing.addTo(layers.roads);
        roadLines.push({ layer: casing, style: style, casing: true });
      }
      // Roads take no clicks: a click goes to what lies above them (a grid's popup on the map
      // page) or to the map (the incident's pin on the console).
      const fill = L.geoJSON(collection, /** @type {import("leaflet").GeoJSONOptions} */ ({
        renderer: roadRenderer,
        interactive: false,
        style: { color: style.fill, weight: style.width, dashArray: style.dashArray || null, lineCap: "round", lineJoin: "round" },
      }));
      fill.addTo(layers.roads);
      roadLines.push({ layer: fill, style: style, casing: false });
    });
    restyleRoads();
    map.on("zoomend", restyleRoads);
    drawRoadLabels(data.features);
  }

  // Names along the road; angles are taken in the projected plane, where they do not change
  // with the zoom.
  /** @param {Road[]} features */
  function drawRoadLabels(features) {
    const placed = {};
    features.forEach(function (feature) {
      const p = feature.properties;
      if ((p.road_class !== "arterial" && p.road_class !== "secondary") || !p.name) {
        return;
      }
      const coords = feature.geometry.coordinates;
      if (coords.length < 2) {
        return;
      }
      // The middle vertex pair of the segment.
      const i = Math.max(0, Math.floor(coords.length / 2) - 1);
      const a = L.latLng(coords[i][1], coords[i][0]);
      const b = L.latLng(coords[i + 1][1], coords[i + 1][0]);
      if (map.distance(a, b) < 120) {
        return;
      }
      const middle = L.latLng((a.lat + b.lat) / 2, (a.lng + b.lng) / 2);
      const others = placed[p.name] || (placed[p.name] = []);
      for (let k = 0; k < others.length; k += 1) {
        if (map.distance(others[k], middle) < ROAD_LABEL_SPACING_M) {
          return;
        }
      }
      others.push(middle);
      const pa = L.CRS.EPSG3857.project(a);
      const pb = L.CRS.EPSG3857.project(b);
      let angle = (Math.atan2(-(pb.y - pa.y), pb.x - pa.x) * 180) / Math.PI;
      if (angle > 90) {
        angle -= 180;
      } else if (angle < -90) {
        angle += 180;
      }
      labelMarker(middle, "gl-label-road is-" + p.road_class, p.name, angle).addTo(layers.roads);
    });
  }

  /** @param {Layer<Drawn<Schemas["Community"]>>} data */
  function drawCommunities(data) {
    L.geoJSON(data, {
      pane: "gl-communities",
      interactive: false,
      style: { color: COLOURS.community, weight: 2.5, opacity: 0.9, fill: false },
      onEachFeature: function (feature, layer) {
        const p = /** @type {CommunityProperties} */ (feature.properties);
        if (p.label_point) {
          addFittedLabel(layers.communities, "community", /** @type {import("leaflet").Polygon} */ (layer).getBounds(), p.label_point, p.name, 15);
        }
      },
    }).addTo(layers.communities);
  }

  /** @param {Layer<Drawn<Schemas["Grid"]>>} data */
  function drawGrids(data) {
    const onGrid = options.onGrid;
    const style = { color: COLOURS.grid, weight: 1.2, opacity: 0.85, dashArray: "5 4" };
    if (onGrid) {
      // A transparent fill makes the whole grid clickable.
      style.fillColor = COLOURS.grid;
      style.fillOpacity = 0;
    } else {
      style.fill = false;
    }
    L.geoJSON(data, {
      pane: "gl-grids",
      interactive: Boolean(onGrid),
      style: style,
      onEachFeature: function (feature, layer) {
        const p = /** @type {GridProperties} */ (feature.properties);
        if (onGrid) {
          onGrid(feature, layer, style);
        }
        if (p.label_point) {
          addFittedLabel(layers.grids, "grid", /** @type {import("leaflet").Polygon} */ (layer).getBounds(), p.label_point, p.name, 12);
        }
      },
    }).addTo(layers.grids);
    fitLabels();
  }

  const builders = [
    ["boundary", mapConfig.api.subdistricts, drawBoundary],
    ["waters", mapConfig.api.waters, drawWaters],
    ["roads", mapConfig.api.roads, drawRoads],
    ["communities", mapConfig.api.communities, drawCommunities],
    ["grids", mapConfig.api.grids, drawGrids],
  ].concat(
    overlayLayers.map(function (overlay) {
      return [overlay.name, overlay.url, overlay.draw];
    })
  );
  const ready = mapConfig.subdistrict
    ? Promise.all(
        builders.map(function (b) {
          return fetchLayer(b[1])
            .then(function (data) {
              b[2](data);
              document.body.dataset[b[0] + "Loaded"] = String(data.features.length);
            })
            .catch(function (error) {
              document.body.dataset[b[0] + "Error"] = "1";
              if (options.onLayerError) {
                options.onLayerError(b[0], error);
              }
              console.error(error);
            });
        })
      )
    : Promise.resolve();
  ready.then(function () {
    document.body.dataset.mapReady = "1";
  });
  return { map: map, ready: ready, layers: layers, fitSubdistrict: fitSubdistrict };
}

// A map pin (a teardrop in `colour`), anchored at its tip.
export function pinIcon(colour, className) {
  const L = globalThis.L;
  const pin = el("span", "gl-pin-shape");
  pin.style.setProperty("--pin-colour", colour);
  pin.appendChild(el("span", "gl-pin-dot"));
  return L.divIcon({ className: "gl-pin " + (className || ""), html: pin, iconSize: [28, 38], iconAnchor: [14, 37], popupAnchor: [0, -34] });
}

export { COLOURS as colours, ROAD_CLASSES as roadClasses, ROAD_STYLES as roadStyles };
