/*
 * The wall map of the command room: every incident and responder of the sub-district, live.
 *
 * Starts from the snapshot GET /api/v1/wall/<code>/state/, then follows the websocket
 * ws/wall/<code>/ (events of the incident timeline and batches of positions). It remembers the
 * newest event id it has applied and reconnects with ?last_event=N (back-off 1 s, 1.5 s, 2.3 s, ... ±30 %,
 * then every 10 s), so that after a server restart the page catches up by itself; on `resync` it
 * reloads the snapshot. The snapshot is also reloaded every minute, which corrects whatever an
 * event alone cannot tell (counts, grid loads, members' duty).
 *
 * Replay plays a past day from GET /api/v1/wall/<code>/replay/?date=YYYY-MM-DD on its own layers;
 * leaving it reloads the live snapshot.
 *
 * Configuration and every word come from the json_script element #wall-config. Text that comes
 * from data (descriptions, names, addresses are typed by people) is set with textContent only.
 *
 * Test hooks: body[data-wall-ready="1"] once the first snapshot is drawn; body[data-socket] =
 * connecting | live | reconnecting; body[data-last-event] = newest event id applied; incident
 * markers are `.wall-incident[data-incident=<id>]`; routes are SVG paths
 * `path.wall-route[data-order=<id>][data-incident=<id>]`; body[data-last-moved] = the member whose
 * position came last; body[data-members-busy] = how many are drawn busy.
 */
