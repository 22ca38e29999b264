// The district map's MapLibre style and popup rows (district/map.js draws them), kept apart from the
// DOM and the library so that node --test can check them (tests/district.test.mjs).
//
// Our own layers only: the three vector tile layers of /api/v1/tiles/ (geo/tiles.py) — grids,
// cases, members — on a plain background, and under them the raster basemap when TILE_URL is
// configured (as on the other pages: offline by default). No text labels: a symbol layer needs a
// glyph server, which an offline deployment has not.

/** @typedef {import("maplibre-gl").StyleSpecification} StyleSpecification */
/** @typedef {import("maplibre-gl").LayerSpecification} LayerSpecification */

/**
 * The page's configuration (frontend/district_views.py district_config).
 * @typedef {object} DistrictConfig
 * @property {string} library  the URL of maplibre-gl.mjs (static vendor/maplibre)
 * @property {string} tiles  the tiles' URL with {layer}, {z}, {x} and {y}
 * @property {string} incident  a case's page with {id}
 * @property {{url: string, attribution: string} | null} basemap
 * @property {[number, number]} center  (lon, lat)
 * @property {number} zoom
 * @property {[number, number, number, number] | null} bounds  the user's sub-districts (W, S, E, N)
 * @property {Record<string, string>} layers
 * @property {Record<string, string>} text
 * @property {Record<string, string>} forces
 */

// The zooms each layer's tiles are asked for: fewer, smaller tiles where they would be a blur; the
// last tile zoom is drawn over-zoomed beyond it.
export const ZOOMS = {
  grids: { min: 10, max: 16 },
  incidents: { min: 8, max: 16 },
  members: { min: 12, max: 16 },
};

export const COLOURS = {
  background: "#eef1f5",
  grid: "#2e7d32",
  open: "#ef6c00",
  major: "#c62828",
  closed: "#9e9e9e",
  member: "#1565c0",
  offDuty: "#ffffff",
};

/**
 * The absolute URL of a layer's tiles (MapLibre's workers need one).
 * @param {string} template  config.tiles
 * @param {string} layer
 * @param {string} origin  location.origin
 */
export function tileUrl(template, layer, origin) {
  return new URL(template.replace("{layer}", encodeURIComponent(layer)), origin).href
    .replace(/%7B/g, "{")
    .replace(/%7D/g, "}");
}

/**
 * The style: the background, the optional basemap and the three tile layers.
 * @param {DistrictConfig} config
 * @param {string} origin
 * @returns {StyleSpecification}
 */
export function districtStyle(config, origin) {
  /** @type {StyleSpecification["sources"]} */
  const sources = {};
  /** @type {LayerSpecification[]} */
  const layers = [{ id: "background", type: "background", paint: { "background-color": COLOURS.background } }];
  if (config.basemap) {
    sources.basemap = {
      type: "raster",
      tiles: [config.basemap.url.replace("{s}", "a")],
      tileSize: 256,
      attribution: config.basemap.attribution,
    };
    layers.push({ id: "basemap", type: "raster", source: "basemap" });
  }
  for (const [name, zoom] of Object.entries(ZOOMS)) {
    sources[name] = {
      type: "vector",
      tiles: [tileUrl(config.tiles, name, origin)],
      minzoom: zoom.min,
      maxzoom: zoom.max,
    };
  }
  layers.push(
    {
      id: "grids-fill", type: "fill", source: "grids", "source-layer": "grids",
      paint: { "fill-color": COLOURS.grid, "fill-opacity": 0.08 },
    },
    {
      id: "grids-line", type: "line", source: "grids", "source-layer": "grids",
      paint: { "line-color": COLOURS.grid, "line-width": 1 },
    },
    {
      id: "incidents", type: "circle", source: "incidents", "source-layer": "incidents",
      paint: {
        "circle-radius": ["interpolate", ["linear"], ["zoom"], 8, 3, 16, 8],
        "circle-color": ["case", ["==", ["get", "status"], "closed"], COLOURS.closed,
          ["get", "major"], COLOURS.major, COLOURS.open],
        "circle-stroke-color": "#ffffff",
        "circle-stroke-width": 1,
      },
    },
    {
      id: "members", type: "circle", source: "members", "source-layer": "members",
      paint: {
        "circle-radius": ["interpolate", ["linear"], ["zoom"], 12, 3, 16, 6],
        "circle-color": ["case", ["get", "on_duty"], COLOURS.member, COLOURS.offDuty],
        "circle-stroke-color": COLOURS.member,
        "circle-stroke-width": 1.5,
      },
    },
  );
  return { version: 8, sources, layers };
}

// The style layers of each tile layer (what the layer switcher shows or hides).
export const STYLE_LAYERS = {
  grids: ["grids-fill", "grids-line"],
  incidents: ["incidents"],
  members: ["members"],
};

/**
 * A feature's popup: a title and rows of [label, value]; rows without a value are left out. Plain
 * text, put in the page with textContent (district/map.js).
 * @param {string} layer  the tile layer
 * @param {Record<string, unknown>} p  the feature's properties
 * @param {DistrictConfig} config
 * @param {{statuses?: Record<string, string>, format: (epochSeconds: number) => string}} words
 * @returns {{title: string, rows: [string, string][], link: string | null}}
 */
export function popupRows(layer, p, config, words) {
  const text = config.text;
  /** @type {[string, unknown][]} */
  let rows;
  let title;
  let link = null;
  if (layer === "grids") {
    title = String(p.name ?? "");
    rows = [[text.code, p.code], [text.subdistrict, p.subdistrict_name], [text.version, p.version]];
  } else if (layer === "incidents") {
    title = String(p.number ?? "");
    const status = String(p.status ?? "");
    rows = [
      [text.category, p.category_name],
      [text.status, (words.statuses && words.statuses[status]) || status],
      [text.major, p.major ? "✔" : null],
      [text.subdistrict, p.subdistrict],
      [text.reportedAt, typeof p.reported_at === "number" ? words.format(p.reported_at) : null],
    ];
    if (config.incident && p.id !== undefined) link = config.incident.replace("{id}", String(p.id));
  } else {
    title = String(p.name ?? "");
    const force = String(p.force ?? "");
    rows = [
      [text.code, p.code],
      [text.force, config.forces[force] || force],
      [text.subdistrict, p.subdistrict],
      ["", p.on_duty ? text.onDuty : text.offDuty],
      ["", p.at_home ? text.atHome : null],
    ];
  }
  const kept = /** @type {[string, string][]} */ (rows
    .filter(([, value]) => value !== undefined && value !== null && value !== "")
    .map(([label, value]) => [label, String(value)]));
  return { title, rows: kept, link };
}
