// The globals the pages' modules read but never write (style.md convention 10: no globals of our
// own): Leaflet's `L`, loaded as a classic script (static vendor/leaflet) before the modules, with the
// plugins that extend it — Leaflet-Geoman on the planners' page (`map.pm`, `layer.pm`) and
// Leaflet.heat for the hot-spot layer (`L.heatLayer`). Where a page loads Leaflet or ECharts as an
// ES module instead (`await import(config.leaflet)`), the import's URL comes from the server and the
// module is typed where it is used.
import type * as Leaflet from "leaflet";
import "@geoman-io/leaflet-geoman-free";
import "leaflet.heat";

declare global {
  // Read as `globalThis.L` / `window.L`. Typed as present: the modules whose page may lack it
  // (m/map.js, heat.js) check `if (!L)` first, and a function declared after that check would not
  // see the narrowing.
  var L: typeof Leaflet;
}

export {};
