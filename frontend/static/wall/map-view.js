// The wall's map: the offline basemap in night colours, grids coloured by their open incidents,
// the hot-spot layer, and the live layers — incident markers with their countdowns, routes of the
// responders on the way, responders by duty — drawn from the store. Replay draws on its own
// layers (replay.js) with this module's icons and styles.

import * as basemap from "../gridlink/core/basemap.js";
import { el } from "../gridlink/core/dom.js";
import { countdown } from "./time.js";
import { MEMBER_COLOURS, glyphOf, hhmm, latLngOf, scale, statusColour } from "./look.js";

/**
 * A layer of the basemap's groups (core/basemap.js): a GeoJSON group of paths, or a road's name
 * (a marker), told apart by what it has.
 * @typedef {import("leaflet").Layer & {setStyle?: (style: import("leaflet").PathOptions) => unknown,
 *   eachLayer?: (fn: (line: import("leaflet").Path & {feature?: any}) => void) => unknown}} BaseLayer
 */

const GRID_LOAD_COLOURS = ["#ffe08a", "#ffb347", "#ff7043", "#e53935", "#b71c1c"];
// Night colours of the basemap, by road class; casings are told from fills by their colour.
const NIGHT_ROADS = {
  arterial: { fill: "#8a6d2c", casing: "#2b2212" },
  secondary: { fill: "#5a5443", casing: "#1e1c16" },
  local: { fill: "#343c48", casing: "#161b22" },
  path: { fill: "#3b3f46", casing: null },
};

/**
 * createMapView({config, text, store, categories, onOpen}) → the map view. `onOpen(id)` opens an
 * incident's card (a click on its marker or route).
 */