(function () {
  "use strict";

  var configElement = document.getElementById("wall-config");
  if (!configElement || typeof L === "undefined" || !window.GridLink) {
    return;
  }
  var G = window.GridLink;
  var el = G.dom.el;
  var clear = G.dom.clear;
  var format = G.dom.format;
  var http = G.http;
  var config = JSON.parse(configElement.textContent);
  var text = config.text;
  var body = document.body;

  // ---- constants ---------------------------------------------------------------------------------

  var STATUS_COLOURS = {
    needs_location: "#e040fb",
    new: "#ff3b30",
    dispatched: "#ff9f0a",
    arrived: "#ffd60a",
    reported: "#64d2ff",
    assigned: "#0a84ff",
    in_progress: "#0a84ff",
    transferred: "#bf5af2",
    completed: "#30d158",
    reported_to_command: "#30d158",
    resolved: "#30d158",
    fed_back: "#30d158",
    closed: "#8e8e93",
    merged: "#8e8e93",
  };
  // Statuses in which a case is no longer on the map or in the queue.
  var GONE = { closed: true, merged: true, cancelled: true };
  var SUMMARY_KINDS = {
    created: true, status_changed: true, alarm: true, alarm_handled: true,
    order_declined: true, order_stood_down: true, level_raised: true, arrived: true,
  };
  // Statuses in which nothing is waiting any more (grey-green markers, out of the queue's top).
  var DONE = { resolved: true, completed: true, fed_back: true, reported_to_command: true };
  var LIVE_ORDER = { dispatched: true, accepted: true };

  // A glyph per category (the legend names them); by scope for categories added later.
  var CATEGORY_GLYPHS = {
    labour_dispute: "¥",
    property_dispute: "⌂",
    neighbour_dispute: "⇄",
    other_dispute: "≈",
    help_request: "✚",
    mass_incident: "⚑",
    major_sensitive: "⚠",
    fire: "♨",
    traffic_accident: "⇉",
    work_safety: "⚒",
    department_assist: "☎",
    public_order: "★",
    theft: "✂",
    fight: "✖",
  };
  var SCOPE_GLYPHS = { fire: "♨", traffic: "⇉", work_safety: "⚒", police: "★", department_assist: "☎" };

  var MEMBER_COLOURS = { on_duty: "#32d74b", busy: "#ff9f0a", off_duty: "#6e7681" };
  var GRID_LOAD_COLOURS = ["#ffe08a", "#ffb347", "#ff7043", "#e53935", "#b71c1c"];
  // Reconnect waits, each ±30 % at random so that the walls (and the phones, m/live.js) do not
  // all come back at once after a server restart.
  var BACKOFF = [1000, 1500, 2250, 3400, 5000, 7600, 10000];
  var SNAPSHOT_EVERY_MS = 60 * 1000;
  var TICKER_MAX = 40;
  var QUEUE_MAX = 60;

  var categories = {};
  (config.categories || []).forEach(function (c) {
    categories[c.code] = c;
  });

  function glyphOf(category) {
    var code = category && category.code;
    if (code && CATEGORY_GLYPHS[code]) {
      return CATEGORY_GLYPHS[code];
    }
    var known = code && categories[code];
    return (known && SCOPE_GLYPHS[known.scope]) || "●";
  }

  // Marker sizes grow with the screen: 1 at 1920 px wide, 2 at 3840 px.
  function scale() {
    return Math.max(0.8, Math.min(2.4, window.innerWidth / 1920));
  }

  // ---- time --------------------------------------------------------------------------------------

  var clockOffset = 0; // server time - browser time, from the snapshot's "now"

  function now() {
    return Date.now() + clockOffset;
  }

  function ms(iso) {
    return iso ? new Date(iso).getTime() : NaN;
  }

  var lang = document.documentElement.lang || undefined;
  function clockText(t, withSeconds) {
    var options = { hour: "2-digit", minute: "2-digit", hour12: false, timeZone: "Asia/Shanghai" };
    if (withSeconds !== false) {
      options.second = "2-digit";
    }
    try {
      return new Date(t).toLocaleTimeString(lang, options);
    } catch (error) {
      return new Date(t).toLocaleTimeString();
    }
  }

  function hhmm(iso) {
    return iso ? clockText(ms(iso), false) : "";
  }

  // 754 s -> "12:34", 4000 s -> "1:06:40".
  function duration(seconds) {
    seconds = Math.max(0, Math.floor(seconds));
    var h = Math.floor(seconds / 3600);
    var m = Math.floor((seconds % 3600) / 60);
    var s = seconds % 60;
    var mm = (h && m < 10 ? "0" : "") + m;
    return (h ? h + ":" : "") + mm + ":" + (s < 10 ? "0" : "") + s;
  }

  // The countdown of a deadline: {text, state: ok | amber | red}.
  function countdown(deadlineIso, at) {
    var left = (ms(deadlineIso) - (at === undefined ? now() : at)) / 1000;
    if (left < 0) {
      return { text: "+" + duration(-left), state: "red", label: format(text.overdueBy, { time: duration(-left) }) };
    }
    return {
      text: duration(left),
      state: left < config.amberSeconds ? "amber" : "ok",
      label: format(text.dueIn, { time: duration(left) }),
    };
  }

  // ---- the map -----------------------------------------------------------------------------------

  var gridLayers = {}; // grid code -> Leaflet layer
  var gridNames = {};
  var base = G.basemap.create("wall-map", config.map, {
    layerControl: false,
    scaleMaxWidth: 220,
    panes: [
      ["wall-grid-load", 405],
      ["wall-routes", 600],
      ["wall-members", 610],
      ["wall-incidents", 640],
    ],
    onGrid: function (feature, layer) {
      var p = feature.properties;
      gridLayers[p.code] = layer;
      gridNames[p.code] = p.name;
      layer.on("click", function () {
        var load = gridLoads[p.code] || 0;
        L.popup({ className: "wall-popup" })
          .setLatLng(layer.getBounds().getCenter())
          .setContent(el("div", null, p.name + " · " + text.gridLoad + ": " + load))
          .openOn(map);
      });
      styleGrid(p.code);
    },
    fitOptions: function () {
      return { padding: [24, 24] };
    },
  });
  var map = base.map;
  map.getContainer().classList.add("is-dark");
  // The hot-spot layer (a toggle under the zoom buttons): its own module (gridlink/heat.js).
  if (config.heat) {
    import(config.heat.module).then(function (heat) {
      heat.heatControl(map, config.heat, { position: "topleft" });
    }).catch(function (error) {
      if (window.console) {
        window.console.error(error); // the wall works on without the layer
      }
    });
  }
  // A light halo would glare on the dark map; communities in a colour that reads on black.
  // Night colours of the basemap, by road class; casings are told from fills by their colour.
  var NIGHT_ROADS = {
    arterial: { fill: "#8a6d2c", casing: "#2b2212" },
    secondary: { fill: "#5a5443", casing: "#1e1c16" },
    local: { fill: "#343c48", casing: "#161b22" },
    path: { fill: "#3b3f46", casing: null },
  };

  function darkBasemap() {
    base.layers.waters.eachLayer(function (group) {
      if (group.setStyle) {
        group.setStyle({ color: "#1f4f78", fillColor: "#10324f", fillOpacity: 1 });
      }
    });
    var casings = {};
    Object.keys(G.basemap.roadStyles).forEach(function (cls) {
      if (G.basemap.roadStyles[cls].casing) {
        casings[G.basemap.roadStyles[cls].casing] = true;
      }
    });
    casings["#6f6a60"] = true; // bridges
    base.layers.roads.eachLayer(function (group) {
      if (!group.eachLayer || !group.setStyle) {
        return; // a road name
      }
      group.eachLayer(function (line) {
        var cls = (line.feature && line.feature.properties.road_class) || "local";
        var night = NIGHT_ROADS[cls] || NIGHT_ROADS.local;
        var casing = casings[line.options.color];
        line.setStyle({ color: casing ? night.casing || night.fill : night.fill });
      });
    });
  }

  base.ready.then(function () {
    darkBasemap();
    base.layers.communities.eachLayer(function (group) {
      if (group.setStyle) {
        group.setStyle({ color: "#c9a7ff", weight: 3, opacity: 0.95 });
      }
    });
    var halo = true;
    base.layers.boundary.eachLayer(function (group) {
      if (group.setStyle) {
        group.setStyle(halo ? { color: "#000000", opacity: 0.6 } : { color: "#ff5a4f", weight: 4 });
        halo = false;
      }
    });
    restyleGrids();
    overviewZoom = map.getZoom();
    zoomClass();
  });
  // Grid names show once the map is zoomed in well past the overview of the whole sub-district.
  var overviewZoom = null;
  function zoomClass() {
    map.getContainer().classList.toggle("wall-zoomed", overviewZoom !== null && map.getZoom() >= overviewZoom + 1.5);
  }
  map.on("zoomend", zoomClass);

  var routeRenderer = L.svg({ pane: "wall-routes" });
  var memberRenderer = L.canvas({ pane: "wall-members", tolerance: 4 });
  var live = {
    incidents: L.layerGroup().addTo(map),
    routes: L.layerGroup().addTo(map),
    members: L.layerGroup().addTo(map),
  };

  var gridLoads = {};

  function gridStyle(code) {
    var load = gridLoads[code] || 0;
    if (!load) {
      return { color: "#5b8fd6", weight: 1.2, opacity: 0.55, dashArray: "5 4", fillColor: "#000", fillOpacity: 0 };
    }
    var colour = GRID_LOAD_COLOURS[Math.min(GRID_LOAD_COLOURS.length - 1, load - 1)];
    return {
      color: colour,
      weight: 1.5,
      opacity: 0.8,
      dashArray: null,
      fillColor: colour,
      fillOpacity: Math.min(0.55, 0.16 + 0.09 * load),
    };
  }

  function styleGrid(code) {
    var layer = gridLayers[code];
    if (layer) {
      layer.setStyle(gridStyle(code));
    }
  }

  function restyleGrids() {
    Object.keys(gridLayers).forEach(styleGrid);
  }

  // ---- state -------------------------------------------------------------------------------------

  var incidents = {}; // id -> incident (state or card shape)
  var markers = {}; // id -> L.marker
  var routesByIncident = {}; // id -> [L.polyline]
  var members = {}; // id -> member
  var memberMarkers = {}; // id -> L.circleMarker
  var alarms = [];
  var counts = null;
  var lastEvent = 0;
  // Event ids are handed out when a transaction inserts its event, not when it commits: a slower
  // transaction can publish a lower id after a higher one. So events are told apart by the ids seen
  // (bounded), not by "newer than the last", and a reconnect asks again from a little before the
  // newest id; what comes twice is dropped here.
  var SEEN_MAX = 5000;
  var RESUME_OVERLAP = 200;
  var seenEvents = new Set();
  function markSeen(id) {
    if (seenEvents.has(id)) {
      return false;
    }
    seenEvents.add(id);
    if (seenEvents.size > SEEN_MAX) {
      seenEvents.delete(seenEvents.values().next().value);
    }
    return true;
  }
  var lastEventAt = null; // time of the newest event applied (server time)
  var replaying = false;
  var ready = false;

  function isOpen(incident) {
    return !GONE[incident.status] && !DONE[incident.status];
  }

  function liveOrders(incident) {
    return (incident.orders || []).filter(function (o) {
      return LIVE_ORDER[o.state];
    });
  }

  function deadlineOf(incident) {
    if (incident.deadline) {
      return incident.deadline;
    }
    var earliest = null;
    liveOrders(incident).forEach(function (o) {
      if (o.arrive_by && (!earliest || ms(o.arrive_by) < ms(earliest))) {
        earliest = o.arrive_by;
      }
    });
    return earliest;
  }

  function isOverdue(incident, at) {
    var deadline = deadlineOf(incident);
    return Boolean(deadline) && liveOrders(incident).length > 0 && ms(deadline) < (at === undefined ? now() : at);
  }

  function latLngOf(lonLat) {
    return lonLat && lonLat.length >= 2 ? L.latLng(lonLat[1], lonLat[0]) : null;
  }

  // ---- incidents on the map ---------------------------------------------------------------------

  function incidentIcon(incident, extraClass) {
    var s = scale();
    var size = Math.round(34 * s);
    var node = el("span", "wall-inc-body");
    node.dataset.incident = String(incident.id);
    node.dataset.status = incident.status;
    node.style.setProperty("--status-colour", STATUS_COLOURS[incident.status] || "#8e8e93");
    node.style.setProperty("--size", size + "px");
    if (incident.major) {
      node.appendChild(el("span", "wall-inc-pulse"));
    }
    node.appendChild(el("span", "wall-inc-glyph", glyphOf(incident.category)));
    node.appendChild(el("span", "wall-inc-countdown"));
    var classes = "wall-incident status-" + incident.status;
    if (incident.major) {
      classes += " is-major";
    }
    if (DONE[incident.status]) {
      classes += " is-done";
    }
    return L.divIcon({
      className: classes + (extraClass ? " " + extraClass : ""),
      html: node,
      iconSize: [size, size],
      iconAnchor: [size / 2, size / 2],
    });
  }

  function markIncidentElement(marker, incident) {
    var element = marker.getElement();
    if (element) {
      element.dataset.incident = String(incident.id);
    }
  }

  function drawIncident(incident) {
    var latlng = latLngOf(incident.point);
    var marker = markers[incident.id];
    if (GONE[incident.status] || !latlng) {
      if (marker) {
        live.incidents.removeLayer(marker);
        delete markers[incident.id];
      }
      return;
    }
    var z = incident.major ? 3000 : isOpen(incident) ? 2000 : 0;
    if (!marker) {
      marker = L.marker(latlng, { icon: incidentIcon(incident), pane: "wall-incidents", zIndexOffset: z, keyboard: false });
      marker.on("click", function () {
        openCard(incident.id);
      });
      marker.on("add", function () {
        markIncidentElement(marker, incidents[incident.id] || incident);
        tickIncident(incidents[incident.id] || incident);
      });
      markers[incident.id] = marker;
      marker.addTo(live.incidents);
    } else {
      marker.setLatLng(latlng);
      marker.setIcon(incidentIcon(incident));
      marker.setZIndexOffset(z);
    }
    markIncidentElement(marker, incident);
    tickIncident(incident);
  }

  function drawRoutes(incident) {
    (routesByIncident[incident.id] || []).forEach(function (line) {
      live.routes.removeLayer(line);
    });
    routesByIncident[incident.id] = [];
    var scene = latLngOf(incident.point);
    if (GONE[incident.status] || !scene) {
      return;
    }
    var overdue = isOverdue(incident);
    liveOrders(incident).forEach(function (order) {
      var latlngs = null;
      var straight = false;
      if (order.route && order.route.length >= 2) {
        latlngs = order.route.map(latLngOf);
      } else {
        // No road route recorded: a straight dashed line from where the responder is.
        var member = members[order.member];
        var from = member && latLngOf(member.point);
        if (from) {
          latlngs = [from, scene];
          straight = true;
        }
      }
      if (!latlngs) {
        return;
      }
      var s = scale();
      var line = L.polyline(latlngs, {
        renderer: routeRenderer,
        pane: "wall-routes",
        color: overdue ? "#ff453a" : "#40c8ff",
        weight: 4 * s,
        opacity: 0.9,
        dashArray: straight ? 8 * s + " " + 8 * s : null,
        className: "wall-route" + (overdue ? " is-late" : ""),
        interactive: true,
      });
      line.on("click", function () {
        openCard(incident.id);
      });
      line.on("add", function () {
        var path = line.getElement();
        if (path) {
          path.setAttribute("data-order", String(order.id));
          path.setAttribute("data-incident", String(incident.id));
          path.setAttribute("data-member", String(order.member));
        }
      });
      line.addTo(live.routes);
      routesByIncident[incident.id].push(line);
      // The responder is busy on this order.
      var m = members[order.member];
      if (m && m.status !== "busy") {
        m.status = "busy";
        drawMember(m);
      }
    });
    body.dataset.routes = String(live.routes.getLayers().length);
  }

  function tickIncident(incident) {
    var marker = markers[incident.id];
    var element = marker && marker.getElement();
    if (!element) {
      return;
    }
    var box = element.querySelector(".wall-inc-countdown");
    var deadline = liveOrders(incident).length ? deadlineOf(incident) : null;
    if (!box) {
      return;
    }
    if (!deadline) {
      box.textContent = "";
      box.hidden = true;
      element.classList.remove("is-amber", "is-red");
      return;
    }
    var c = countdown(deadline);
    box.hidden = false;
    box.textContent = c.text;
    box.dataset.state = c.state;
    element.classList.toggle("is-amber", c.state === "amber");
    element.classList.toggle("is-red", c.state === "red");
  }

  function upsertIncident(incident, options) {
    var previous = incidents[incident.id];
    // The card answer carries the timeline; the state answer does not: keep what we know.
    if (previous && previous.timeline && !incident.timeline) {
      incident.timeline = previous.timeline;
    }
    incidents[incident.id] = incident;
    drawIncident(incident);
    drawRoutes(incident);
    if (!(options && options.quiet)) {
      renderQueue();
      renderAlarms();
      if (card.id === incident.id) {
        renderCard(incident);
      }
    }
    return previous;
  }

  function removeIncident(id) {
    var incident = incidents[id];
    if (!incident) {
      return;
    }
    incident.status = "closed";
    drawIncident(incident);
    drawRoutes(incident);
    delete incidents[id];
  }

  // ---- responders -------------------------------------------------------------------------------

  function memberStyle(member) {
    var s = scale();
    var colour = MEMBER_COLOURS[member.status] || MEMBER_COLOURS.off_duty;
    return {
      renderer: memberRenderer,
      radius: (member.status === "busy" ? 6 : member.status === "on_duty" ? 4.5 : 3) * s,
      color: member.status === "off_duty" ? "#30363d" : "#0b0f14",
      weight: 1.2 * s,
      fillColor: colour,
      fillOpacity: member.stale ? 0.35 : member.status === "off_duty" ? 0.55 : 0.95,
    };
  }

  function drawMember(member) {
    var latlng = latLngOf(member.point);
    var marker = memberMarkers[member.id];
    if (!latlng) {
      if (marker) {
        live.members.removeLayer(marker);
        delete memberMarkers[member.id];
      }
      return;
    }
    if (!marker) {
      marker = L.circleMarker(latlng, memberStyle(member));
      marker.on("click", function () {
        var m = members[member.id] || member;
        var box = el("div", "wall-popup-body");
        box.appendChild(el("strong", null, m.name || "#" + m.id));
        box.appendChild(el("div", null, [m.force_label || config.forces[m.force] || "", m.unit || ""].filter(Boolean).join(" · ")));
        box.appendChild(el("div", null, text[{ on_duty: "onDuty", busy: "busy", off_duty: "offDuty" }[m.status]] || ""));
        if (m.at) {
          box.appendChild(el("div", "muted", text.positionAt + " " + hhmm(m.at) + (m.stale ? " · " + text.stale : "")));
        }
        L.popup({ className: "wall-popup" }).setLatLng(marker.getLatLng()).setContent(box).openOn(map);
      });
      memberMarkers[member.id] = marker;
      marker.addTo(live.members);
    } else {
      marker.setLatLng(latlng);
      marker.setStyle(memberStyle(member));
      marker.setRadius(memberStyle(member).radius);
    }
    // Responders on an order stay on top of the others at the same post (a police station).
    if (member.status === "busy" && marker._map) {
      marker.bringToFront();
    }
  }

  function applyPositions(list) {
    (list || []).forEach(function (p) {
      var member = members[p.member];
      if (!member) {
        member = members[p.member] = { id: p.member, name: "", status: "on_duty" };
      }
      if (member.at && p.at && ms(p.at) < ms(member.at)) {
        return; // never back in time
      }
      member.point = [p.lon, p.lat];
      member.at = p.at;
      member.stale = false;
      if (!replaying) {
        drawMember(member);
      }
      body.dataset.lastMoved = String(member.id);
    });
  }

  // ---- side panels -------------------------------------------------------------------------------

  var queueBox = document.getElementById("wall-queue");
  var alarmsBox = document.getElementById("wall-alarms");
  var tickerBox = document.getElementById("wall-ticker");

  function statusBadge(incident) {
    var badge = el("span", "wall-status", incident.status_label || config.statuses[incident.status] || incident.status);
    badge.style.setProperty("--status-colour", STATUS_COLOURS[incident.status] || "#8e8e93");
    return badge;
  }

  function categoryName(incident) {
    var c = incident.category || {};
    return c.name || (categories[c.code] && categories[c.code].name) || "";
  }

  // The queue: open incidents, newest first. Replay hands its own list (and no click action).
  function renderQueue(replayList) {
    if (replaying && !replayList) {
      return;
    }
    var list = (
      replayList ||
      Object.keys(incidents)
        .map(function (id) {
          return incidents[id];
        })
        .filter(isOpen)
    ).sort(function (a, b) {
      return ms(b.reported_at) - ms(a.reported_at);
    });
    document.getElementById("queue-count").textContent = String(list.length);
    clear(queueBox);
    if (!list.length) {
      queueBox.appendChild(el("li", "wall-empty", text.emptyQueue));
      return;
    }
    list.slice(0, QUEUE_MAX).forEach(function (incident) {
      var item = el("li", "wall-queue-item" + (incident.major ? " is-major" : ""));
      item.dataset.incident = String(incident.id);
      item.tabIndex = 0;
      var glyph = el("span", "wall-q-glyph", glyphOf(incident.category));
      glyph.style.setProperty("--status-colour", STATUS_COLOURS[incident.status] || "#8e8e93");
      item.appendChild(glyph);
      var main = el("div", "wall-q-main");
      var top = el("div", "wall-q-top");
      top.appendChild(el("span", "wall-q-number", incident.number));
      top.appendChild(el("span", "wall-q-category", categoryName(incident)));
      if (incident.major) {
        top.appendChild(el("span", "wall-q-major", text.major));
      }
      main.appendChild(top);
      main.appendChild(el("div", "wall-q-summary", incident.summary || incident.address || ""));
      item.appendChild(main);
      var side = el("div", "wall-q-side");
      side.appendChild(statusBadge(incident));
      side.appendChild(el("span", "wall-q-time", hhmm(incident.reported_at)));
      var cd = el("span", "wall-q-countdown");
      cd.dataset.incident = String(incident.id);
      side.appendChild(cd);
      item.appendChild(side);
      if (!replayList) {
        item.addEventListener("click", function () {
          focusIncident(incident.id);
        });
        item.addEventListener("keydown", function (event) {
          if (event.key === "Enter") {
            focusIncident(incident.id);
          }
        });
      } else {
        var latlng = latLngOf(incident.point);
        item.addEventListener("click", function () {
          if (latlng) {
            map.flyTo(latlng, Math.max(map.getZoom(), 16), { duration: 1 });
          }
        });
      }
      queueBox.appendChild(item);
    });
    tickQueue();
  }

  function tickQueue() {
    queueBox.querySelectorAll(".wall-q-countdown").forEach(function (box) {
      var incident = incidents[box.dataset.incident];
      var deadline = incident && liveOrders(incident).length ? deadlineOf(incident) : null;
      if (!deadline) {
        box.textContent = "";
        return;
      }
      var c = countdown(deadline);
      box.textContent = c.text;
      box.dataset.state = c.state;
    });
  }

  function overdueIncidents() {
    return Object.keys(incidents)
      .map(function (id) {
        return incidents[id];
      })
      .filter(function (incident) {
        return !GONE[incident.status] && isOverdue(incident);
      })
      .sort(function (a, b) {
        return ms(deadlineOf(a)) - ms(deadlineOf(b));
      });
  }

  function renderAlarms() {
    if (replaying) {
      clear(alarmsBox);
      alarmsBox.appendChild(el("li", "wall-empty", "–"));
      renderBanner([]);
      return;
    }
    var overdue = overdueIncidents();
    var seen = {};
    clear(alarmsBox);
    overdue.forEach(function (incident) {
      seen[incident.id] = true;
      var item = el("li", "wall-alarm-item is-overdue");
      item.dataset.incident = String(incident.id);
      item.appendChild(el("span", "wall-a-number", incident.number));
      item.appendChild(el("span", "wall-a-what", categoryName(incident)));
      var cd = el("span", "wall-a-countdown", countdown(deadlineOf(incident)).text);
      cd.dataset.incident = String(incident.id);
      item.appendChild(cd);
      item.addEventListener("click", function () {
        focusIncident(incident.id);
      });
      alarmsBox.appendChild(item);
    });
    alarms.forEach(function (alarm) {
      if (seen[alarm.incident] || (alarm.state && alarm.state !== "open" && alarm.state !== "raised")) {
        return;
      }
      var item = el("li", "wall-alarm-item");
      item.dataset.incident = String(alarm.incident);
      item.appendChild(el("span", "wall-a-number", alarm.number));
      item.appendChild(el("span", "wall-a-what", alarm.kind_label || alarm.kind));
      item.appendChild(el("span", "wall-a-time", hhmm(alarm.raised_at || alarm.due_at)));
      item.addEventListener("click", function () {
        focusIncident(alarm.incident);
      });
      alarmsBox.appendChild(item);
    });
    if (!alarmsBox.childNodes.length) {
      alarmsBox.appendChild(el("li", "wall-empty", text.noAlarms));
    }
    document.getElementById("count-overdue").textContent = String(
      Math.max(overdue.length, counts && !ready ? counts.overdue : 0)
    );
    renderBanner(overdue);
  }

  // ---- the alarm banner and its sound -------------------------------------------------------------

  var banner = document.getElementById("wall-alarm");
  var announced = {}; // incident id -> true once its overdue alarm was sounded
  var soundOn = false;
  try {
    soundOn = window.localStorage.getItem("gridlink.wall.sound") === "1";
  } catch (error) {
    soundOn = false;
  }
  var audio = null;
  var soundButton = document.getElementById("wall-sound");

  function showSound() {
    soundButton.textContent = soundOn ? text.soundOn : text.soundOff;
    soundButton.setAttribute("aria-pressed", soundOn ? "true" : "false");
    soundButton.classList.toggle("is-on", soundOn);
  }
  showSound();
  soundButton.addEventListener("click", function () {
    soundOn = !soundOn;
    try {
      window.localStorage.setItem("gridlink.wall.sound", soundOn ? "1" : "0");
    } catch (error) {
      // a private window: the choice lasts until the page is reloaded
    }
    showSound();
    if (soundOn) {
      beep(); // also unlocks audio, which browsers allow only after a user gesture
    }
  });

  function beep() {
    if (!soundOn) {
      return;
    }
    var Context = window.AudioContext || window.webkitAudioContext;
    if (!Context) {
      return;
    }
    try {
      audio = audio || new Context();
      if (audio.state === "suspended") {
        audio.resume();
      }
      [0, 0.35].forEach(function (offset) {
        var osc = audio.createOscillator();
        var gain = audio.createGain();
        osc.type = "square";
        osc.frequency.value = 880;
        gain.gain.setValueAtTime(0.0001, audio.currentTime + offset);
        gain.gain.exponentialRampToValueAtTime(0.25, audio.currentTime + offset + 0.02);
        gain.gain.exponentialRampToValueAtTime(0.0001, audio.currentTime + offset + 0.25);
        osc.connect(gain).connect(audio.destination);
        osc.start(audio.currentTime + offset);
        osc.stop(audio.currentTime + offset + 0.3);
      });
    } catch (error) {
      // no sound device: the banner is enough
    }
  }

  function renderBanner(overdue) {
    if (replaying) {
      banner.hidden = true;
      return;
    }
    var fresh = overdue.filter(function (incident) {
      return !announced[incident.id];
    });
    fresh.forEach(function (incident) {
      announced[incident.id] = true;
    });
    if (!overdue.length) {
      banner.hidden = true;
      body.classList.remove("has-alarm");
      return;
    }
    clear(banner);
    var message =
      overdue.length === 1
        ? format(text.alarmBanner, { number: overdue[0].number })
        : format(text.alarmBannerMany, { count: overdue.length });
    banner.appendChild(el("span", "wall-alarm-icon", "⚠"));
    banner.appendChild(el("span", "wall-alarm-text", message));
    overdue.slice(0, 6).forEach(function (incident) {
      var chip = el("button", "wall-alarm-chip", incident.number + " " + countdown(deadlineOf(incident)).text);
      chip.type = "button";
      chip.addEventListener("click", function () {
        focusIncident(incident.id);
      });
      banner.appendChild(chip);
    });
    banner.hidden = false;
    body.classList.add("has-alarm");
    if (fresh.length && ready) {
      beep();
    }
  }

  // ---- charts ------------------------------------------------------------------------------------

  var charts = {};

  function chartFont() {
    return Math.round(Math.max(12, Math.min(30, window.innerWidth / 120)));
  }

  function drawChart(id, rows, colour) {
    var node = document.getElementById(id);
    if (!node || typeof echarts === "undefined") {
      return;
    }
    var chart = charts[id] || (charts[id] = echarts.init(node, null, { renderer: "canvas" }));
    var font = chartFont();
    var data = (rows || []).slice().sort(function (a, b) {
      return a.count - b.count;
    });
    chart.setOption(
      {
        animation: false,
        grid: { left: 8, right: font * 2.6, top: 4, bottom: 4, containLabel: true },
        xAxis: { type: "value", show: false },
        yAxis: {
          type: "category",
          data: data.map(function (r) {
            return r.name;
          }),
          axisLabel: { color: "#c9d4e3", fontSize: font, margin: font * 0.5 },
          axisLine: { show: false },
          axisTick: { show: false },
        },
        series: [
          {
            type: "bar",
            data: data.map(function (r) {
              return r.count;
            }),
            barWidth: "62%",
            barMaxWidth: font * 1.4,
            itemStyle: { color: colour, borderRadius: [0, font / 4, font / 4, 0] },
            label: { show: true, position: "right", color: "#ffffff", fontSize: font, fontWeight: "bold" },
          },
        ],
        textStyle: { fontFamily: getComputedStyle(body).fontFamily },
      },
      true
    );
    node.dataset.bars = String(data.length);
  }

  function renderCounts(replayCounts) {
    var shown = replayCounts || counts;
    if (!shown || (replaying && !replayCounts)) {
      return;
    }
    document.getElementById("count-today").textContent = String(shown.today);
    document.getElementById("count-open").textContent = String(shown.open);
    if (replayCounts) {
      document.getElementById("count-overdue").textContent = "–";
    }
    drawChart("chart-category", shown.by_category, "#40c8ff");
    drawChart("chart-channel", shown.by_channel, "#ffb347");
  }

  window.addEventListener("resize", function () {
    Object.keys(charts).forEach(function (id) {
      charts[id].resize();
    });
  });

  // ---- the ticker --------------------------------------------------------------------------------

  // A camera and the count for an event that brought photos (an on-site report).
  var PHOTO_GLYPH = "\uD83D\uDCF7";

  function eventLabel(event) {
    var kind = config.eventKinds[event.kind] || event.kind;
    var data = event.data || {};
    var extra = "";
    var label;
    if (event.kind === "status_changed" && event.to) {
      extra = config.statuses[event.to] || event.to;
    } else if (event.kind === "dispatched" && data.member_name) {
      extra = data.member_name;
    } else if (event.kind === "transfer_requested") {
      // "Zhang Wei asks to transfer to the police station" (a responder's request from the scene).
      if (text.transferRequested) {
        label = format(text.transferRequested, { member: data.member_name || "", unit: data.unit_name || "" });
      } else {
        extra = (data.member_name || "") + " → " + (data.unit_name || "");
      }
    }
    label = label || (extra ? kind + " · " + extra : kind);
    if (data.photos && data.photos.length) {
      label += " · " + PHOTO_GLYPH + data.photos.length;
    }
    return label;
  }

  function tickerItem(event) {
    var item = el("li", "wall-tick wall-tick-" + event.kind);
    item.dataset.event = String(event.id);
    item.appendChild(el("span", "wall-tick-time", hhmm(event.at)));
    item.appendChild(el("span", "wall-tick-number", event.number));
    item.appendChild(el("span", "wall-tick-kind", eventLabel(event)));
    item.addEventListener("click", function () {
      focusIncident(event.incident);
    });
    return item;
  }

  function tickerAdd(event) {
    if (tickerBox.querySelector('[data-event="' + event.id + '"]')) {
      return;
    }
    tickerBox.insertBefore(tickerItem(event), tickerBox.firstChild);
    while (tickerBox.childNodes.length > TICKER_MAX) {
      tickerBox.removeChild(tickerBox.lastChild);
    }
  }

  function tickerReset(events) {
    clear(tickerBox);
    (events || []).slice(0, TICKER_MAX).forEach(function (event) {
      tickerBox.appendChild(tickerItem(event));
    });
  }

  // ---- the incident card --------------------------------------------------------------------------

  var cardBox = document.getElementById("wall-card");
  var card = { id: null };

  function cardRow(list, label, value, className) {
    if (value === undefined || value === null || value === "") {
      return;
    }
    list.appendChild(el("dt", null, label));
    var dd = el("dd", className || null, value);
    list.appendChild(dd);
    return dd;
  }

  // Thumbnails of on-site photos, each opening its large rendition (URLs come from the card API).
  function photoStrip(photos, className) {
    var list = el("ul", "wall-card-photos" + (className ? " " + className : ""));
    list.style.cssText = "display:flex;flex-wrap:wrap;gap:4px;list-style:none;margin:4px 0;padding:0";
    photos.forEach(function (photo) {
      var item = el("li");
      item.dataset.photo = String(photo.id);
      var link = el("a");
      link.href = photo.url;
      link.target = "_blank";
      link.rel = "noopener";
      var image = el("img");
      image.src = photo.thumb_url;
      image.alt = text.photos || PHOTO_GLYPH;
      image.loading = "lazy";
      image.style.cssText = "display:block;width:64px;height:64px;object-fit:cover;border-radius:3px";
      link.appendChild(image);
      item.appendChild(link);
      list.appendChild(item);
    });
    return list;
  }

  function renderCard(incident) {
    clear(cardBox);
    var head = el("header", "wall-card-head");
    var glyph = el("span", "wall-card-glyph", glyphOf(incident.category));
    glyph.style.setProperty("--status-colour", STATUS_COLOURS[incident.status] || "#8e8e93");
    head.appendChild(glyph);
    var title = el("div", "wall-card-title");
    title.appendChild(el("strong", null, incident.number));
    title.appendChild(el("span", null, categoryName(incident)));
    head.appendChild(title);
    head.appendChild(statusBadge(incident));
    var close = el("button", "wall-btn wall-card-close", "×");
    close.type = "button";
    close.title = text.close;
    close.setAttribute("aria-label", text.close);
    close.addEventListener("click", closeCard);
    head.appendChild(close);
    cardBox.appendChild(head);

    if (incident.major) {
      cardBox.appendChild(el("div", "wall-card-major", text.major + (incident.level ? " · " + format(text.level, { level: incident.level }) : "")));
    }
    var deadline = liveOrders(incident).length ? deadlineOf(incident) : null;
    if (deadline) {
      var c = countdown(deadline);
      var cd = el("div", "wall-card-countdown", c.label);
      cd.dataset.state = c.state;
      cd.dataset.deadline = deadline;
      cardBox.appendChild(cd);
    }
    var facts = el("dl", "wall-card-facts");
    cardRow(facts, text.reportedAt, hhmm(incident.reported_at));
    cardRow(facts, text.channel, incident.channel && incident.channel.name);
    cardRow(facts, text.address, incident.address);
    cardRow(facts, text.grid, incident.grid && incident.grid.name);
    cardRow(facts, text.deadline, deadline ? hhmm(deadline) : null);
    cardBox.appendChild(facts);
    var description = incident.description || incident.summary;
    if (description) {
      cardBox.appendChild(el("p", "wall-card-description", description));
    }

    cardBox.appendChild(el("h3", null, text.people));
    var orders = el("ul", "wall-card-orders");
    var told = {}; // each order's own "order" message: whether the person was reached
    (incident.messages || []).forEach(function (m) {
      if (m.kind === "order" && m.order !== null) {
        told[m.order] = m;
      }
    });
    (incident.orders || []).forEach(function (o) {
      var item = el("li", "wall-order state-" + o.state);
      item.dataset.order = String(o.id);
      var who = el("div", "wall-order-who");
      who.appendChild(el("strong", null, o.member_name));
      who.appendChild(el("span", "muted", config.forces[o.force] || o.force || ""));
      who.appendChild(el("span", "wall-order-state", o.state_label || config.orderStates[o.state] || o.state));
      item.appendChild(who);
      var times = el("dl", "wall-order-times");
      cardRow(times, text.dispatchedAt, hhmm(o.dispatched_at));
      cardRow(times, text.eta, hhmm(o.eta));
      cardRow(times, text.arriveBy, hhmm(o.arrive_by));
      cardRow(times, text.arrivedAt, hhmm(o.arrived_at));
      item.appendChild(times);
      if (o.told_at) {
        // "told 14:02 · seen 14:03", or not seen yet / SMS sent / SMS retrying.
        var m = told[o.id] || {};
        var parts = [format(text.toldAt, { time: hhmm(o.told_at) })];
        if (o.seen_at) {
          parts.push(format(text.seenAt, { time: hhmm(o.seen_at) }));
        } else if (m.status === "sent") {
          parts.push(format(text.smsSent, { time: hhmm(m.sent_at) }));
        } else if (m.status === "retrying") {
          parts.push(format(text.smsRetrying, { attempts: m.attempts }));
        } else {
          parts.push(text.notSeen);
        }
        var reached = el("div", "wall-order-reached" + (o.seen_at || m.status === "sent" ? "" : " wall-warn"),
          parts.join(" · "));
        reached.dataset.reached = o.seen_at ? "seen" : m.status || "waiting";
        item.appendChild(reached);
      }
      orders.appendChild(item);
    });
    if (!orders.childNodes.length) {
      orders.appendChild(el("li", "wall-empty", text.noOrders));
    }
    cardBox.appendChild(orders);

    // Replacements: the next candidate of the same rule for a declined or late responder.
    if (incident.replacements && incident.replacements.length) {
      cardBox.appendChild(el("h3", null, text.replacements));
      var proposals = el("ul", "wall-card-replacements");
      incident.replacements.forEach(function (p) {
        var item = el("li", "wall-replacement");
        item.dataset.replaces = String(p.order);
        var why = p.why === "declined" ? text.inPlaceOfDeclined : text.inPlaceOfOverdue;
        item.appendChild(el("div", null, format(why, { name: p.member.name })));
        if (p.candidate) {
          var eta = p.candidate.travel_seconds === null ? "" : " · " + format(text.etaMinutes,
            { minutes: Math.max(1, Math.round(p.candidate.travel_seconds / 60)) });
          item.appendChild(el("div", "muted", p.candidate.name + " · " + p.candidate.force_display + " · " +
            p.candidate.unit + eta));
          if (p.candidate.reason) {
            item.appendChild(el("div", "wall-replacement-reason", p.candidate.reason));
          }
        }
        if (!p.candidate) {
          item.appendChild(el("div", "wall-warn", text.noReplacement));
        } else if (p.can_send) {
          var send = el("button", "wall-btn wall-send", format(text.send, { name: p.candidate.name }));
          send.type = "button";
          send.addEventListener("click", function () {
            send.disabled = true;
            http.post(http.url(config.api.replace, p.order), { member: p.candidate.id, method: "phone" })
              .then(function (result) {
                if (!result.ok) {
                  send.disabled = false;
                  item.appendChild(el("div", "wall-warn", http.errorMessages(result, text.sendFailed).message));
                }
              })
              .catch(function () {
                send.disabled = false;
                item.appendChild(el("div", "wall-warn", text.sendFailed));
              });
          });
          item.appendChild(send);
        }
        proposals.appendChild(item);
      });
      cardBox.appendChild(proposals);
    }

    var photos = incident.photos || [];
    if (photos.length) {
      cardBox.appendChild(el("h3", null, (text.photos || PHOTO_GLYPH) + " " + photos.length));
      cardBox.appendChild(photoStrip(photos));
    }

    if (incident.timeline && incident.timeline.length) {
      cardBox.appendChild(el("h3", null, text.timeline));
      var timeline = el("ol", "wall-card-timeline");
      incident.timeline.forEach(function (event) {
        var item = el("li");
        item.appendChild(el("span", "wall-tl-time", hhmm(event.at)));
        var what = el("span", "wall-tl-what", eventLabel(event));
        item.appendChild(what);
        if (event.actor) {
          item.appendChild(el("span", "wall-tl-actor", event.actor));
        }
        if (event.note) {
          item.appendChild(el("span", "wall-tl-note", event.note));
        }
        var ids = (event.data && event.data.photos) || [];
        var shown = photos.filter(function (photo) {
          return ids.indexOf(photo.id) >= 0;
        });
        if (shown.length) {
          item.appendChild(photoStrip(shown, "wall-tl-photos"));
        }
        timeline.appendChild(item);
      });
      cardBox.appendChild(timeline);
      timeline.scrollTop = timeline.scrollHeight;
    }
    var link = el("a", "wall-card-link", text.openCase);
    link.href = http.url(config.pages.incident, incident.id);
    link.target = "_blank";
    link.rel = "noopener";
    cardBox.appendChild(link);
    cardBox.hidden = false;
    cardBox.dataset.incident = String(incident.id);
  }

  function closeCard() {
    card.id = null;
    cardBox.hidden = true;
    delete cardBox.dataset.incident;
  }

  function openCard(id) {
    card.id = Number(id);
    var known = incidents[id];
    if (known) {
      renderCard(known);
    }
    fetchCard(id).then(function (incident) {
      if (!incident && card.id === Number(id) && !known) {
        clear(cardBox);
        cardBox.appendChild(el("p", "wall-empty", text.cardError));
        cardBox.hidden = false;
      }
    });
  }

  // Flies to an incident so that it lands in the middle of the part of the map the card leaves free.
  function flyToIncident(latlng, duration) {
    var zoom = Math.max(map.getZoom(), 16);
    var covered = cardBox.hidden ? 0 : cardBox.offsetWidth + 16;
    var centre = map.unproject(map.project(latlng, zoom).add([covered / 2, 0]), zoom);
    map.flyTo(centre, zoom, { duration: duration });
  }

  function focusIncident(id) {
    var incident = incidents[id];
    var latlng = incident && latLngOf(incident.point);
    openCard(id);
    if (latlng) {
      flyToIncident(latlng, 1);
    }
  }

  // One card request per incident at a time; events that arrive meanwhile ask for one more.
  var cardRequests = {};

  function fetchCard(id) {
    id = Number(id);
    var pending = cardRequests[id];
    if (pending) {
      pending.again = true;
      return pending.promise;
    }
    var entry = { again: false };
    entry.promise = http.get(http.url(config.api.incident, id)).then(
      function (result) {
        delete cardRequests[id];
        if (entry.again) {
          return fetchCard(id);
        }
        if (!result.ok || !result.data) {
          if (result.status === 404) {
            removeIncident(id);
            renderQueue();
          }
          return null;
        }
        if (replaying) {
          return result.data;
        }
        var previous = upsertIncident(result.data);
        if (result.data.major && (!previous || !previous.major) && ready && isOpen(result.data)) {
          // A new major incident: fly there and show it.
          var latlng = latLngOf(result.data.point);
          if (latlng) {
            openCard(result.data.id);
            flyToIncident(latlng, 1.5);
          }
        }
        return result.data;
      },
      function () {
        delete cardRequests[id];
        return null;
      }
    );
    cardRequests[id] = entry;
    return entry.promise;
  }

  // ---- the snapshot ------------------------------------------------------------------------------

  var snapshotLoading = null;
  var notice = null;

  function showNotice(message) {
    if (!notice) {
      notice = el("div", "wall-notice");
      map.getContainer().appendChild(notice);
    }
    notice.textContent = message;
    notice.hidden = !message;
  }

  var snapshotReason = null;

  function loadSnapshot(reason) {
    if (snapshotLoading) {
      // A resync asked for during a periodic reload takes that reload over.
      if (reason !== "periodic") {
        snapshotReason = reason;
      }
      return snapshotLoading;
    }
    snapshotReason = reason;
    // Not older than the newest event this page shows: the walls share one snapshot for a second
    // (wall/snapshot.py), and a periodic reload must not take the page back behind its own events.
    snapshotLoading = http
      .get(lastEvent ? config.api.state + "?after=" + encodeURIComponent(lastEvent) : config.api.state)
      .then(function (result) {
        snapshotLoading = null;
        if (!result.ok || !result.data) {
          throw new Error("state: HTTP " + result.status);
        }
        if (!replaying) {
          applySnapshot(result.data, snapshotReason);
        }
        showNotice("");
        flushPending();
        return result.data;
      })
      .catch(function (error) {
        snapshotLoading = null;
        showNotice(text.loadError);
        if (window.console) {
          window.console.error(error);
        }
        var again = snapshotReason;
        window.setTimeout(function () {
          loadSnapshot(again);
        }, 5000);
      });
    return snapshotLoading;
  }

  function applySnapshot(state, reason) {
    if (state.now) {
      clockOffset = ms(state.now) - Date.now();
    }
    var seen = {};
    (state.incidents || []).forEach(function (incident) {
      seen[incident.id] = true;
      upsertIncident(incident, { quiet: true });
    });
    Object.keys(incidents).forEach(function (id) {
      if (!seen[id]) {
        removeIncident(id);
      }
    });
    var memberSeen = {};
    (state.members || []).forEach(function (member) {
      memberSeen[member.id] = true;
      var known = members[member.id];
      // A position that came over the socket after the snapshot was read stays.
      if (known && known.at && member.at && ms(known.at) > ms(member.at)) {
        member.point = known.point;
        member.at = known.at;
        member.stale = known.stale;
      }
      members[member.id] = member;
      drawMember(member);
    });
    Object.keys(memberMarkers).forEach(function (id) {
      if (memberSeen[id] && members[id].status === "busy") {
        memberMarkers[id].bringToFront();
      }
      if (!memberSeen[id]) {
        live.members.removeLayer(memberMarkers[id]);
        delete memberMarkers[id];
        delete members[id];
      }
    });
    // Routes drawn as straight lines need the members' positions: draw them again.
    Object.keys(incidents).forEach(function (id) {
      drawRoutes(incidents[id]);
    });
    gridLoads = {};
    (state.grids || []).forEach(function (grid) {
      gridLoads[grid.code] = grid.load;
    });
    restyleGrids();
    counts = state.counts || null;
    alarms = state.alarms || [];
    renderCounts();
    renderQueue();
    renderAlarms();
    if (reason !== "periodic") {
      (state.events || []).forEach(function (event) {
        markSeen(event.id);
      });
      tickerReset(state.events);
      if (state.events && state.events.length && !lastEventAt) {
        lastEventAt = ms(state.events[0].at);
      }
    }
    if (reason !== "periodic" && typeof state.last_event === "number") {
      lastEvent = Math.max(lastEvent, state.last_event);
      body.dataset.lastEvent = String(lastEvent);
    }
    if (card.id && incidents[card.id]) {
      renderCard(incidents[card.id]);
    }
    showConnection();
    if (!ready) {
      ready = true;
      body.dataset.wallReady = "1";
    }
  }

  // ---- the websocket ------------------------------------------------------------------------------

  var socket = null;
  var attempt = 0;
  var reconnectTimer = null;
  var connState = "connecting";
  var pending = []; // messages that arrived while the snapshot was loading

  function socketUrl() {
    var scheme = window.location.protocol === "https:" ? "wss:" : "ws:";
    var url = scheme + "//" + window.location.host + config.socket;
    return lastEvent ? url + "?last_event=" + encodeURIComponent(Math.max(0, lastEvent - RESUME_OVERLAP)) : url;
  }

  function setConnection(state) {
    connState = state;
    body.dataset.socket = state;
    showConnection();
  }

  function showConnection() {
    var box = document.getElementById("wall-conn");
    box.dataset.state = connState;
    document.getElementById("wall-conn-text").textContent =
      connState === "live" ? text.live : connState === "reconnecting" ? text.reconnecting : text.connecting;
    // The time of the newest event and how long ago it was: a wall that has gone quiet shows it.
    document.getElementById("wall-conn-last").textContent = lastEventAt
      ? format(text.lastEvent, { time: clockText(lastEventAt, false) }) + " (" + G.fmt.age(new Date(lastEventAt).toISOString()) + ")"
      : text.noEventYet;
  }

  function connect() {
    if (reconnectTimer) {
      window.clearTimeout(reconnectTimer);
      reconnectTimer = null;
    }
    var ws;
    try {
      ws = new WebSocket(socketUrl());
    } catch (error) {
      scheduleReconnect();
      return;
    }
    socket = ws;
    ws.onopen = function () {
      setConnection("live");
    };
    ws.onmessage = function (message) {
      // The back-off starts again once the server has said something (a socket it accepts and
      // closes at once, as for a signed-out user, keeps backing off).
      attempt = 0;
      var data;
      try {
        data = JSON.parse(message.data);
      } catch (error) {
        return;
      }
      if (snapshotLoading) {
        pending.push(data);
        return;
      }
      handle(data);
    };
    ws.onclose = function (event) {
      if (socket !== ws) {
        return;
      }
      socket = null;
      // Signed out (the session expired) or the role was taken away: say so, and keep trying,
      // so that a log-in in another tab brings the wall back.
      var codes = config.closeCodes || {};
      if (event && (event.code === codes.anonymous || event.code === codes.forbidden)) {
        showNotice(text.signedOut);
      }
      setConnection("reconnecting");
      scheduleReconnect();
    };
    ws.onerror = function () {
      // onclose follows and reconnects
    };
  }

  function scheduleReconnect() {
    var delay = BACKOFF[Math.min(attempt, BACKOFF.length - 1)] * (0.7 + 0.6 * Math.random());
    attempt += 1;
    reconnectTimer = window.setTimeout(connect, delay);
  }

  function flushPending() {
    var queued = pending;
    pending = [];
    queued.forEach(handle);
  }

  function handle(data) {
    if (data.type === "event" && data.event) {
      applyEvent(data.event);
    } else if (data.type === "positions") {
      applyPositions(data.positions);
    } else if (data.type === "caught_up") {
      if (typeof data.last_event === "number" && data.last_event > lastEvent) {
        lastEvent = data.last_event;
        body.dataset.lastEvent = String(lastEvent);
      }
    } else if (data.type === "resync") {
      // The snapshot is read after this message was sent, so it holds everything up to
      // data.last_event; events behind it in the socket are skipped by their id.
      loadSnapshot("resync");
    }
  }

  function applyEvent(event) {
    if (!markSeen(event.id)) {
      return;
    }
    if (event.id > lastEvent) {
      lastEvent = event.id;
      body.dataset.lastEvent = String(lastEvent);
    }
    lastEventAt = Math.max(lastEventAt || 0, ms(event.at) || now());
    showConnection();
    tickerAdd(event);
    if (replaying) {
      return;
    }
    var known = incidents[event.incident];
    if (known && event.status) {
      known.status = event.status;
    }
    if (event.kind === "dispatched" && event.data && event.data.member && members[event.data.member]) {
      members[event.data.member].status = "busy";
      drawMember(members[event.data.member]);
    }
    if (GONE[event.status]) {
      removeIncident(event.incident);
      renderQueue();
      renderAlarms();
    } else {
      fetchCard(event.incident);
    }
    // What changes the counts, the alarms or who is busy: reload the snapshot soon.
    if (SUMMARY_KINDS[event.kind]) {
      summarySoon();
    }
  }

  // Counts, grid loads and alarms come with the snapshot: after events, reload it (at most every
  // 10 s), besides the periodic reload.
  var summaryTimer = null;
  function summarySoon() {
    if (summaryTimer) {
      return;
    }
    summaryTimer = window.setTimeout(function () {
      summaryTimer = null;
      if (!replaying) {
        loadSnapshot("periodic");
      }
    }, 10000);
  }

  window.setInterval(function () {
    if (!replaying && !snapshotLoading) {
      loadSnapshot("periodic");
    }
  }, SNAPSHOT_EVERY_MS);

  // ---- the clock ---------------------------------------------------------------------------------

  var clockBox = document.getElementById("wall-clock");
  function everySecond() {
    if (replaying) {
      return;
    }
    clockBox.textContent = clockText(now());
    Object.keys(markers).forEach(function (id) {
      if (incidents[id]) {
        tickIncident(incidents[id]);
      }
    });
    tickQueue();
    // Overdue alarms appear when a deadline passes, with no event needed.
    var overdue = overdueIncidents();
    var shown = alarmsBox.querySelectorAll(".is-overdue").length;
    if (overdue.length !== shown) {
      renderAlarms();
      Object.keys(incidents).forEach(function (id) {
        drawRoutes(incidents[id]);
      });
    } else {
      alarmsBox.querySelectorAll(".wall-a-countdown").forEach(function (box) {
        var incident = incidents[box.dataset.incident];
        if (incident && deadlineOf(incident)) {
          box.textContent = countdown(deadlineOf(incident)).text;
        }
      });
      banner.querySelectorAll(".wall-alarm-chip").forEach(function (chip, i) {
        var incident = overdue[i];
        if (incident) {
          chip.textContent = incident.number + " " + countdown(deadlineOf(incident)).text;
        }
      });
    }
    var cd = cardBox.querySelector(".wall-card-countdown");
    if (cd && cd.dataset.deadline) {
      var c = countdown(cd.dataset.deadline);
      cd.textContent = c.label;
      cd.dataset.state = c.state;
    }
    // The connection line says how old the last event is.
    showConnection();
    var busyCount = 0;
    Object.keys(members).forEach(function (id) {
      busyCount += members[id].status === "busy" ? 1 : 0;
    });
    body.dataset.membersBusy = String(busyCount);
  }
  window.setInterval(everySecond, 1000);

  // ---- full screen -------------------------------------------------------------------------------

  var fullscreenButton = document.getElementById("wall-fullscreen");
  function showFullscreen() {
    fullscreenButton.textContent = document.fullscreenElement ? text.exitFullscreen : text.fullscreen;
    window.setTimeout(function () {
      map.invalidateSize();
      Object.keys(charts).forEach(function (id) {
        charts[id].resize();
      });
    }, 200);
  }
  if (!document.documentElement.requestFullscreen) {
    fullscreenButton.hidden = true;
  }
  fullscreenButton.addEventListener("click", function () {
    if (document.fullscreenElement) {
      document.exitFullscreen();
    } else {
      document.documentElement.requestFullscreen().catch(function () {});
    }
  });
  document.addEventListener("fullscreenchange", showFullscreen);

  // ---- the legend --------------------------------------------------------------------------------

  // In the side column, not on the map: on the map it would hide incidents at the edge of the
  // sub-district. Chips flow in rows, so it stays short at 1920 px and at 3840 px.
  (function legend() {
    var box = document.getElementById("wall-legend");
    if (!box) {
      return;
    }
    function row(title) {
      var list = el("ul", "wall-legend-row");
      var item = el("li", "wall-legend-title", title);
      list.appendChild(item);
      box.appendChild(list);
      return list;
    }
    function chip(list, swatch, label) {
      var item = el("li");
      item.appendChild(swatch);
      item.appendChild(el("span", null, label));
      list.appendChild(item);
    }
    var statuses = row(text.statuses);
    ["new", "dispatched", "arrived", "in_progress", "resolved", "needs_location"].forEach(function (status) {
      var swatch = el("span", "wall-swatch is-dot");
      swatch.style.setProperty("--swatch", STATUS_COLOURS[status]);
      chip(statuses, swatch, config.statuses[status] || status);
    });
    chip(statuses, el("span", "wall-swatch is-pulse"), text.major);
    var cats = row(text.categories);
    (config.categories || []).forEach(function (c) {
      chip(cats, el("span", "wall-swatch is-glyph", glyphOf(c)), c.name);
    });
    var people = row(text.members);
    [
      ["on_duty", text.onDuty],
      ["busy", text.busy],
      ["off_duty", text.offDuty],
    ].forEach(function (r) {
      var swatch = el("span", "wall-swatch is-member");
      swatch.style.setProperty("--swatch", MEMBER_COLOURS[r[0]]);
      chip(people, swatch, r[1]);
    });
    chip(people, el("span", "wall-swatch is-route"), text.route);
    chip(people, el("span", "wall-swatch is-ramp"), text.gridLoad);
  })();

  // ---- replay ------------------------------------------------------------------------------------

  var replay = {
    data: null,
    layers: L.layerGroup(),
    markers: {},
    routes: {},
    members: {},
    t: 0,
    start: 0,
    end: 0,
    playing: false,
    speed: 300,
    lastFrame: 0,
    lastDraw: 0,
  };
  var dateInput = document.getElementById("replay-date");
  var controls = document.getElementById("replay-controls");
  var slider = document.getElementById("replay-slider");
  var playButton = document.getElementById("replay-play");
  var speedSelect = document.getElementById("replay-speed");
  var exitButton = document.getElementById("replay-exit");
  var replayBanner = document.getElementById("wall-replay-banner");

  // Yesterday and before, in Shanghai time.
  (function () {
    var shanghai = new Date(now() + 8 * 3600 * 1000 - 86400 * 1000);
    dateInput.max = shanghai.toISOString().slice(0, 10);
  })();

  function enterReplay(date) {
    replayBanner.hidden = false;
    replayBanner.textContent = text.connecting;
    http.get(config.api.replay, { date: date }).then(function (result) {
      if (!result.ok || !result.data) {
        replayBanner.textContent = text.replayError;
        return;
      }
      startReplay(result.data);
    });
  }

  function startReplay(data) {
    replaying = true;
    body.classList.add("is-replay");
    body.dataset.replay = data.date;
    closeCard();
    banner.hidden = true;
    [live.incidents, live.routes, live.members].forEach(function (layer) {
      map.removeLayer(layer);
    });
    replay.layers.clearLayers();
    replay.layers.addTo(map);
    replay.data = data;
    replay.panelKey = null;
    // Today's grid loads and alarms do not belong to that day.
    gridLoads = {};
    restyleGrids();
    renderAlarms();
    replay.markers = {};
    replay.routes = {};
    replay.members = {};
    replay.start = ms(data.start);
    replay.end = ms(data.end);
    replay.t = replay.start;
    // Tracks and orders sorted once; positions are looked up by binary search.
    replay.tracks = {};
    Object.keys(data.tracks || {}).forEach(function (member) {
      replay.tracks[member] = (data.tracks[member] || [])
        .map(function (fix) {
          return [ms(fix[0]), fix[1], fix[2]];
        })
        .sort(function (a, b) {
          return a[0] - b[0];
        });
    });
    (data.incidents || []).forEach(function (incident) {
      incident.statusTimes = (incident.statuses || []).map(function (s) {
        return [ms(s[0]), s[1]];
      });
    });
    slider.min = "0";
    slider.max = String(Math.round((replay.end - replay.start) / 1000));
    slider.value = "0";
    controls.hidden = false;
    replayBanner.hidden = false;
    replayBanner.textContent = format(text.replaying, { date: data.date });
    if (!(data.incidents || []).length && !Object.keys(data.tracks || {}).length) {
      replayBanner.textContent += " — " + text.replayEmpty;
    }
    drawReplay();
    setPlaying(true);
  }

  function exitReplay() {
    setPlaying(false);
    replaying = false;
    body.classList.remove("is-replay");
    delete body.dataset.replay;
    controls.hidden = true;
    replayBanner.hidden = true;
    dateInput.value = "";
    map.removeLayer(replay.layers);
    replay.layers.clearLayers();
    replay.data = null;
    [live.incidents, live.routes, live.members].forEach(function (layer) {
      layer.addTo(map);
    });
    // Routes lose their data attributes when re-added: draw them again from the fresh snapshot.
    loadSnapshot("resync");
  }

  function setPlaying(playing) {
    replay.playing = playing;
    playButton.textContent = playing ? text.pause : text.play;
    if (playing) {
      replay.lastFrame = performance.now();
      window.requestAnimationFrame(frame);
    }
  }

  function frame(stamp) {
    if (!replay.playing || !replaying) {
      return;
    }
    var dt = stamp - replay.lastFrame;
    replay.lastFrame = stamp;
    replay.t = Math.min(replay.end, replay.t + dt * replay.speed);
    // About 12 frames a second are enough and keep 692 markers light.
    if (stamp - replay.lastDraw > 80 || replay.t >= replay.end) {
      replay.lastDraw = stamp;
      drawReplay();
    }
    if (replay.t >= replay.end) {
      setPlaying(false);
      return;
    }
    window.requestAnimationFrame(frame);
  }

  function statusAt(incident, t) {
    var status = null;
    for (var i = 0; i < incident.statusTimes.length; i += 1) {
      if (incident.statusTimes[i][0] <= t) {
        status = incident.statusTimes[i][1];
      } else {
        break;
      }
    }
    return status || "new";
  }

  function trackAt(track, t) {
    if (!track || !track.length || t < track[0][0]) {
      return null;
    }
    var lo = 0;
    var hi = track.length - 1;
    if (t >= track[hi][0]) {
      return [track[hi][1], track[hi][2]];
    }
    while (hi - lo > 1) {
      var mid = (lo + hi) >> 1;
      if (track[mid][0] <= t) {
        lo = mid;
      } else {
        hi = mid;
      }
    }
    var a = track[lo];
    var b = track[hi];
    var f = b[0] === a[0] ? 0 : (t - a[0]) / (b[0] - a[0]);
    return [a[1] + (b[1] - a[1]) * f, a[2] + (b[2] - a[2]) * f];
  }

  // A point a fraction `f` along a polyline of [lon, lat].
  function alongRoute(route, f) {
    if (route.length === 1 || f <= 0) {
      return route[0];
    }
    if (f >= 1) {
      return route[route.length - 1];
    }
    var lengths = [];
    var total = 0;
    for (var i = 1; i < route.length; i += 1) {
      var d = Math.hypot(route[i][0] - route[i - 1][0], route[i][1] - route[i - 1][1]);
      lengths.push(d);
      total += d;
    }
    var target = total * f;
    for (var j = 0; j < lengths.length; j += 1) {
      if (target <= lengths[j] || j === lengths.length - 1) {
        var g = lengths[j] ? target / lengths[j] : 0;
        return [
          route[j][0] + (route[j + 1][0] - route[j][0]) * g,
          route[j][1] + (route[j + 1][1] - route[j][1]) * g,
        ];
      }
      target -= lengths[j];
    }
    return route[route.length - 1];
  }

  var REPLAY_TRAVEL_MS = 12 * 60 * 1000; // an order without an arrival: assume 12 min on the way

  function drawReplay() {
    var data = replay.data;
    var t = replay.t;
    slider.value = String(Math.round((t - replay.start) / 1000));
    clockBox.textContent = clockText(t);
    var busy = {};
    (data.incidents || []).forEach(function (incident) {
      var latlng = latLngOf(incident.point);
      var visible = latlng && ms(incident.reported_at) <= t;
      var status = visible ? statusAt(incident, t) : null;
      if (status && GONE[status]) {
        visible = false;
      }
      var marker = replay.markers[incident.id];
      if (!visible) {
        if (marker) {
          replay.layers.removeLayer(marker);
          delete replay.markers[incident.id];
        }
        return;
      }
      var shown = { id: incident.id, status: status, major: incident.major, category: incident.category };
      if (!marker) {
        marker = L.marker(latlng, { icon: incidentIcon(shown, "is-replay"), pane: "wall-incidents", keyboard: false });
        marker.status = status;
        replay.markers[incident.id] = marker;
        marker.addTo(replay.layers);
      } else if (marker.status !== status) {
        marker.status = status;
        marker.setIcon(incidentIcon(shown, "is-replay"));
      }
    });
    (data.orders || []).forEach(function (order, index) {
      var start = ms(order.dispatched_at);
      var arrived = order.arrived_at ? ms(order.arrived_at) : start + REPLAY_TRAVEL_MS;
      var onTheWay = start <= t && t < arrived;
      var line = replay.routes[index];
      if (onTheWay && order.route && order.route.length >= 2) {
        if (!line) {
          line = L.polyline(order.route.map(latLngOf), {
            renderer: routeRenderer,
            color: "#40c8ff",
            weight: 3 * scale(),
            opacity: 0.8,
            className: "wall-route is-replay",
            interactive: false,
          }).addTo(replay.layers);
          replay.routes[index] = line;
        }
      } else if (line) {
        replay.layers.removeLayer(line);
        delete replay.routes[index];
      }
      if (onTheWay) {
        busy[order.member] = order;
      }
    });
    var positions = {};
    Object.keys(replay.tracks).forEach(function (member) {
      var p = trackAt(replay.tracks[member], t);
      if (p) {
        positions[member] = p;
      }
    });
    // Responders on an order without a track move along the order's route.
    Object.keys(busy).forEach(function (member) {
      var order = busy[member];
      if (positions[member] || !order.route || order.route.length < 2) {
        return;
      }
      var start = ms(order.dispatched_at);
      var arrived = order.arrived_at ? ms(order.arrived_at) : start + REPLAY_TRAVEL_MS;
      positions[member] = alongRoute(order.route, (t - start) / Math.max(1, arrived - start));
    });
    Object.keys(replay.members).forEach(function (member) {
      if (!positions[member]) {
        replay.layers.removeLayer(replay.members[member]);
        delete replay.members[member];
      }
    });
    Object.keys(positions).forEach(function (member) {
      var p = positions[member];
      var latlng = L.latLng(p[1], p[0]);
      var style = memberStyle({ status: busy[member] ? "busy" : "on_duty" });
      var marker = replay.members[member];
      if (!marker) {
        replay.members[member] = L.circleMarker(latlng, style).addTo(replay.layers);
      } else {
        marker.setLatLng(latlng);
        if (marker.options.fillColor !== style.fillColor) {
          marker.setStyle(style);
          marker.setRadius(style.radius);
        }
      }
    });
    body.dataset.replayIncidents = String(Object.keys(replay.markers).length);
    replayPanels(t);
  }

  // The queue and today's charts as they stood at `t` (recounted when a case appears or changes).
  function replayPanels(t) {
    var open = [];
    var reported = [];
    (replay.data.incidents || []).forEach(function (incident) {
      if (ms(incident.reported_at) > t) {
        return;
      }
      var status = statusAt(incident, t);
      reported.push(incident);
      if (!GONE[status] && !DONE[status]) {
        open.push({
          id: incident.id,
          number: incident.number,
          status: status,
          status_label: config.statuses[status] || status,
          category: incident.category,
          major: incident.major,
          point: incident.point,
          reported_at: incident.reported_at,
          summary: "",
        });
      }
    });
    var key = reported.length + ":" + open.map(function (i) {
      return i.id + i.status;
    }).join(",");
    if (key === replay.panelKey) {
      return;
    }
    replay.panelKey = key;
    renderQueue(open);
    function tally(field) {
      var byCode = {};
      reported.forEach(function (incident) {
        var ref = incident[field] || {};
        var row = byCode[ref.code] || (byCode[ref.code] = { code: ref.code, name: ref.name || ref.code, count: 0 });
        row.count += 1;
      });
      return Object.keys(byCode).map(function (code) {
        return byCode[code];
      });
    }
    renderCounts({ today: reported.length, open: open.length, by_category: tally("category"), by_channel: tally("channel") });
  }

  dateInput.addEventListener("change", function () {
    if (dateInput.value) {
      setPlaying(false);
      enterReplay(dateInput.value);
    }
  });
  playButton.addEventListener("click", function () {
    if (replay.t >= replay.end) {
      replay.t = replay.start;
    }
    setPlaying(!replay.playing);
  });
  speedSelect.addEventListener("change", function () {
    replay.speed = Number(speedSelect.value) || 300;
  });
  replay.speed = Number(speedSelect.value) || 300;
  slider.addEventListener("input", function () {
    replay.t = replay.start + Number(slider.value) * 1000;
    drawReplay();
  });
  exitButton.addEventListener("click", exitReplay);

  // ---- start -------------------------------------------------------------------------------------

  if (!config.subdistrict) {
    showNotice(config.map.text.noData);
    return;
  }
  setConnection("connecting");
  everySecond();
  loadSnapshot("start").then(connect);
})();
