/*
 * GridLink sub-district map: the offline basemap of basemap.js (our own GeoJSON layers; no internet
 * tiles unless TILE_URL is configured) with clickable grids, places and the grid members on top.
 *
 * Reads its configuration from the json_script element #map-config (API URLs, layer names in the
 * user's language, tile settings). Every text that comes from data is put in the page with
 * textContent only: names and addresses are typed by people, so they are never parsed as HTML.
 *
 * Test hooks (set by basemap.js): document.body.dataset.<layer>Loaded = number of features once a
 * layer is drawn (e.g. data-grids-loaded="52"), data-map-ready="1" once every layer has settled.
 */
(function () {
  "use strict";

  var configElement = document.getElementById("map-config");
  if (!configElement || typeof L === "undefined" || !window.GridLink) {
    return;
  }
  var G = window.GridLink;
  var element = G.dom.el;
  var COLOURS = G.basemap.colours;
  var config = JSON.parse(configElement.textContent);
  var text = config.text;

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

  // Popups pan clear of the zoom buttons (left) and the layer switcher and legend (right).
  var POPUP_OPTIONS = {
    maxWidth: 320,
    autoPanPaddingTopLeft: [60, 60],
    autoPanPaddingBottomRight: [300, 40],
  };

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

  // ---- the map -------------------------------------------------------------------------------

  var layers = {
    places: L.featureGroup(),
    members: L.featureGroup(),
  };

  // Grids answer a click with their popup and light up under the mouse.
  function onGrid(feature, layer, normal) {
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

  // ---- the basemap and the layer switcher ----------------------------------------------------

  var base = G.basemap.create("map", config, {
    scaleMaxWidth: 160,
    panes: [["gl-places", 500]],
    layerControl: { collapsed: false, baseLayers: true },
    overlays: [
      { name: "places", layer: layers.places, url: config.api.places, draw: drawPlaces },
      { name: "members", layer: layers.members, url: config.api.members, draw: drawMembers },
    ],
    onGrid: onGrid,
    communityLabelsBelow: true,
    // Keep the sub-district clear of the layer switcher and legend on the right.
    fitOptions: function (leafletMap) {
      var right = leafletMap.getContainer().querySelector(".leaflet-right .leaflet-control-layers");
      var rightWidth = right ? right.offsetWidth + 12 : 0;
      return { paddingTopLeft: [24, 24], paddingBottomRight: [rightWidth + 24, 24] };
    },
    onLayerError: function () {
      notice.show(text.loadError);
    },
  });
  var map = base.map;

  // The hot-spot layer (a toggle under the layer switcher): its own module, offered to the roles
  // that may read it (config.heat is null for the others).
  if (config.heat) {
    import(config.heat.module).then(function (heat) {
      heat.heatControl(map, config.heat, { position: "topright" });
    }).catch(function () {
      notice.show(text.loadError); // the map works on without the layer
    });
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
      G.basemap.roadClasses.slice().reverse().forEach(function (cls) {
        var style = G.basemap.roadStyles[cls];
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
  }
})();