export function createMapView({ config, text, store, categories, onOpen }) {
  const L = globalThis.L;
  const body = document.body;
  const gridLayers = {}; // grid code -> Leaflet layer
  const markers = new Map(); // incident id -> L.marker
  const routesByIncident = new Map(); // incident id -> [L.polyline]
  const memberMarkers = new Map(); // member id -> L.circleMarker
  let overviewZoom = null;
  let map = null;

  function gridStyle(code) {
    const load = store.state.gridLoads[code] || 0;
    if (!load) {
      return { color: "#5b8fd6", weight: 1.2, opacity: 0.55, dashArray: "5 4", fillColor: "#000", fillOpacity: 0 };
    }
    const colour = GRID_LOAD_COLOURS[Math.min(GRID_LOAD_COLOURS.length - 1, load - 1)];
    return { color: colour, weight: 1.5, opacity: 0.8, dashArray: null, fillColor: colour, fillOpacity: Math.min(0.55, 0.16 + 0.09 * load) };
  }

  function styleGrid(code) {
    const layer = gridLayers[code];
    if (layer) layer.setStyle(gridStyle(code));
  }

  function restyleGrids() {
    Object.keys(gridLayers).forEach(styleGrid);
  }

  const base = basemap.create("wall-map", config.map, {
    layerControl: false,
    scaleMaxWidth: 220,
    panes: [
      ["wall-grid-load", 405],
      ["wall-routes", 600],
      ["wall-members", 610],
      ["wall-incidents", 640],
    ],
    onGrid(feature, layer) {
      const p = feature.properties;
      gridLayers[p.code] = layer;
      layer.on("click", () => {
        const load = store.state.gridLoads[p.code] || 0;
        L.popup({ className: "wall-popup" })
          .setLatLng(layer.getBounds().getCenter())
          .setContent(el("div", null, p.name + " · " + text.gridLoad + ": " + load))
          .openOn(map);
      });
      styleGrid(p.code);
    },
    fitOptions: () => ({ padding: [24, 24] }),
  });
  map = base.map;
  map.getContainer().classList.add("is-dark");
  // The hot-spot layer (a toggle under the zoom buttons): its own module (gridlink/heat.js).
  if (config.heat) {
    import(config.heat.module)
      .then((heat) => heat.heatControl(map, config.heat, { position: "topleft" }))
      .catch((error) => console.error(error)); // the wall works on without the layer
  }

  // A light halo would glare on the dark map; communities in a colour that reads on black.
  function darkBasemap() {
    base.layers.waters.eachLayer((/** @type {BaseLayer} */ group) => {
      if (group.setStyle) group.setStyle({ color: "#1f4f78", fillColor: "#10324f", fillOpacity: 1 });
    });
    /** @type {Set<string | undefined>} */
    const casings = new Set(["#6f6a60"]); // and bridges
    for (const style of Object.values(basemap.roadStyles)) {
      if (style.casing) casings.add(style.casing);
    }
    base.layers.roads.eachLayer((/** @type {BaseLayer} */ group) => {
      if (!group.eachLayer || !group.setStyle) return; // a road name
      group.eachLayer((line) => {
        const cls = (line.feature && line.feature.properties.road_class) || "local";
        const night = NIGHT_ROADS[cls] || NIGHT_ROADS.local;
        line.setStyle({ color: casings.has(line.options.color) ? night.casing || night.fill : night.fill });
      });
    });
    base.layers.communities.eachLayer((/** @type {BaseLayer} */ group) => {
      if (group.setStyle) group.setStyle({ color: "#c9a7ff", weight: 3, opacity: 0.95 });
    });
    let halo = true;
    base.layers.boundary.eachLayer((/** @type {BaseLayer} */ group) => {
      if (group.setStyle) {
        group.setStyle(halo ? { color: "#000000", opacity: 0.6 } : { color: "#ff5a4f", weight: 4 });
        halo = false;
      }
    });
  }

  // Grid names show once the map is zoomed in well past the overview of the whole sub-district.
  function zoomClass() {
    map.getContainer().classList.toggle("wall-zoomed", overviewZoom !== null && map.getZoom() >= overviewZoom + 1.5);
  }
  base.ready.then(() => {
    darkBasemap();
    restyleGrids();
    overviewZoom = map.getZoom();
    zoomClass();
  });
  map.on("zoomend", zoomClass);

  const routeRenderer = L.svg({ pane: "wall-routes" });
  const memberRenderer = L.canvas({ pane: "wall-members", tolerance: 4 });
  const live = {
    incidents: L.layerGroup().addTo(map),
    routes: L.layerGroup().addTo(map),
    members: L.layerGroup().addTo(map),
  };

  // ---- incidents ----

  function incidentIcon(incident, extraClass) {
    const size = Math.round(34 * scale());
    const node = el("span", "wall-inc-body");
    node.dataset.incident = String(incident.id);
    node.dataset.status = incident.status;
    node.style.setProperty("--status-colour", statusColour(incident.status));
    node.style.setProperty("--size", size + "px");
    if (incident.major) node.appendChild(el("span", "wall-inc-pulse"));
    node.appendChild(el("span", "wall-inc-glyph", glyphOf(incident.category, categories)));
    node.appendChild(el("span", "wall-inc-countdown"));
    let classes = "wall-incident status-" + incident.status;
    if (incident.major) classes += " is-major";
    if (store.isDone(incident.status)) classes += " is-done";
    return L.divIcon({
      className: classes + (extraClass ? " " + extraClass : ""),
      html: node,
      iconSize: [size, size],
      iconAnchor: [size / 2, size / 2],
    });
  }

  function markElement(marker, incident) {
    const element = marker.getElement();
    if (element) element.dataset.incident = String(incident.id);
  }

  /** The countdown on an incident's marker (amber, then red past the deadline). */
  function tickIncident(incident) {
    const marker = markers.get(Number(incident.id));
    const element = marker && marker.getElement();
    const box = element && element.querySelector(".wall-inc-countdown");
    if (!box) return;
    const deadline = store.countdownDeadline(incident);
    if (!deadline) {
      box.textContent = "";
      box.hidden = true;
      element.classList.remove("is-amber", "is-red");
      return;
    }
    const c = countdown(deadline, store.now(), config.amberSeconds);
    box.hidden = false;
    box.textContent = c.text;
    box.dataset.state = c.state;
    element.classList.toggle("is-amber", c.state === "amber");
    element.classList.toggle("is-red", c.state === "red");
  }

  function drawIncident(incident) {
    const id = Number(incident.id);
    const latlng = latLngOf(incident.point);
    let marker = markers.get(id);
    if (store.isGone(incident.status) || !latlng) {
      if (marker) {
        live.incidents.removeLayer(marker);
        markers.delete(id);
      }
      return;
    }
    const z = incident.major ? 3000 : store.isOpen(incident) ? 2000 : 0;
    if (!marker) {
      const created = L.marker(latlng, { icon: incidentIcon(incident), pane: "wall-incidents", zIndexOffset: z, keyboard: false });
      created.on("click", () => onOpen(id));
      created.on("add", () => {
        const current = store.incident(id) || incident;
        markElement(created, current);
        tickIncident(current);
      });
      markers.set(id, created);
      created.addTo(live.incidents);
      marker = created;
    } else {
      marker.setLatLng(latlng);
      marker.setIcon(incidentIcon(incident));
      marker.setZIndexOffset(z);
    }
    markElement(marker, incident);
    tickIncident(incident);
  }

  function drawRoutes(incident) {
    const id = Number(incident.id);
    for (const line of routesByIncident.get(id) || []) live.routes.removeLayer(line);
    const lines = [];
    routesByIncident.set(id, lines);
    const scene = latLngOf(incident.point);
    if (!store.isGone(incident.status) && scene) {
      const overdue = store.isOverdue(incident);
      for (const order of store.liveOrders(incident)) {
        let latlngs = null;
        let straight = false;
        if (order.route && order.route.length >= 2) {
          latlngs = order.route.map(latLngOf);
        } else {
          // No road route recorded: a straight dashed line from where the responder is.
          const member = store.member(order.member);
          const from = member && latLngOf(member.point);
          if (from) {
            latlngs = [from, scene];
            straight = true;
          }
        }
        if (!latlngs) continue;
        const s = scale();
        const line = L.polyline(latlngs, {
          renderer: routeRenderer,
          pane: "wall-routes",
          color: overdue ? "#ff453a" : "#40c8ff",
          weight: 4 * s,
          opacity: 0.9,
          // null: Leaflet's own default, no dashes (its types say undefined)
          dashArray: /** @type {string} */ (straight ? 8 * s + " " + 8 * s : null),
          className: "wall-route" + (overdue ? " is-late" : ""),
          interactive: true,
        });
        line.on("click", () => onOpen(id));
        line.on("add", () => {
          const path = line.getElement();
          if (path) {
            path.setAttribute("data-order", String(order.id));
            path.setAttribute("data-incident", String(id));
            path.setAttribute("data-member", String(order.member));
          }
        });
        line.addTo(live.routes);
        lines.push(line);
      }
    }
    body.dataset.routes = String(live.routes.getLayers().length);
  }

  // ---- responders ----

  function memberStyle(member) {
    const s = scale();
    return {
      renderer: memberRenderer,
      radius: (member.status === "busy" ? 6 : member.status === "on_duty" ? 4.5 : 3) * s,
      color: member.status === "off_duty" ? "#30363d" : "#0b0f14",
      weight: 1.2 * s,
      fillColor: MEMBER_COLOURS[member.status] || MEMBER_COLOURS.off_duty,
      fillOpacity: member.stale ? 0.35 : member.status === "off_duty" ? 0.55 : 0.95,
    };
  }

  const DUTY_WORDS = { on_duty: "onDuty", busy: "busy", off_duty: "offDuty" };

  function memberPopup(marker, id) {
    const m = store.member(id);
    if (!m) return;
    const box = el("div", "wall-popup-body");
    box.appendChild(el("strong", null, m.name || "#" + m.id));
    box.appendChild(el("div", null, [m.force_label || config.forces[m.force] || "", m.unit || ""].filter(Boolean).join(" · ")));
    box.appendChild(el("div", null, text[DUTY_WORDS[m.status]] || ""));
    if (m.at) box.appendChild(el("div", "muted", text.positionAt + " " + hhmm(m.at) + (m.stale ? " · " + text.stale : "")));
    L.popup({ className: "wall-popup" }).setLatLng(marker.getLatLng()).setContent(box).openOn(map);
  }

  function drawMember(member) {
    const id = Number(member.id);
    const latlng = latLngOf(member.point);
    let marker = memberMarkers.get(id);
    if (!latlng) {
      if (marker) {
        live.members.removeLayer(marker);
        memberMarkers.delete(id);
      }
      return;
    }
    if (!marker) {
      marker = L.circleMarker(latlng, memberStyle(member));
      const created = marker;
      created.on("click", () => memberPopup(created, id));
      memberMarkers.set(id, marker);
      marker.addTo(live.members);
    } else {
      const style = memberStyle(member);
      marker.setLatLng(latlng);
      marker.setStyle(style);
      marker.setRadius(style.radius);
    }
    // Responders on an order stay on top of the others at the same post (a police station).
    if (member.status === "busy" && marker._map) marker.bringToFront();
  }

  function removeMember(id) {
    const marker = memberMarkers.get(Number(id));
    if (marker) {
      live.members.removeLayer(marker);
      memberMarkers.delete(Number(id));
    }
  }

  // ---- the rest ----

  let notice = null;
  /** A line over the map ("" hides it). */
  function showNotice(message) {
    if (!notice) {
      notice = el("div", "wall-notice");
      map.getContainer().appendChild(notice);
    }
    notice.textContent = message;
    notice.hidden = !message;
  }

  /** Flies to a point so that it lands in the middle of the part of the map `covered` px on the right leave free. */
  function flyTo(latlng, duration, covered = 0) {
    const zoom = Math.max(map.getZoom(), 16);
    const centre = map.unproject(map.project(latlng, zoom).add([covered / 2, 0]), zoom);
    map.flyTo(centre, zoom, { duration });
  }

  /** Shows (true) or hides the live layers (replay has its own). */
  function showLive(shown) {
    for (const layer of [live.incidents, live.routes, live.members]) {
      if (shown) layer.addTo(map);
      else map.removeLayer(layer);
    }
  }

  return {
    map,
    routeRenderer,
    incidentIcon,
    memberStyle,
    drawIncident,
    drawRoutes,
    tickIncident,
    tickAll() {
      for (const id of markers.keys()) {
        const incident = store.incident(id);
        if (incident) tickIncident(incident);
      }
    },
    drawMember,
    removeMember,
    restyleGrids,
    showNotice,
    flyTo,
    showLive,
  };
}
