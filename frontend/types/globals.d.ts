// The globals the pages' modules read but never write (style.md convention 10: no globals of our
// own): Leaflet's `L`, loaded as a classic script (static vendor/leaflet) before the modules, with the
// plugins that extend it — Leaflet-Geoman on the planners' page (`map.pm`, `layer.pm`) and
// Leaflet.heat for the hot-spot layer (`L.heatLayer`); and on the wall ECharts' `echarts`, also a
// classic script (static vendor/echarts), typed by the package's own declarations. Where a page loads Leaflet or ECharts as an
// ES module instead (`await import(config.leaflet)`), the import's URL comes from the server and the
// module is typed where it is used.
import type * as Leaflet from "leaflet";
import "@geoman-io/leaflet-geoman-free";
import "leaflet.heat";
import type * as ECharts from "echarts";

declare global {
  // Read as `globalThis.L` / `window.L`. Typed as present: the modules whose page may lack it
  // (m/map.js, heat.js) check `if (!L)` first, and a function declared after that check would not
  // see the narrowing.
  var L: typeof Leaflet;
  // Read as `globalThis.echarts` by the wall's charts (wall/static/wall/charts.js), which check it
  // first: only the wall's page loads it.
  var echarts: typeof ECharts | undefined;
}

export {};
