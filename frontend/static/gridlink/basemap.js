/*
 * Shared by the map page (map.js), the console and the incident page: the offline basemap (our
 * own GeoJSON layers: boundary, land, waters, roads with their names, communities, grids with
 * their names; internet tiles only when TILE_URL is configured), and small helpers for the DOM,
 * the API and formatting.
 *
 * No innerHTML anywhere: every text that comes from data is set with textContent, since
 * descriptions, names and addresses are typed by the public.
 *
 * window.GridLink = { dom, http, fmt, basemap }.
 */
(function () {
  "use strict";

  var GridLink = (window.GridLink = window.GridLink || {});

  // ---- DOM ------------------------------------------------------------------------------------

  function el(tag, className, content) {
    var node = document.createElement(tag);
    if (className) {
      node.className = className;
    }
    if (content !== undefined && content !== null) {
      node.textContent = String(content);
    }
    return node;
  }

  function clear(node) {
    while (node.firstChild) {
      node.removeChild(node.firstChild);
    }
    return node;
  }

  // "%(name)s" placeholders of Django's translated strings, filled with plain text.
  function format(template, values) {
    return String(template).replace(/%\((\w+)\)s/g, function (match, key) {
      return values && values[key] !== undefined && values[key] !== null ? String(values[key]) : "";
    });
  }

  GridLink.dom = { el: el, clear: clear, format: format };

  // ---- API --------------------------------------------------------------------------------------

  function cookie(name) {
    var parts = document.cookie ? document.cookie.split(";") : [];
    for (var i = 0; i < parts.length; i += 1) {
      var part = parts[i].trim();
      if (part.substring(0, name.length + 1) === name + "=") {
        return decodeURIComponent(part.substring(name.length + 1));
      }
    }
    return null;
  }

  function csrfToken() {
    var input = document.querySelector("input[name=csrfmiddlewaretoken]");
    return cookie("csrftoken") || (input ? input.value : "");
  }

  function withParams(url, params) {
    var full = new URL(url, window.location.origin);
    Object.keys(params || {}).forEach(function (key) {
      if (params[key] !== undefined && params[key] !== null && params[key] !== "") {
        full.searchParams.set(key, params[key]);
      }
    });
    return full.toString();
  }

  // Resolves to {ok, status, data} whatever the status; rejects only when the network fails.
  function request(method, url, body) {
    var headers = { Accept: "application/json" };
    if (method !== "GET") {
      headers["Content-Type"] = "application/json";
      headers["X-CSRFToken"] = csrfToken();
    }
    return fetch(url, {
      method: method,
      credentials: "same-origin",
      headers: headers,
      body: body === undefined ? undefined : JSON.stringify(body),
    }).then(function (response) {
      return response.text().then(function (raw) {
        var data = null;
        try {
          data = raw ? JSON.parse(raw) : null;
        } catch (error) {
          data = null;
        }
        return { ok: response.ok, status: response.status, data: data };
      });
    });
  }

  // The server's message of a refused request: {"detail": ...} or DRF field errors {field: [msg]}.
  function errorMessages(result, fallback) {
    var data = result && result.data;
    var messages = [];
    var fields = {};
    if (data && typeof data === "object" && !Array.isArray(data)) {
      if (data.detail) {
        messages.push(String(data.detail));
        if (data.code) {
          fields[data.code] = String(data.detail);
        }
      }
      Object.keys(data).forEach(function (key) {
        if (key === "detail" || key === "code") {
          return;
        }
        var value = data[key];
        var text = Array.isArray(value) ? value.map(flatten).join(" ") : flatten(value);
        if (text) {
          fields[key] = text;
          messages.push(text);
        }
      });
    } else if (Array.isArray(data)) {
      messages = data.map(flatten);
    }
    if (!messages.length) {
      messages.push(fallback);
    }
    return { message: messages.join(" "), fields: fields };
  }

  function flatten(value) {
    if (value === null || value === undefined) {
      return "";
    }
    if (typeof value === "object") {
      return Object.keys(value)
        .map(function (k) {
          return flatten(value[k]);
        })
        .join(" ");
    }
    return String(value);
  }

  // A list answer in any of the shapes DRF gives: a FeatureCollection, a page, a plain list.
  // Features are flattened to their properties with `id` and `lonLat` added.
  function rows(data) {
    if (!data) {
      return [];
    }
    if (data.type === "FeatureCollection") {
      return data.features.map(featureRow);
    }
    if (Array.isArray(data.results)) {
      return rows(data.results);
    }
    if (data.results && data.results.type === "FeatureCollection") {
      return rows(data.results);
    }
    if (Array.isArray(data)) {
      return data.map(function (item) {
        return item && item.type === "Feature" ? featureRow(item) : item;
      });
    }
    return [];
  }

  function featureRow(feature) {
    var row = Object.assign({}, feature.properties || {});
    if (row.id === undefined && feature.id !== undefined) {
      row.id = feature.id;
    }
    var geometry = feature.geometry;
    row.lonLat = geometry && geometry.type === "Point" ? geometry.coordinates : null;
    return row;
  }

  // [lon, lat] of a GeoJSON Point, a Feature, or an object with lon/lat; null otherwise.
  function lonLatOf(value) {
    if (!value) {
      return null;
    }
    if (Array.isArray(value) && value.length >= 2) {
      return [Number(value[0]), Number(value[1])];
    }
    if (value.type === "Point" && value.coordinates) {
      return value.coordinates;
    }
    if (value.type === "Feature") {
      return lonLatOf(value.geometry);
    }
    if (value.lon !== undefined && value.lat !== undefined && value.lon !== null) {
      return [Number(value.lon), Number(value.lat)];
    }
    if (value.location) {
      return lonLatOf(value.location);
    }
    return null;
  }

  GridLink.http = {
    get: function (url, params) {
      return request("GET", withParams(url, params));
    },
    post: function (url, body) {
      return request("POST", url, body || {});
    },
    withParams: withParams,
    errorMessages: errorMessages,
    rows: rows,
    lonLatOf: lonLatOf,
    url: function (template, id) {
      return String(template).replace("{id}", encodeURIComponent(id));
    },
  };

  // ---- formatting ---------------------------------------------------------------------------------

  var lang = document.documentElement.lang || undefined;

  function time(iso, withDate) {
    if (!iso) {
      return "";
    }
    var date = new Date(iso);
    var options = { hour: "2-digit", minute: "2-digit", hour12: false, timeZone: "Asia/Shanghai" };
    if (withDate) {
      options.month = "2-digit";
      options.day = "2-digit";
    }
    try {
      return date.toLocaleString(lang, options);
    } catch (error) {
      return date.toLocaleString();
    }
  }

  function age(iso) {
    if (!iso) {
      return "";
    }
    var seconds = (Date.now() - new Date(iso).getTime()) / 1000;
    var units = [
      ["day", 86400],
      ["hour", 3600],
      ["minute", 60],
    ];
    try {
      var rtf = new Intl.RelativeTimeFormat(lang, { numeric: "auto", style: "narrow" });
      for (var i = 0; i < units.length; i += 1) {
        if (Math.abs(seconds) >= units[i][1]) {
          return rtf.format(-Math.floor(seconds / units[i][1]), units[i][0]);
        }
      }
      return rtf.format(0, "minute");
    } catch (error) {
      return Math.round(seconds / 60) + " min";
    }
  }

  GridLink.fmt = { time: time, age: age };

  // ---- the basemap ------------------------------------------------------------------------------

  var COLOURS = {
    land: "#f7f6f2",
    water: "#a8cde6",
    waterEdge: "#7fb0d4",
    boundary: "#b3261e",
    community: "#6b3fa0",
    grid: "#3d6fb0",
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
  // Zoom levels from which road names show.
  var ARTERIAL_NAME_ZOOM = 14;
  var SECONDARY_NAME_ZOOM = 15.5;
  // Names of arterial and secondary roads: at most one per ROAD_LABEL_SPACING_M of the same name.
  var ROAD_LABEL_SPACING_M = 1200;

  // The layers of the basemap, in the order of the layer switcher.
  var BASE_OVERLAYS = ["boundary", "communities", "grids", "roads", "waters"];

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
  function create(containerId, mapConfig, options) {
    options = options || {};
    var text = mapConfig.text || {};
    var overlayLayers = (options.overlays || []).filter(function (overlay) {
      return Boolean(overlay.url);
    });
    var map = L.map(containerId, {
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
    [
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
      )
      .forEach(function (pane) {
        map.createPane(pane[0]).style.zIndex = String(pane[1]);
      });
    map.getPane("gl-labels").style.pointerEvents = "none";
    map.getPane("gl-land").style.pointerEvents = "none";
    var roadRenderer = L.canvas({ pane: "gl-roads", tolerance: 2 });
    var waterRenderer = L.canvas({ pane: "gl-water" });

    var layers = {
      boundary: L.featureGroup().addTo(map),
      waters: L.featureGroup().addTo(map),
      roads: L.featureGroup().addTo(map),
      communities: L.featureGroup().addTo(map),
      grids: L.featureGroup().addTo(map),
    };
    overlayLayers.forEach(function (overlay) {
      layers[overlay.name] = overlay.layer.addTo(map);
    });
    var landLayer = L.featureGroup().addTo(map);
    var subdistrictBounds = null;
    var fitted = [];

    var tiles = null;
    if (mapConfig.tiles && mapConfig.tiles.url) {
      tiles = L.tileLayer(mapConfig.tiles.url, { attribution: mapConfig.tiles.attribution || "", maxZoom: 19 }).addTo(map);
    }
    if (options.layerControl !== false) {
      var control = options.layerControl || {};
      var baseLayers = null;
      if (tiles && control.baseLayers) {
        baseLayers = {};
        baseLayers[mapConfig.layers.tiles] = tiles;
        baseLayers[mapConfig.layers.offline] = L.layerGroup();
        map.on("baselayerchange", function (event) {
          // The land fill of the offline basemap would hide the tiles.
          var online = event.layer === tiles;
          landLayer.eachLayer(function (layer) {
            layer.setStyle({ fillOpacity: online ? 0 : 1 });
          });
        });
      }
      var overlays = {};
      BASE_OVERLAYS.concat(
        overlayLayers.map(function (overlay) {
          return overlay.name;
        })
      ).forEach(function (name) {
        overlays[mapConfig.layers[name]] = layers[name];
      });
      L.control
        .layers(baseLayers, overlays, { collapsed: control.collapsed !== false, position: "topright" })
        .addTo(map);
    }

    // Road names depend on the zoom: classes on the map container switch them on (see app.css).
    function zoomClasses() {
      var zoom = map.getZoom();
      var container = map.getContainer();
      container.classList.toggle("show-arterial-names", zoom >= ARTERIAL_NAME_ZOOM);
      container.classList.toggle("show-secondary-names", zoom >= SECONDARY_NAME_ZOOM);
    }
    map.on("zoomend", zoomClasses);
    zoomClasses();

    function labelMarker(latlng, className, label, angle, zIndexOffset) {
      var span = el("span", "gl-label-text", label);
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
      var below = kind === "community" && options.communityLabelsBelow ? -10000 : 0;
      var marker = labelMarker(L.latLng(lonLat[1], lonLat[0]), "gl-label-" + kind, label, 0, below).addTo(layer);
      // Wide CJK glyphs are about one em; a Latin name is narrower, so this errs on the safe side.
      var entry = { kind: kind, marker: marker, bounds: bounds, textWidth: String(label).length * fontPx + 8, textHeight: fontPx + 4 };
      fitted.push(entry);
      marker.on("add", function () {
        fitLabel(entry);
      });
      fitLabel(entry);
    }

    function layerUrl(base) {
      var url = new URL(base, window.location.origin);
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

    function drawBoundary(data) {
      var land = L.geoJSON(data, {
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
      L.geoJSON(data, {
        pane: "gl-water",
        renderer: waterRenderer,
        interactive: false,
        style: { color: COLOURS.waterEdge, weight: 1, fillColor: COLOURS.water, fillOpacity: 1 },
      }).addTo(layers.waters);
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
        // Roads take no clicks: a click goes to what lies above them (a grid's popup on the map
        // page) or to the map (the incident's pin on the console).
        var fill = L.geoJSON(collection, {
          renderer: roadRenderer,
          interactive: false,
          style: { color: style.fill, weight: style.width, dashArray: style.dashArray || null, lineCap: "round", lineJoin: "round" },
        });
        fill.addTo(layers.roads);
        roadLines.push({ layer: fill, style: style, casing: false });
      });
      restyleRoads();
      map.on("zoomend", restyleRoads);
      drawRoadLabels(data.features);
    }

    // Names along the road; angles are taken in the projected plane, where they do not change
    // with the zoom.
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
    }

    function drawGrids(data) {
      var onGrid = options.onGrid;
      var style = { color: COLOURS.grid, weight: 1.2, opacity: 0.85, dashArray: "5 4" };
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
          var p = feature.properties;
          if (onGrid) {
            onGrid(feature, layer, style);
          }
          if (p.label_point) {
            addFittedLabel(layers.grids, "grid", layer.getBounds(), p.label_point, p.name, 12);
          }
        },
      }).addTo(layers.grids);
      fitLabels();
    }

    var builders = [
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
    var ready = mapConfig.subdistrict
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
                if (window.console) {
                  window.console.error(error);
                }
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
  function pinIcon(colour, className) {
    var pin = el("span", "gl-pin-shape");
    pin.style.setProperty("--pin-colour", colour);
    pin.appendChild(el("span", "gl-pin-dot"));
    return L.divIcon({ className: "gl-pin " + (className || ""), html: pin, iconSize: [28, 38], iconAnchor: [14, 37], popupAnchor: [0, -34] });
  }

  GridLink.basemap = {
    create: create,
    pinIcon: pinIcon,
    colours: COLOURS,
    roadClasses: ROAD_CLASSES,
    roadStyles: ROAD_STYLES,
  };
})();
