// The weekly agenda's map of hot issues: one circle per DBSCAN cluster, sized by its count and
// numbered as in the table (the table's first rows labelled), over the sub-district's villages/communities. Leaflet is the npm
// package's ES module (static vendor/leaflet); the data, the URLs and the words come from
// json_script (#agenda-map-config); every text is set with textContent. The table lists the same
// hot issues, so a map that cannot be drawn leaves the page whole.

import { spotRadius, spotOrder } from "./agenda-spots.js";

const HOT = { color: "#a61b1b", weight: 2, fillColor: "#e0463c", fillOpacity: 0.35 };
const QUIET = { color: "#b06b00", weight: 1, fillColor: "#f0a830", fillOpacity: 0.3 };
const COMMUNITY = { color: "#5a6b85", weight: 1, fill: false, dashArray: "4 3" };

function fill(template, values) {
  return String(template).replace(/%\((\w+)\)s/g, (_match, key) => String(values[key] ?? ""));
}

function popup(spot, text) {
  const box = document.createElement("div");
  const title = document.createElement("strong");
  title.textContent = `#${spot.rank} ${spot.category}`;
  const count = document.createElement("div");
  count.textContent = fill(text.cases, { count: spot.count, in_week: spot.inWeek });
  box.append(title, count);
  if (spot.addresses.length) {
    const where = document.createElement("div");
    where.textContent = spot.addresses.join("；");
    box.append(where);
  }
  const cases = document.createElement("div");
  for (const item of spot.cases) {
    const link = document.createElement("a");
    link.href = item.url;
    link.textContent = item.number;
    cases.append(link, document.createTextNode(" "));
  }
  box.append(cases);
  return box;
}

async function draw(element, config) {
  /** @type {typeof import("leaflet")} */
  const L = await import(config.leaflet);
  const map = L.map(element, { zoomControl: true, attributionControl: false, zoomSnap: 0.25 });
  const spots = spotOrder(config.spots);
  const bounds = L.latLngBounds([]);
  // The biggest first, so that a small cluster's circle stays clickable on top of a big one.
  for (const spot of spots) {
    const marker = L.circleMarker([spot.lat, spot.lon], { ...(spot.inWeek > 1 ? HOT : QUIET), radius: spotRadius(spot.count) });
    marker.bindPopup(popup(spot, config.text));
    // The table's first rows carry their number on the map; the others show it on hover.
    const labelled = spot.rank <= config.labelled;
    marker.bindTooltip(String(spot.rank), { permanent: labelled, direction: "center", className: "rp-map-label" });
    marker.addTo(map);
    bounds.extend([spot.lat, spot.lon]);
  }
  try {
    const response = await fetch(config.communities, { credentials: "same-origin", headers: { Accept: "application/json" } });
    if (response.ok) {
      const layer = L.geoJSON(await response.json(), { style: () => COMMUNITY, interactive: false }).addTo(map);
      layer.bringToBack();
      const area = layer.getBounds();
      if (area.isValid()) bounds.extend(area); // the whole sub-district, the hot issues inside
    }
  } catch {
    // The outlines are context only: the circles stand without them.
  }
  if (bounds.isValid()) {
    map.fitBounds(bounds.pad(0.05), { maxZoom: 16 });
  } else {
    map.setView([30.28, 120.0], 12);
  }
  element.dataset.spots = String(spots.length); // drawn: for the page's readers and its tests
  if (!spots.length) {
    const note = document.createElement("p");
    note.className = "rp-empty";
    note.textContent = config.text.noSpots;
    element.after(note);
  }
}

const element = document.getElementById("agenda-map");
const source = document.getElementById("agenda-map-config");
if (element && source) {
  const config = JSON.parse(source.textContent);
  draw(element, config).catch(() => {
    element.textContent = config.text.mapFailed;
  });
}
