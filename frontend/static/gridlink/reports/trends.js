// The year-over-year page's charts and map, from #trends-config (frontend/reports_trends_views.py).
// ECharts and Leaflet are the npm packages' ES modules (static vendor/echarts, vendor/leaflet),
// imported when needed. One bar chart per statistic group (this year coloured by its zero-growth
// grade beside last year in grey), the satisfaction rate by month against last year, and the grids
// coloured by their growth. Every number is also in the page's tables: a chart or a map that cannot
// be drawn leaves the page whole. Text from data is set with textContent.
//
// Test hooks: body[data-trends-charts] = charts drawn, body[data-trends-grids] = grids on the map.

import {
  GRADE_COLOURS, GROWTH_CLASSES, LAST_YEAR_COLOUR, growthClass, growthColour, monthNumber, ratePercent,
} from "./trends-format.js";

/** @typedef {import("../../../types/api.js").components["schemas"]["Grid"]} Grid */

const configElement = document.getElementById("trends-config");
const config = configElement ? JSON.parse(configElement.textContent) : null;

function notice(element, message) {
  const note = document.createElement("p");
  note.className = "rp-note";
  note.textContent = message;
  element.replaceChildren(note);
}

function groupOption(group) {
  const months = group.months.map((m) => monthNumber(m.key));
  const title = group.ytd.text ? `${group.name}  ${group.ytd.text}` : group.name;
  return {
    animation: false,
    title: { text: title, left: 4, top: 0, textStyle: { fontSize: 13, color: GRADE_COLOURS[group.ytd.grade] } },
    grid: { left: 36, right: 8, top: 30, bottom: 22 },
    tooltip: { trigger: "axis" },
    legend: { right: 4, top: 0, itemWidth: 10, itemHeight: 8, textStyle: { fontSize: 11 } },
    xAxis: { type: "category", data: months, axisTick: { show: false } },
    yAxis: { type: "value", minInterval: 1, splitNumber: 3 },
    series: [
      {
        name: config.year, type: "bar", barGap: "10%",
        data: group.months.map((m) => ({ value: m.this, itemStyle: { color: GRADE_COLOURS[m.grade] } })),
      },
      {
        name: config.lastYear, type: "bar", itemStyle: { color: LAST_YEAR_COLOUR },
        data: group.months.map((m) => m.last),
      },
    ],
    aria: { enabled: true },
  };
}

function satisfactionOption() {
  const rows = config.satisfaction;
  const values = rows.flatMap((r) => [ratePercent(r.rate), ratePercent(r.lastRate)]).filter((v) => v !== null);
  const low = values.length ? Math.max(0, Math.floor((Math.min(...values) - 5) / 5) * 5) : 0;
  return {
    animation: false,
    grid: { left: 44, right: 12, top: 30, bottom: 24 },
    tooltip: { trigger: "axis", valueFormatter: (v) => (v === null || v === undefined ? "—" : `${v}%`) },
    legend: { right: 4, top: 0 },
    xAxis: { type: "category", data: rows.map((r) => monthNumber(r.key)) },
    yAxis: { type: "value", min: low, max: 100, interval: 100 - low > 40 ? 20 : 5, axisLabel: { formatter: "{value}%" } },
    series: [
      { name: config.year, type: "line", data: rows.map((r) => ratePercent(r.rate)), connectNulls: false,
        itemStyle: { color: GRADE_COLOURS.good }, lineStyle: { width: 3 } },
      { name: config.lastYear, type: "line", data: rows.map((r) => ratePercent(r.lastRate)),
        itemStyle: { color: LAST_YEAR_COLOUR }, lineStyle: { type: "dashed" } },
    ],
    aria: { enabled: true },
  };
}

