/*
 * GridLink sub-district map: our own GeoJSON layers are the offline basemap (no internet tiles
 * unless TILE_URL is configured).
 *
 * Reads its configuration from the json_script element #map-config (API URLs, layer names in the
 * user's language, tile settings). Every text that comes from data is put in the page with
 * textContent only: names and addresses are typed by people, so they are never parsed as HTML.
 *
 * Test hooks: document.body.dataset.<layer>Loaded = number of features once a layer is drawn
 * (e.g. data-grids-loaded="52"), data-map-ready="1" once every layer has settled.
 */
(function () {
  "use strict";

  var configElement = document.getElementById("map-config");
  if (!configElement || typeof L === "undefined") {
    return;
  }
  var config = JSON.parse(configElement.textContent);
  var text = config.text;

  // Zoom levels from which road names show.
  var ARTERIAL_NAME_ZOOM = 14;
  var SECONDARY_NAME_ZOOM = 15.5;

  var COLOURS = {
    land: "#f7f6f2",
    water: "#a8cde6",
    waterEdge: "#7fb0d4",
    boundary: "#b3261e",
    community: "#6b3fa0",
    grid: "#3d6fb0",
  };

  var PLACE_COLOURS = {
    residential_complex: "#2e7d32",
    construction_site: "#ef6c00",
    enterprise: "#6d4c41",
    park_building: "#00838f",
    school: "#c2185b",
    market: "#f9a825",
    other: "#757575",
  };

  var FORCE_COLOURS = {
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

  // Road classes drawn from minor to major so that major roads lie on top; widths in pixels
  // at zoom 15, scaled with the zoom.
  var ROAD_CLASSES = ["path", "local", "secondary", "arterial"];
  var ROAD_STYLES = {
    arterial: { fill: "#f6c86b", casing: "#c9963a", width: 7 },
    secondary: { fill: "#fff3c4", casing: "#c7b27a", width: 5 },
    local: { fill: "#ffffff", casing: "#c4c4c4", width: 3.5 },
    path: { fill: "#a39c8f", casing: null, width: 1.5, dashArray: "4 3" },
  };

  // Popups pan clear of the zoom buttons (left) and the layer switcher and legend (right).
  var POPUP_OPTIONS = {
    maxWidth: 320,
    autoPanPaddingTopLeft: [60, 60],
    autoPanPaddingBottomRight: [300, 40],
  };

  // ---- DOM helpers (no innerHTML anywhere) -------------------------------------------------

  function element(tag, className, content) {
    var node = document.createElement(tag);
    if (className) {
      node.className = className;
    }
    if (content !== undefined && content !== null) {
      node.textContent = String(content);
    }
    return node;
  }

  // A popup: a title and rows of [label, value]; rows without a value are left out.
  function popupContent(title, subtitle, rows) {
    var box = element("div", "gl-popup");
    box.appendChild(element("div", "gl-popup-title", title));
    if (subtitle) {
      box.appendChild(element("div", "gl-popup-subtitle", subtitle));
    }
    var list = element("dl", "gl-popup-rows");
    rows.forEach(function (row) {
      if (row[1] === undefined || row[1] === null || row[1] === "") {
        return;
      }
      list.appendChild(element("dt", null, row[0]));
      list.appendChild(element("dd", null, row[1]));
    });
    if (list.childNodes.length) {
      box.appendChild(list);
    }
    return box;
  }

  function labelMarker(latlng, className, label, angle, zIndexOffset) {
    var span = element("span", "gl-label-text", label);
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

  function lonLatToLatLng(lonLat) {
    return L.latLng(lonLat[1], lonLat[0]);
  }

  // Area labels show only where their area is wide enough on screen for the text, so that
  // small grids do not pile their names on top of each other when zoomed out.
  var fittedLabels = [];

  function fitLabel(entry) {
    var nw = map.latLngToLayerPoint(entry.bounds.getNorthWest());
    var se = map.latLngToLayerPoint(entry.bounds.getSouthEast());
    entry.fits = entry.textWidth < (se.x - nw.x) * 0.9 && entry.textHeight < (se.y - nw.y) * 0.7;
    var icon = entry.marker.getElement();
    if (icon) {
      icon.classList.toggle("is-fitted", entry.fits);
    }
  }

  // Once most grid names show, community names step back into faint background text.
  function fitLabels() {
    var grids = 0;
    var gridsFitted = 0;
    fittedLabels.forEach(function (entry) {
      fitLabel(entry);
      if (entry.kind === "grid") {
        grids += 1;
        gridsFitted += entry.fits ? 1 : 0;
      }
    });
    map.getContainer().classList.toggle("show-grid-labels", grids > 0 && gridsFitted * 2 >= grids);
  }

  function addFittedLabel(layer, kind, bounds, lonLat, label, fontPx) {
    // Community names lie under grid names (see app.css: they turn into faint background text).
    var below = kind === "community" ? -10000 : 0;
    var marker = labelMarker(lonLatToLatLng(lonLat), "gl-label-" + kind, label, 0, below).addTo(layer);
    // Wide CJK glyphs are about one em; a Latin name is narrower, so this errs on the safe side.
    var entry = {
      kind: kind,
      marker: marker,
      bounds: bounds,
      textWidth: String(label).length * fontPx + 8,
      textHeight: fontPx + 4,
    };
    fittedLabels.push(entry);
    marker.on("add", function () {
      fitLabel(entry);
    });
    fitLabel(entry);
  }

  function formatTime(iso) {
    if (!iso) {
      return null;
    }
    var date = new Date(iso);
    var lang = document.documentElement.lang || undefined;
    try {
      return date.toLocaleString(lang, { month: "2-digit", day: "2-digit", hour: "2-digit", minute: "2-digit" });
    } catch (error) {
      return date.toLocaleString();
    }
  }

  function layerUrl(base) {
    var url = new URL(base, window.location.origin);
    if (config.subdistrict) {
      url.searchParams.set("subdistrict", config.subdistrict.code);
    }
    return url.toString();
  }

  function fetchLayer(base) {
    return fetch(layerUrl(base), {
      credentials: "same-origin",
      headers: { Accept: "application/json" },
    }).then(function (response) {
      if (!response.ok) {
        throw new Error(base + ": HTTP " + response.status);
      }
      return response.json();
    });
  }

  function markLoaded(name, count) {
    document.body.dataset[name + "Loaded"] = String(count);
  }

  // ---- the map -------------------------------------------------------------------------------

  var map = L.map("map", {
    center: config.center,
    zoom: config.zoom,
    minZoom: 10,
    maxZoom: 19,
    zoomSnap: 0.25,
    zoomDelta: 0.5,
    zoomControl: false,
  });
  L.control.zoom({ zoomInTitle: text.zoomIn, zoomOutTitle: text.zoomOut }).addTo(map);
  L.control.scale({ imperial: false, maxWidth: 160 }).addTo(map);

  // Panes fix the drawing order whatever order the layers arrive in.
  [
    ["gl-land", 210],
    ["gl-water", 300],
    ["gl-roads", 350],
    ["gl-grids", 410],
    ["gl-communities", 420],
    ["gl-boundary", 430],
    ["gl-labels", 450],
    ["gl-places", 500],
  ].forEach(function (pane) {
    map.createPane(pane[0]).style.zIndex = String(pane[1]);
  });
  map.getPane("gl-labels").style.pointerEvents = "none";
  map.getPane("gl-land").style.pointerEvents = "none";
  var roadRenderer = L.canvas({ pane: "gl-roads" });
  var waterRenderer = L.canvas({ pane: "gl-water" });

  var layers = {
    boundary: L.featureGroup(),
    communities: L.featureGroup(),
    grids: L.featureGroup(),
    roads: L.featureGroup(),
    waters: L.featureGroup(),
    places: L.featureGroup(),
    members: L.featureGroup(),
  };
  var landLayer = L.featureGroup().addTo(map);

  // Road names depend on the zoom: classes on the map container switch them on (see app.css).
  function updateZoomClasses() {
    var zoom = map.getZoom();
    var container = map.getContainer();
    container.classList.toggle("show-arterial-names", zoom >= ARTERIAL_NAME_ZOOM);
    container.classList.toggle("show-secondary-names", zoom >= SECONDARY_NAME_ZOOM);
  }
  map.on("zoomend", updateZoomClasses);
  map.on("zoomend", fitLabels);
  updateZoomClasses();

  // ---- base layers and the layer switcher ------------------------------------------------------

  var baseLayers = null;
  if (config.tiles && config.tiles.url) {
    var offline = L.layerGroup();
    var tiles = L.tileLayer(config.tiles.url, {
      attribution: config.tiles.attribution || "",
      maxZoom: 19,
    });
    baseLayers = {};
    baseLayers[config.layers.tiles] = tiles;
    baseLayers[config.layers.offline] = offline;
    tiles.addTo(map);
    map.on("baselayerchange", function (event) {
      // The land fill of the offline basemap would hide the tiles.
      var online = event.layer === tiles;
      landLayer.eachLayer(function (layer) {
        layer.setStyle({ fillOpacity: online ? 0 : 1 });
      });
    });
  }

  var overlays = {};
  ["boundary", "communities", "grids", "roads", "waters", "places", "members"].forEach(function (name) {
    if (name === "members" && !config.api.members) {
      return;
    }
    overlays[config.layers[name]] = layers[name];
    layers[name].addTo(map);
  });
  L.control.layers(baseLayers, overlays, { collapsed: false, position: "topright" }).addTo(map);

  // ---- layer builders --------------------------------------------------------------------------

  function drawBoundary(data) {
    var land = L.geoJSON(data, {
      pane: "gl-land",
      interactive: false,
      style: {
        stroke: false,
        fillColor: COLOURS.land,
        fillOpacity: config.tiles && config.tiles.url ? 0 : 1,
      },
    });
    land.addTo(landLayer);
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
      var bounds = land.getBounds();
      // Keep the sub-district clear of the layer switcher and legend on the right.
      var right = map.getContainer().querySelector(".leaflet-right .leaflet-control-layers");
      var rightWidth = right ? right.offsetWidth + 12 : 0;
      map.fitBounds(bounds, { paddingTopLeft: [24, 24], paddingBottomRight: [rightWidth + 24, 24] });
      map.setMaxBounds(bounds.pad(0.6));
    }
    return data.features.length;
  }

  function drawWaters(data) {
    L.geoJSON(data, {
      pane: "gl-water",
      renderer: waterRenderer,
      interactive: false,
      style: { color: COLOURS.waterEdge, weight: 1, fillColor: COLOURS.water, fillOpacity: 1 },
    }).addTo(layers.waters);
    return data.features.length;
  }

  var roadLines = [];

  function roadWidth(style, zoom) {
    // Half as wide two zooms out, twice as wide two zooms in, within sensible limits.
    var width = style.width * Math.pow(2, (zoom - 15) / 2);
    return Math.max(style.width * 0.35, Math.min(width, style.width * 2.2));
  }

  function restyleRoads() {
    var zoom = map.getZoom();
    roadLines.forEach(function (entry) {
      var width = roadWidth(entry.style, zoom);
      entry.layer.setStyle({ weight: entry.casing ? width + 2 : width });
    });
  }

  function drawRoads(data) {
    var byClass = {};
    data.features.forEach(function (feature) {
      var cls = ROAD_STYLES[feature.properties.road_class] ? feature.properties.road_class : "local";
      (byClass[cls] = byClass[cls] || []).push(feature);
    });
    ROAD_CLASSES.forEach(function (cls) {
      var features = byClass[cls];
      if (!features) {
        return;
      }
      var style = ROAD_STYLES[cls];
      var collection = { type: "FeatureCollection", features: features };
      if (style.casing) {
        var casing = L.geoJSON(collection, {
          renderer: roadRenderer,
          interactive: false,
          style: function (feature) {
            return {
              color: feature.properties.is_bridge ? "#6f6a60" : style.casing,
              weight: style.width + 2,
              lineCap: "round",
              lineJoin: "round",
            };
          },
        });
        casing.addTo(layers.roads);
        roadLines.push({ layer: casing, style: style, casing: true });
      }
      // Roads take no clicks: the grids above them answer clicks with their popup.
      var fill = L.geoJSON(collection, {
        renderer: roadRenderer,
        interactive: false,
        style: {
          color: style.fill,
          weight: style.width,
          dashArray: style.dashArray || null,
          lineCap: "round",
          lineJoin: "round",
        },
      });
      fill.addTo(layers.roads);
      roadLines.push({ layer: fill, style: style, casing: false });
    });
    restyleRoads();
    map.on("zoomend", restyleRoads);
    drawRoadLabels(data.features);
    return data.features.length;
  }

  // Names of arterial and secondary roads, along the road, at most one per ROAD_LABEL_SPACING_M
  // of the same name. Angles are taken in the projected plane, where they do not change with zoom.
  var ROAD_LABEL_SPACING_M = 1200;

  function drawRoadLabels(features) {
    var placed = {};
    features.forEach(function (feature) {
      var p = feature.properties;
      if ((p.road_class !== "arterial" && p.road_class !== "secondary") || !p.name) {
        return;
      }
      var coords = feature.geometry.coordinates;
      if (coords.length < 2) {
        return;
      }
      // The middle vertex pair of the segment.
      var i = Math.max(0, Math.floor(coords.length / 2) - 1);
      var a = L.latLng(coords[i][1], coords[i][0]);
      var b = L.latLng(coords[i + 1][1], coords[i + 1][0]);
      if (map.distance(a, b) < 120) {
        return;
      }
      var middle = L.latLng((a.lat + b.lat) / 2, (a.lng + b.lng) / 2);
      var others = placed[p.name] || (placed[p.name] = []);
      for (var k = 0; k < others.length; k += 1) {
        if (map.distance(others[k], middle) < ROAD_LABEL_SPACING_M) {
          return;
        }
      }
      others.push(middle);
      var pa = L.CRS.EPSG3857.project(a);
      var pb = L.CRS.EPSG3857.project(b);
      var angle = (Math.atan2(-(pb.y - pa.y), pb.x - pa.x) * 180) / Math.PI;
      if (angle > 90) {
        angle -= 180;
      } else if (angle < -90) {
        angle += 180;
      }
      labelMarker(middle, "gl-label-road is-" + p.road_class, p.name, angle).addTo(layers.roads);
    });
  }

  function drawCommunities(data) {
    L.geoJSON(data, {
      pane: "gl-communities",
      interactive: false,
      style: { color: COLOURS.community, weight: 2.5, opacity: 0.9, fill: false },
      onEachFeature: function (feature, layer) {
        var p = feature.properties;
        if (p.label_point) {
          addFittedLabel(layers.communities, "community", layer.getBounds(), p.label_point, p.name, 15);
        }
      },
    }).addTo(layers.communities);
    return data.features.length;
  }

  function drawGrids(data) {
    var normal = { color: COLOURS.grid, weight: 1.2, opacity: 0.85, dashArray: "5 4", fillColor: COLOURS.grid, fillOpacity: 0 };
    L.geoJSON(data, {
      pane: "gl-grids",
      style: normal,
      onEachFeature: function (feature, layer) {
        var p = feature.properties;
        layer.bindPopup(function () {
          return popupContent(p.name, null, [
            [text.code, p.code],
            [text.community, p.community],
            [text.version, p.version],
          ]);
        }, POPUP_OPTIONS);
        layer.on("mouseover", function () {
          layer.setStyle({ fillOpacity: 0.1, weight: 2, dashArray: null });
        });
        layer.on("mouseout", function () {
          layer.setStyle(normal);
        });
        if (p.label_point) {
          addFittedLabel(layers.grids, "grid", layer.getBounds(), p.label_point, p.name, 12);
        }
      },
    }).addTo(layers.grids);
    fitLabels();
    return data.features.length;
  }

  // Places are small squares, members round dots: the two never look alike.
  function placeIcon(p) {
    var square = element("span", "gl-place-square");
    square.style.setProperty("--place-colour", PLACE_COLOURS[p.kind] || PLACE_COLOURS.other);
    return L.divIcon({ className: "gl-place", html: square, iconSize: [10, 10], iconAnchor: [5, 5] });
  }

  function drawPlaces(data) {
    L.geoJSON(data, {
      pointToLayer: function (feature, latlng) {
        return L.marker(latlng, { icon: placeIcon(feature.properties), pane: "gl-places", keyboard: false });
      },
      onEachFeature: function (feature, layer) {
        var p = feature.properties;
        layer.bindPopup(function () {
          return popupContent(p.name, p.kind_display, [
            [text.address, p.address],
            [text.contact, p.contact],
          ]);
        }, POPUP_OPTIONS);
      },
    }).addTo(layers.places);
    return data.features.length;
  }

  function memberIcon(p) {
    var dot = element("span", "gl-member-dot");
    dot.style.setProperty("--force-colour", FORCE_COLOURS[p.force] || "#455a64");
    return L.divIcon({
      className: "gl-member " + (p.on_duty ? "is-on-duty" : "is-off-duty"),
      html: dot,
      iconSize: [14, 14],
      iconAnchor: [7, 7],
      popupAnchor: [0, -6],
    });
  }

  function drawMembers(data) {
    L.geoJSON(data, {
      pointToLayer: function (feature, latlng) {
        var p = feature.properties;
        return L.marker(latlng, {
          icon: memberIcon(p),
          keyboard: false,
          riseOnHover: true,
          zIndexOffset: p.on_duty ? 1000 : 0,
        });
      },
      onEachFeature: function (feature, layer) {
        var p = feature.properties;
        layer.bindPopup(function () {
          var where = p.position_recorded_at
            ? [text.positionAt, formatTime(p.position_recorded_at)]
            : [text.position, text.homePosition];
          return popupContent(p.name, p.force_display + " · " + (p.on_duty ? text.onDuty : text.offDuty), [
            [text.unit, p.unit],
            [text.grids, (p.grids || []).join(", ")],
            where,
          ]);
        }, POPUP_OPTIONS);
      },
    }).addTo(layers.members);
    return data.features.length;
  }

  // ---- the legend ---------------------------------------------------------------------------------

  function legendSection(title) {
    var section = element("section", "gl-legend-section");
    if (title) {
      section.appendChild(element("h3", null, title));
    }
    var list = element("ul");
    section.appendChild(list);
    return { section: section, list: list };
  }

  function legendItem(list, swatchClass, colour, label) {
    var item = element("li");
    var swatch = element("span", "gl-swatch " + swatchClass);
    if (colour) {
      swatch.style.setProperty("--swatch-colour", colour);
    }
    item.appendChild(swatch);
    item.appendChild(element("span", null, label));
    list.appendChild(item);
  }

  var Legend = L.Control.extend({
    options: { position: "bottomright" },
    onAdd: function () {
      var box = element("details", "gl-legend leaflet-bar");
      box.open = true;
      box.appendChild(element("summary", null, text.legend));
      var body = element("div", "gl-legend-body");
      box.appendChild(body);

      var areas = legendSection(null);
      legendItem(areas.list, "is-line is-boundary", COLOURS.boundary, config.layers.boundary);
      legendItem(areas.list, "is-line is-community", COLOURS.community, config.layers.communities);
      legendItem(areas.list, "is-line is-grid", COLOURS.grid, config.layers.grids);
      legendItem(areas.list, "is-area", COLOURS.water, config.layers.waters);
      body.appendChild(areas.section);

      var roads = legendSection(config.layers.roads);
      ROAD_CLASSES.slice().reverse().forEach(function (cls) {
        var style = ROAD_STYLES[cls];
        var swatch = "is-road is-road-" + cls;
        legendItem(roads.list, swatch, style.fill, config.roadClasses[cls] || cls);
      });
      body.appendChild(roads.section);

      var places = legendSection(config.layers.places);
      Object.keys(PLACE_COLOURS).forEach(function (kind) {
        legendItem(places.list, "is-place", PLACE_COLOURS[kind], config.placeKinds[kind] || kind);
      });
      body.appendChild(places.section);

      if (config.api.members) {
        var members = legendSection(config.layers.members);
        legendItem(members.list, "is-member is-on-duty", "#455a64", text.onDuty);
        legendItem(members.list, "is-member is-off-duty", "#455a64", text.offDuty);
        var forceBox = element("details", "gl-legend-forces");
        forceBox.appendChild(element("summary", null, text.force));
        var forces = element("ul");
        Object.keys(FORCE_COLOURS).forEach(function (force) {
          legendItem(forces, "is-member is-on-duty", FORCE_COLOURS[force], config.forces[force] || force);
        });
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

  // ---- notices and loading ---------------------------------------------------------------------

  var Notice = L.Control.extend({
    options: { position: "topleft" },
    onAdd: function () {
      this._box = element("div", "gl-notice");
      this._box.hidden = true;
      return this._box;
    },
    show: function (message) {
      this._box.textContent = message;
      this._box.hidden = false;
    },
  });
  var notice = new Notice().addTo(map);

  if (!config.subdistrict) {
    notice.show(text.noData);
    document.body.dataset.mapReady = "1";
    return;
  }

  var builders = {
    boundary: [config.api.subdistricts, drawBoundary],
    waters: [config.api.waters, drawWaters],
    roads: [config.api.roads, drawRoads],
    communities: [config.api.communities, drawCommunities],
    grids: [config.api.grids, drawGrids],
    places: [config.api.places, drawPlaces],
    members: [config.api.members, drawMembers],
  };
  var pending = Object.keys(builders)
    .filter(function (name) {
      return Boolean(builders[name][0]);
    })
    .map(function (name) {
      return fetchLayer(builders[name][0])
        .then(function (data) {
          markLoaded(name, builders[name][1](data));
        })
        .catch(function (error) {
          notice.show(text.loadError);
          document.body.dataset[name + "Error"] = "1";
          if (window.console) {
            window.console.error(error);
          }
        });
    });
  Promise.all(pending).then(function () {
    document.body.dataset.mapReady = "1";
  });
})();