async function drawCharts() {
  const box = document.getElementById("trends-charts");
  const satisfaction = document.getElementById("satisfaction-chart");
  if (!box) return;
  /** @type {typeof import("echarts")} */
  let echarts;
  try {
    echarts = await import(config.echarts);
  } catch {
    notice(box, config.text.chartFailed);
    return;
  }
  const charts = [];
  for (const group of config.groups) {
    const element = document.createElement("div");
    element.className = "tr-chart";
    element.dataset.group = group.code;
    box.append(element);
    const chart = echarts.init(element, null, { renderer: "svg" });
    chart.setOption(groupOption(group));
    charts.push(chart);
  }
  if (satisfaction) {
    const chart = echarts.init(satisfaction, null, { renderer: "svg" });
    chart.setOption(satisfactionOption());
    charts.push(chart);
  }
  const resize = () => charts.forEach((chart) => chart.resize());
  window.addEventListener("resize", resize);
  window.addEventListener("beforeprint", resize);
  window.addEventListener("afterprint", resize);
  document.body.dataset.trendsCharts = String(charts.length);
}

function gridTooltip(code, properties) {
  const value = config.grids[code] || { this: 0, last: 0, text: "" };
  const box = document.createElement("div");
  const title = document.createElement("strong");
  title.textContent = `${properties.name} (${code})`;
  const counts = document.createElement("div");
  counts.textContent = `${config.year}: ${value.this ?? "—"} · ${config.lastYear}: ${value.last}`;
  box.append(title, counts);
  if (value.text) {
    const change = document.createElement("div");
    change.textContent = `${config.text.change}: ${value.text}`;
    box.append(change);
  }
  return box;
}

function legend(L) {
  const control = L.control({ position: "bottomright" });
  control.onAdd = () => {
    const box = document.createElement("div");
    box.className = "tr-legend";
    for (const growth of GROWTH_CLASSES) {
      const row = document.createElement("div");
      const swatch = document.createElement("span");
      swatch.className = "tr-swatch";
      swatch.style.background = growth.colour;
      const label = document.createElement("span");
      label.textContent = config.text.legend[growth.name];
      row.append(swatch, label);
      box.append(row);
    }
    return box;
  };
  return control;
}

async function drawMap() {
  const element = document.getElementById("trends-map");
  if (!element) return;
  if (!config.gridsUrl) {
    notice(element, config.text.noGrids);
    return;
  }
  /** @type {typeof import("leaflet")} */
  const L = await import(config.leaflet);
  const response = await fetch(config.gridsUrl, { credentials: "same-origin", headers: { Accept: "application/json" } });
  if (!response.ok) throw new Error(`grids: ${response.status}`);
  // GET api/v1/geo/grids/: GeoJSON; the map reads each grid's code (the API's `Grid` properties).
  /** @type {import("geojson").FeatureCollection<import("geojson").MultiPolygon, Required<NonNullable<Grid["properties"]>>>} */
  const data = await response.json();
  const map = L.map(element, { zoomSnap: 0.25, attributionControl: false, scrollWheelZoom: false });
  let drawn = 0;
  const layer = L.geoJSON(data, {
    style: (feature) => ({
      color: "#44546a", weight: 1, fillOpacity: 0.75,
      fillColor: growthColour(config.grids[/** @type {typeof data.features[number]} */ (feature).properties.code]),
    }),
    onEachFeature: (feature, item) => {
      drawn += 1;
      const code = feature.properties.code;
      /** @type {import("leaflet").PathOptions} */ (item.options).className = `tr-grid tr-grid-${growthClass(config.grids[code])}`;
      item.bindTooltip(() => gridTooltip(code, feature.properties), { sticky: true });
    },
  }).addTo(map);
  legend(L).addTo(map);
  const bounds = layer.getBounds();
  if (bounds.isValid()) map.fitBounds(bounds, { padding: [8, 8] });
  window.addEventListener("beforeprint", () => map.invalidateSize());
  document.body.dataset.trendsGrids = String(drawn);
}

// A printed page holds every unit, also those folded away on screen.
window.addEventListener("beforeprint", () => {
  for (const details of document.querySelectorAll("details.tr-more")) /** @type {HTMLDetailsElement} */ (details).open = true;
});

if (config) {
  drawCharts().catch(() => notice(document.getElementById("trends-charts"), config.text.chartFailed));
  drawMap().catch(() => notice(document.getElementById("trends-map"), config.text.mapFailed));
}
