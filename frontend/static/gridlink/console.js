/*
 * The console of call-takers, dispatchers and the command room: hotline intake with address
 * search and a pin on the map, joint-consultation assignment forms, the live queue, the
 * "needs location" queue and the call-backs to make — all through the REST API (/api/v1/).
 *
 * Configuration comes from the json_script element #console-config. Every text from data
 * (descriptions, names, addresses: typed by the public) goes into the page with textContent.
 *
 * Test hooks on <body>: data-queue-loaded / data-locate-loaded / data-callbacks-loaded = number
 * of rows once a queue is drawn; data-where = "grid" | "outside" | "none" once the pin's grid is
 * known; data-map-ready = "1" once the basemap has settled.
 */
(function () {
  "use strict";

  var configElement = document.getElementById("console-config");
  if (!configElement || typeof L === "undefined" || !window.GridLink) {
    return;
  }
  var config = JSON.parse(configElement.textContent);
  var text = config.text;
  var api = config.api;
  var G = window.GridLink;
  var el = G.dom.el;
  var clear = G.dom.clear;
  var http = G.http;
  var fmt = G.fmt;

  var categoriesByCode = {};
  config.categories.forEach(function (c) {
    categoriesByCode[c.code] = c;
  });

  var PIN_COLOURS = { call: "#1565c0", assign: "#6a1b9a", locate: "#ef6c00" };
  var STATUS_COLOURS = {
    needs_location: "#ef6c00",
    new: "#1565c0",
    dispatched: "#00838f",
    arrived: "#2e7d32",
    reported: "#558b2f",
    transferred: "#6d4c41",
    assigned: "#6a1b9a",
    in_progress: "#5e35b1",
    completed: "#455a64",
    reported_to_command: "#455a64",
    resolved: "#607d8b",
    fed_back: "#90a4ae",
  };

  // ---- small helpers --------------------------------------------------------------------------

  function debounce(fn, ms) {
    var timer = null;
    return function () {
      var args = arguments;
      var self = this;
      clearTimeout(timer);
      timer = setTimeout(function () {
        fn.apply(self, args);
      }, ms);
    };
  }

  function nameOf(value) {
    if (value === null || value === undefined) {
      return "";
    }
    if (typeof value === "object") {
      return value.name || value.label || value.code || "";
    }
    return String(value);
  }

  function codeOf(value) {
    if (value === null || value === undefined) {
      return "";
    }
    if (typeof value === "object") {
      return value.code || value.id || "";
    }
    return String(value);
  }

  // The case fields the queue shows, whatever the exact shape of the API's rows.
  function caseView(row) {
    var categoryCode = codeOf(row.category);
    var category = categoriesByCode[categoryCode];
    var police = row.is_police !== undefined ? row.is_police : row.category && row.category.is_police;
    if (police === undefined && category) {
      police = category.police;
    }
    return {
      id: row.id,
      number: row.number || "#" + row.id,
      status: codeOf(row.status),
      statusLabel: row.status_display || (row.status && row.status.label) || config.statuses[codeOf(row.status)] || codeOf(row.status),
      // The picker's name is in the user's language; the API's is the Chinese one.
      category: (category && category.name) || row.category_name || (row.category && row.category.name) || categoryCode,
      police: Boolean(police),
      major: Boolean(row.major),
      grid: row.grid_name || nameOf(row.grid),
      community: row.community_name || nameOf(row.community),
      address: row.address || row.address_text || "",
      description: row.description || "",
      reportedAt: row.reported_at || row.created_at,
      outside: Boolean(row.outside_jurisdiction || row.outside),
      lonLat: row.lonLat || http.lonLatOf(row.location),
    };
  }

  function incidentUrl(id) {
    return http.url(config.pages.incident, id);
  }

  function pointBody(latlng) {
    return { type: "Point", coordinates: [Number(latlng.lng.toFixed(7)), Number(latlng.lat.toFixed(7))] };
  }

  // A pin put on the map by a click or a drag is in the tiles' datum (TILE_DATUM: GCJ-02 tiles give
  // GCJ-02 points); one put at a gazetteer match is WGS 84. Each pin keeps its datum and every
  // request with its point names it (`datum`): the server converts to WGS 84.
  var tileDatum = (config.map.tiles && config.map.tiles.datum) || "WGS84";

  function showMessage(form, message, kind) {
    var box = form.querySelector(".form-message");
    box.textContent = message || "";
    box.hidden = !message;
    box.classList.toggle("is-error", kind === "error");
    box.classList.toggle("is-ok", kind === "ok");
  }

  function clearFieldErrors(form) {
    form.querySelectorAll(".has-error").forEach(function (node) {
      node.classList.remove("has-error");
    });
    form.querySelectorAll(".field-error").forEach(function (node) {
      node.remove();
    });
  }

  // Shows the server's refusal in the form: the message on top, each field's own next to it.
  // A DRF field error is summed up on top with the field's label ("category: required").
  function showErrors(form, result) {
    var errors = http.errorMessages(result, text.failed);
    var data = result.data || {};
    var summary = data.detail ? [String(data.detail)] : [];
    Object.keys(errors.fields).forEach(function (key) {
      var field = form.querySelector('[data-field="' + key + '"]');
      if (!field) {
        if (key !== data.code) {
          summary.push(key + ": " + errors.fields[key]);
        }
        return;
      }
      field.classList.add("has-error");
      if (key !== data.code) {
        summary.push(fieldLabel(field) + ": " + errors.fields[key]);
      }
      var note = el("p", "field-error", errors.fields[key]);
      field.insertAdjacentElement("afterend", note);
    });
    showMessage(form, summary.length ? summary.join(" ") : errors.message, "error");
  }

  function fieldLabel(field) {
    var box = field.closest(".cfield");
    var label = box && box.querySelector("legend, label, span");
    return label ? label.textContent.replace("*", "").trim() : field.dataset.field;
  }

  function setBusy(form, busy) {
    form.querySelectorAll("button[type=submit]").forEach(function (button) {
      button.disabled = busy;
    });
    form.classList.toggle("is-busy", busy);
  }

  // ---- the map ------------------------------------------------------------------------------------

  var base = G.basemap.create("console-map", config.map, {});
  var map = base.map;
  var incidentLayer = L.featureGroup().addTo(map);
  var markersById = {};
  var pins = { call: null, assign: null, locate: null };
  var banner = document.querySelector(".map-banner");

  function showBanner(message, onCancel) {
    clear(banner);
    if (!message) {
      banner.hidden = true;
      return;
    }
    banner.appendChild(el("span", null, message));
    if (onCancel) {
      var cancel = el("button", "btn btn-small btn-quiet", text.cancel);
      cancel.type = "button";
      cancel.addEventListener("click", onCancel);
      banner.appendChild(cancel);
    }
    banner.hidden = false;
  }

  function incidentPopup(view) {
    var box = el("div", "gl-popup");
    var title = el("a", "gl-popup-title", view.number);
    title.href = incidentUrl(view.id);
    box.appendChild(title);
    box.appendChild(el("div", "gl-popup-subtitle", [view.category, view.statusLabel].filter(Boolean).join(" · ")));
    var rows = el("dl", "gl-popup-rows");
    [
      [text.grid, view.grid],
      [text.community, view.community],
    ].forEach(function (row) {
      if (row[1]) {
        rows.appendChild(el("dt", null, row[0]));
        rows.appendChild(el("dd", null, row[1]));
      }
    });
    if (rows.childNodes.length) {
      box.appendChild(rows);
    }
    if (view.address) {
      box.appendChild(el("p", "gl-popup-address", view.address));
    }
    box.appendChild(el("p", "gl-popup-desc", view.description));
    return box;
  }

  // Polling redraws the markers: the case whose popup is open keeps it open.
  var openPopupId = null;
  var selectedId = null;

  function drawIncidents(views) {
    var reopen = openPopupId;
    incidentLayer.clearLayers();
    markersById = {};
    views.forEach(function (view) {
      if (!view.lonLat) {
        return;
      }
      var marker = L.circleMarker([view.lonLat[1], view.lonLat[0]], {
        pane: "gl-incidents",
        radius: view.major ? 9 : 7,
        color: view.major ? "#b71c1c" : "#ffffff",
        weight: view.major ? 3 : 2,
        fillColor: STATUS_COLOURS[view.status] || "#1565c0",
        fillOpacity: 0.95,
        className: view.id === highlightId ? "gl-incident is-highlight" : "gl-incident",
      });
      marker.bindPopup(function () {
        return incidentPopup(view);
      });
      marker.bindTooltip(view.number + " " + view.category, { direction: "top", offset: [0, -6] });
      marker.on("popupopen", function () {
        openPopupId = view.id;
      });
      marker.on("popupclose", function () {
        if (openPopupId === view.id) {
          openPopupId = null;
        }
      });
      marker.addTo(incidentLayer);
      markersById[view.id] = marker;
    });
    if (reopen !== null && markersById[reopen]) {
      markersById[reopen].openPopup();
    }
  }

  function focusCase(view) {
    if (!view.lonLat) {
      return;
    }
    var latlng = L.latLng(view.lonLat[1], view.lonLat[0]);
    map.flyTo(latlng, Math.max(map.getZoom(), 16), { duration: 0.6 });
    var marker = markersById[view.id];
    if (marker) {
      map.once("moveend", function () {
        marker.openPopup();
      });
    }
  }

  // One pin per purpose: the hotline call, the assignment form, the case being located.
  function setPin(kind, latlng, datum) {
    if (!pins[kind]) {
      pins[kind] = L.marker(latlng, { draggable: true, pane: "gl-pin", icon: G.basemap.pinIcon(PIN_COLOURS[kind], "is-" + kind), autoPan: true });
      pins[kind].on("dragend", function () {
        pins[kind].datum = tileDatum;
        pinMoved(kind);
      });
      pins[kind].addTo(map);
    } else {
      pins[kind].setLatLng(latlng);
      if (!map.hasLayer(pins[kind])) {
        pins[kind].addTo(map);
      }
    }
    pins[kind].datum = datum || tileDatum;
    pinMoved(kind);
  }

  function removePin(kind) {
    if (pins[kind]) {
      map.removeLayer(pins[kind]);
      pins[kind] = null;
    }
  }

  function showPinsFor(kind) {
    Object.keys(pins).forEach(function (k) {
      if (!pins[k]) {
        return;
      }
      var visible = k === kind || (k === "locate" && locating);
      if (visible && !map.hasLayer(pins[k])) {
        pins[k].addTo(map);
      } else if (!visible && map.hasLayer(pins[k])) {
        map.removeLayer(pins[k]);
      }
    });
  }

  function pinMoved(kind) {
    var latlng = pins[kind].getLatLng();
    if (kind === "call") {
      describeWhere(document.querySelector('[data-where="call"]'), latlng, pins[kind].datum);
      loadDuplicates();
    } else if (kind === "assign") {
      describeWhere(document.querySelector('[data-where="assign"]'), latlng, pins[kind].datum);
    } else if (kind === "locate") {
      renderLocateQueue();
    }
  }

  map.on("click", function (event) {
    if (locating) {
      setPin("locate", event.latlng);
    } else {
      setPin(activeLeft, event.latlng);
    }
  });

  // ---- where a pin lies: grid and community, or outside the sub-district ----------------------------

  var whereRequest = 0;

  function renderWhereHint(box) {
    clear(box);
    box.className = "where is-empty";
    box.appendChild(el("span", "where-hint", text.pinHint));
    if (box.dataset.where === "call") {
      document.body.dataset.where = "";
    }
  }

  function describeWhere(box, latlng, datum) {
    var ticket = (whereRequest += 1);
    clear(box);
    box.className = "where is-loading";
    box.appendChild(el("span", "where-coords", latlng.lng.toFixed(5) + ", " + latlng.lat.toFixed(5)));
    box.appendChild(el("span", "where-hint", text.loading));
    http
      .get(api.locate, { lon: latlng.lng.toFixed(7), lat: latlng.lat.toFixed(7), datum: datum, subdistrict: config.subdistrict })
      .then(function (result) {
        if (ticket !== whereRequest) {
          return;
        }
        clear(box);
        box.appendChild(el("span", "where-coords", latlng.lng.toFixed(5) + ", " + latlng.lat.toFixed(5)));
        if (!result.ok) {
          box.className = "where is-error";
          box.appendChild(el("span", "where-hint", http.errorMessages(result, text.failed).message));
          return;
        }
        var data = result.data || {};
        var state;
        if (data.outside || data.outside_jurisdiction) {
          box.className = "where is-outside";
          box.appendChild(el("span", "where-outside", text.outside));
          state = "outside";
        } else if (data.grid) {
          box.className = "where is-inside";
          box.appendChild(whereItem(text.grid, nameOf(data.grid) || data.grid_name, "where-grid"));
          box.appendChild(whereItem(text.community, nameOf(data.community) || data.community_name, "where-community"));
          state = "grid";
        } else {
          box.className = "where is-nogrid";
          box.appendChild(el("span", "where-hint", text.noGrid));
          state = "none";
        }
        if (box.dataset.where === "call") {
          document.body.dataset.where = state;
        }
      })
      .catch(function () {
        box.className = "where is-error";
        box.appendChild(el("span", "where-hint", text.failed));
      });
  }

  function whereItem(label, value, className) {
    var item = el("span", "where-item " + className);
    item.appendChild(el("span", "where-label", label));
    item.appendChild(el("strong", null, value || "—"));
    return item;
  }

  // ---- left panel: tabs ----------------------------------------------------------------------------

  var activeLeft = "call";

  function setupTabs(container, onChange) {
    var tabs = container.querySelectorAll(".panel-tab");
    tabs.forEach(function (tab) {
      tab.addEventListener("click", function () {
        tabs.forEach(function (other) {
          var on = other === tab;
          other.classList.toggle("is-active", on);
          other.setAttribute("aria-selected", on ? "true" : "false");
          container.querySelector('[data-panel="' + other.dataset.tab + '"]').hidden = !on;
        });
        onChange(tab.dataset.tab);
      });
    });
  }

  setupTabs(document.querySelector(".console-left"), function (tab) {
    activeLeft = tab;
    showPinsFor(tab);
  });
  setupTabs(document.querySelector(".console-right"), function () {});

  // ---- category pickers: police-type and non-police groups -------------------------------------------

  function fillCategories(select) {
    clear(select);
    var empty = el("option", null, text.choose);
    empty.value = "";
    select.appendChild(empty);
    [
      [true, text.police],
      [false, text.nonPolice],
    ].forEach(function (group) {
      var optgroup = el("optgroup");
      optgroup.label = group[1];
      config.categories.forEach(function (c) {
        if (Boolean(c.police) !== group[0]) {
          return;
        }
        var option = el("option", null, c.name);
        option.value = c.code;
        optgroup.appendChild(option);
      });
      if (optgroup.childNodes.length) {
        select.appendChild(optgroup);
      }
    });
  }

  // ---- the hotline call form -----------------------------------------------------------------------

  var callForm = document.getElementById("call-form");
  var channelBox = document.getElementById("call-channel");
  var categorySelect = document.getElementById("call-category");
  var majorBox = callForm.querySelector('[name="major"]');
  var suggestionsBox = callForm.querySelector(".suggestions");
  var duplicatesBox = callForm.querySelector(".duplicates");
  var categoryTouched = false;
  var majorTouched = false;

  config.hotlines.forEach(function (channel, index) {
    var label = el("label", "hotline");
    var input = el("input");
    input.type = "radio";
    input.name = "channel";
    input.value = channel.code;
    input.id = "hotline-" + index;
    label.appendChild(input);
    var body = el("span", "hotline-body");
    body.appendChild(el("span", "hotline-name", channel.name));
    if (channel.phone) {
      body.appendChild(el("span", "hotline-phone", channel.phone));
    }
    label.appendChild(body);
    channelBox.appendChild(label);
  });

  fillCategories(categorySelect);
  renderWhereHint(callForm.querySelector('[data-where="call"]'));

  categorySelect.addEventListener("change", function () {
    categoryTouched = true;
    markSuggestions();
    applyMajorDefault();
    loadDuplicates();
  });
  majorBox.addEventListener("change", function () {
    majorTouched = true;
  });

  function applyMajorDefault() {
    var category = categoriesByCode[categorySelect.value];
    if (!majorTouched) {
      majorBox.checked = Boolean(category && category.major);
    }
  }

  // Suggested categories for the description: the best one is pre-selected until the call-taker
  // picks one; the others are offered as chips.
  var suggested = [];
  var suggestTicket = 0;

  function suggestionRows(data) {
    var list = Array.isArray(data) ? data : (data && (data.suggestions || data.results || data.categories)) || [];
    return list
      .map(function (item) {
        var code = item.code || codeOf(item.category);
        return code && categoriesByCode[code] ? { code: code, score: item.score } : null;
      })
      .filter(Boolean);
  }

  var loadSuggestions = debounce(function () {
    var description = callForm.querySelector('[name="description"]').value.trim();
    var ticket = (suggestTicket += 1);
    if (description.length < 2) {
      suggested = [];
      renderSuggestions();
      return;
    }
    http.get(api.suggest, { text: description }).then(function (result) {
      if (ticket !== suggestTicket || !result.ok) {
        return;
      }
      suggested = suggestionRows(result.data);
      if (!categoryTouched && suggested.length) {
        categorySelect.value = suggested[0].code;
        applyMajorDefault();
        loadDuplicates();
      }
      renderSuggestions();
    });
  }, 350);

  function renderSuggestions() {
    clear(suggestionsBox);
    if (!suggested.length) {
      return;
    }
    suggestionsBox.appendChild(el("span", "suggestions-label", text.suggested));
    suggested.forEach(function (s) {
      var category = categoriesByCode[s.code];
      var chip = el("button", "chip");
      chip.type = "button";
      chip.dataset.code = s.code;
      chip.appendChild(el("span", "tag " + (category.police ? "tag-police" : "tag-nonpolice"), category.police ? text.police : text.nonPolice));
      chip.appendChild(el("span", null, category.name));
      chip.addEventListener("click", function () {
        categorySelect.value = s.code;
        categoryTouched = true;
        applyMajorDefault();
        markSuggestions();
        loadDuplicates();
      });
      suggestionsBox.appendChild(chip);
    });
    markSuggestions();
  }

  function markSuggestions() {
    suggestionsBox.querySelectorAll(".chip").forEach(function (chip) {
      chip.classList.toggle("is-chosen", chip.dataset.code === categorySelect.value);
    });
  }

  callForm.querySelector('[name="description"]').addEventListener("input", loadSuggestions);

  // ---- address search (gazetteer) ------------------------------------------------------------------

  var addressInput = document.getElementById("call-address");
  var addressList = document.getElementById("call-address-list");
  var matches = [];
  var activeMatch = -1;
  var searchTicket = 0;

  function closeMatches() {
    addressList.hidden = true;
    addressInput.setAttribute("aria-expanded", "false");
    activeMatch = -1;
  }

  function renderMatches(query) {
    clear(addressList);
    if (!matches.length) {
      var none = el("li", "combo-empty", text.noMatches);
      addressList.appendChild(none);
    }
    matches.forEach(function (match, index) {
      var item = el("li", "combo-item");
      item.id = "call-address-option-" + index;
      item.setAttribute("role", "option");
      item.appendChild(el("span", "combo-text", match.text));
      var place = nameOf(match.place);
      if (place && place !== match.text) {
        item.appendChild(el("span", "combo-note", place));
      }
      item.addEventListener("mousedown", function (event) {
        event.preventDefault(); // keep the focus in the input
        chooseMatch(index);
      });
      addressList.appendChild(item);
    });
    addressList.hidden = !query;
    addressInput.setAttribute("aria-expanded", addressList.hidden ? "false" : "true");
    highlightMatch(matches.length ? 0 : -1);
  }

  function highlightMatch(index) {
    activeMatch = index;
    addressList.querySelectorAll(".combo-item").forEach(function (item, i) {
      item.classList.toggle("is-active", i === index);
      item.setAttribute("aria-selected", i === index ? "true" : "false");
    });
    if (index >= 0) {
      addressInput.setAttribute("aria-activedescendant", "call-address-option-" + index);
    } else {
      addressInput.removeAttribute("aria-activedescendant");
    }
  }

  function chooseMatch(index) {
    var match = matches[index];
    if (!match) {
      return;
    }
    addressInput.value = match.text;
    closeMatches();
    var lonLat = http.lonLatOf(match);
    if (lonLat) {
      var latlng = L.latLng(lonLat[1], lonLat[0]);
      setPin("call", latlng, "WGS84");
      map.flyTo(latlng, Math.max(map.getZoom(), 17), { duration: 0.6 });
    }
  }

  var searchAddress = debounce(function () {
    var query = addressInput.value.trim();
    var ticket = (searchTicket += 1);
    if (!query) {
      matches = [];
      closeMatches();
      return;
    }
    http.get(api.gazetteer, { q: query, subdistrict: config.subdistrict }).then(function (result) {
      if (ticket !== searchTicket || !result.ok) {
        return;
      }
      matches = http.rows(result.data).filter(function (row) {
        return row && row.text;
      });
      if (document.activeElement === addressInput) {
        renderMatches(query);
      }
    });
  }, 250);

  addressInput.addEventListener("input", searchAddress);
  addressInput.addEventListener("keydown", function (event) {
    if (addressList.hidden) {
      return;
    }
    if (event.key === "ArrowDown") {
      event.preventDefault();
      highlightMatch(Math.min(matches.length - 1, activeMatch + 1));
    } else if (event.key === "ArrowUp") {
      event.preventDefault();
      highlightMatch(Math.max(0, activeMatch - 1));
    } else if (event.key === "Enter") {
      if (activeMatch >= 0) {
        event.preventDefault();
        chooseMatch(activeMatch);
      }
    } else if (event.key === "Escape") {
      closeMatches();
    }
  });
  addressInput.addEventListener("blur", function () {
    setTimeout(closeMatches, 150);
  });

  // ---- likely duplicates near the pin ----------------------------------------------------------------

  var duplicateTicket = 0;

  function loadDuplicates() {
    var ticket = (duplicateTicket += 1);
    if (!pins.call) {
      renderDuplicates([]);
      return;
    }
    var latlng = pins.call.getLatLng();
    http
      .get(api.duplicates, { lon: latlng.lng.toFixed(7), lat: latlng.lat.toFixed(7), datum: pins.call.datum, category: categorySelect.value, subdistrict: config.subdistrict })
      .then(function (result) {
        if (ticket === duplicateTicket && result.ok) {
          renderDuplicates(http.rows(result.data).map(caseView));
        }
      });
  }

  function renderDuplicates(views) {
    var list = duplicatesBox.querySelector("ul");
    clear(list);
    duplicatesBox.hidden = !views.length;
    views.forEach(function (view) {
      var item = el("li", "dup");
      var head = el("div", "dup-head");
      var link = el("a", "qnum", view.number);
      link.href = incidentUrl(view.id);
      link.target = "_blank";
      link.rel = "noopener";
      head.appendChild(link);
      head.appendChild(statusChip(view));
      head.appendChild(el("span", "age", fmt.age(view.reportedAt)));
      item.appendChild(head);
      item.appendChild(el("div", "dup-cat", [view.category, view.address].filter(Boolean).join(" · ")));
      item.appendChild(el("div", "qdesc", view.description));
      var button = el("button", "btn btn-small btn-secondary", text.linkTo);
      button.type = "button";
      button.dataset.testid = "link-to";
      button.addEventListener("click", function () {
        submitCall(view.id);
      });
      item.appendChild(button);
      list.appendChild(item);
    });
  }

  // ---- submitting a call -------------------------------------------------------------------------------

  function callBody(linkTo) {
    var data = new FormData(callForm);
    // Unchosen hotline or category are left out: the server names what is missing.
    var body = { description: (data.get("description") || "").trim(), major: majorBox.checked };
    ["channel", "category"].forEach(function (name) {
      if (data.get(name)) {
        body[name] = data.get(name);
      }
    });
    ["caller_phone", "caller_name", "address"].forEach(function (name) {
      var value = (data.get(name) || "").trim();
      if (value) {
        body[name] = value;
      }
    });
    if (pins.call) {
      body.location = pointBody(pins.call.getLatLng());
      body.datum = pins.call.datum;
    }
    if (linkTo) {
      body.link_to = linkTo;
    }
    return body;
  }

  function resultCase(data) {
    var incident = (data && (data.incident || data)) || {};
    if (incident.type === "Feature") {
      incident = http.rows([incident])[0];
    }
    return incident;
  }

  function submitCall(linkTo) {
    clearFieldErrors(callForm);
    showMessage(callForm, "");
    setBusy(callForm, true);
    http
      .post(api.incidents, callBody(linkTo))
      .then(function (result) {
        setBusy(callForm, false);
        if (!result.ok) {
          showErrors(callForm, result);
          return;
        }
        var incident = resultCase(result.data);
        resetCallForm();
        var template = linkTo ? text.linked : text.created;
        showMessage(callForm, G.dom.format(template, { number: incident.number || "" }), "ok");
        highlightId = incident.id;
        highlightUntil = Date.now() + 20000;
        activateTab(".console-right", "queue");
        refreshQueues();
      })
      .catch(function () {
        setBusy(callForm, false);
        showMessage(callForm, text.failed, "error");
      });
  }

  // After a case is taken: empty the fields, keep the hotline (the call-taker stays on it).
  function resetCallForm() {
    callForm.querySelectorAll("input, textarea, select").forEach(function (field) {
      if (field.type === "radio") {
        return;
      }
      if (field.type === "checkbox") {
        field.checked = false;
      } else {
        field.value = "";
      }
    });
    clearCallExtras();
  }

  function clearCallExtras() {
    clearFieldErrors(callForm);
    removePin("call");
    renderWhereHint(callForm.querySelector('[data-where="call"]'));
    categoryTouched = false;
    majorTouched = false;
    suggested = [];
    renderSuggestions();
    renderDuplicates([]);
    matches = [];
    closeMatches();
  }

  callForm.addEventListener("reset", function () {
    setTimeout(function () {
      clearCallExtras();
      showMessage(callForm, "");
    });
  });

  callForm.addEventListener("submit", function (event) {
    event.preventDefault();
    submitCall(null);
  });

  // ---- the joint-consultation assignment form -------------------------------------------------------------

  var assignForm = document.getElementById("assign-form");
  fillCategories(document.getElementById("assign-category"));
  // Responsible offices: a list of checkboxes; the first one ticked leads (marked as such).
  var officeBox = document.getElementById("assign-offices");
  var officeOrder = [];
  config.units.forEach(function (unit) {
    var label = el("label", "office");
    var input = el("input");
    input.type = "checkbox";
    input.value = unit.id;
    input.addEventListener("change", function () {
      var id = Number(input.value);
      officeOrder = officeOrder.filter(function (other) {
        return other !== id;
      });
      if (input.checked) {
        officeOrder.push(id);
      }
      markLead();
    });
    label.appendChild(input);
    label.appendChild(el("span", "office-name", unit.name));
    label.appendChild(el("span", "office-kind", unit.kind));
    officeBox.appendChild(label);
  });

  function markLead() {
    officeBox.querySelectorAll(".office").forEach(function (label) {
      var input = label.querySelector("input");
      var lead = officeOrder.length > 0 && Number(input.value) === officeOrder[0];
      label.classList.toggle("is-lead", lead);
      var badge = label.querySelector(".office-lead");
      if (lead && !badge) {
        label.appendChild(el("span", "office-lead", text.lead));
      } else if (!lead && badge) {
        badge.remove();
      }
    });
  }
  renderWhereHint(assignForm.querySelector('[data-where="assign"]'));

  assignForm.addEventListener("submit", function (event) {
    event.preventDefault();
    clearFieldErrors(assignForm);
    showMessage(assignForm, "");
    var data = new FormData(assignForm);
    var body = {
      channel: config.jointChannel,
      description: (data.get("description") || "").trim(),
      offices: officeOrder.slice(),
    };
    if (data.get("category")) {
      body.category = data.get("category");
    }
    if (data.get("deadline")) {
      body.deadline = data.get("deadline");
    }
    if ((data.get("address") || "").trim()) {
      body.address = data.get("address").trim();
    }
    if (pins.assign) {
      body.location = pointBody(pins.assign.getLatLng());
      body.datum = pins.assign.datum;
    }
    setBusy(assignForm, true);
    http
      .post(api.incidents, body)
      .then(function (result) {
        setBusy(assignForm, false);
        if (!result.ok) {
          showErrors(assignForm, result);
          return;
        }
        var incident = resultCase(result.data);
        assignForm.querySelectorAll("input, textarea, select").forEach(function (field) {
          if (field.type === "checkbox") {
            field.checked = false;
          } else {
            field.value = "";
          }
        });
        clearAssignExtras();
        showMessage(assignForm, G.dom.format(text.created, { number: incident.number || "" }), "ok");
        highlightId = incident.id;
        highlightUntil = Date.now() + 20000;
        refreshQueues();
      })
      .catch(function () {
        setBusy(assignForm, false);
        showMessage(assignForm, text.failed, "error");
      });
  });

  function clearAssignExtras() {
    clearFieldErrors(assignForm);
    officeOrder = [];
    markLead();
    removePin("assign");
    renderWhereHint(assignForm.querySelector('[data-where="assign"]'));
  }

  assignForm.addEventListener("reset", function () {
    setTimeout(function () {
      clearAssignExtras();
      showMessage(assignForm, "");
    });
  });

  // ---- queues --------------------------------------------------------------------------------------------

  var highlightId = null;
  var highlightUntil = 0;
  var queueViews = [];
  var locateViews = [];
  var locating = null; // {id, number} of the case being placed on the map

  function activateTab(panelSelector, name) {
    var tab = document.querySelector(panelSelector + ' .panel-tab[data-tab="' + name + '"]');
    if (tab && !tab.classList.contains("is-active")) {
      tab.click();
    }
  }

  function setCount(name, count) {
    var node = document.querySelector('[data-count="' + name + '"]');
    if (node) {
      node.textContent = String(count);
      node.classList.toggle("is-zero", !count);
    }
  }

  function statusChip(view) {
    var chip = el("span", "status status-" + (view.status || "unknown"), view.statusLabel);
    return chip;
  }

  function caseItem(view) {
    var item = el("li", "qitem");
    item.dataset.id = view.id;
    item.dataset.testid = "queue-item";
    if (view.major) {
      item.classList.add("is-major");
    }
    if (view.id === highlightId && Date.now() < highlightUntil) {
      item.classList.add("is-highlight");
    }
    var head = el("div", "qhead");
    var link = el("a", "qnum", view.number);
    link.href = incidentUrl(view.id);
    link.dataset.testid = "queue-number";
    head.appendChild(link);
    if (view.major) {
      head.appendChild(el("span", "badge badge-major", text.major));
    }
    head.appendChild(statusChip(view));
    var age = el("time", "age", fmt.age(view.reportedAt));
    if (view.reportedAt) {
      age.dateTime = view.reportedAt;
      age.title = fmt.time(view.reportedAt, true);
    }
    head.appendChild(age);
    item.appendChild(head);
    var meta = el("div", "qmeta");
    meta.appendChild(el("span", "tag " + (view.police ? "tag-police" : "tag-nonpolice"), view.police ? text.police : text.nonPolice));
    meta.appendChild(el("span", "qcat", view.category));
    if (view.outside) {
      meta.appendChild(el("span", "tag tag-outside", text.outside));
    } else if (view.grid || view.community) {
      meta.appendChild(el("span", "qgrid", [view.community, view.grid].filter(Boolean).join(" · ")));
    }
    item.appendChild(meta);
    item.appendChild(el("div", "qdesc", view.description));
    return item;
  }

  function renderQueue() {
    var list = document.getElementById("live-queue");
    clear(list);
    if (!queueViews.length) {
      list.appendChild(el("li", "queue-empty", text.emptyQueue));
    }
    queueViews.forEach(function (view) {
      var item = caseItem(view);
      item.addEventListener("click", function (event) {
        if (event.target.closest("a")) {
          return;
        }
        list.querySelectorAll(".is-selected").forEach(function (node) {
          node.classList.remove("is-selected");
        });
        item.classList.add("is-selected");
        selectedId = view.id;
        focusCase(view);
      });
      if (view.id === selectedId) {
        item.classList.add("is-selected");
      }
      list.appendChild(item);
    });
    setCount("queue", queueViews.length);
    drawIncidents(queueViews);
    var highlighted = list.querySelector(".is-highlight");
    if (highlighted) {
      highlighted.scrollIntoView({ block: "nearest" });
    }
  }

  function renderLocateQueue() {
    var list = document.getElementById("locate-queue");
    clear(list);
    if (!locateViews.length) {
      list.appendChild(el("li", "queue-empty", text.emptyQueue));
    }
    locateViews.forEach(function (view) {
      var item = caseItem(view);
      var isCurrent = locating && locating.id === view.id;
      item.classList.toggle("is-locating", Boolean(isCurrent));
      if (view.address) {
        item.appendChild(el("div", "qaddress", view.address));
      }
      var actions = el("div", "qactions");
      if (!isCurrent) {
        var place = el("button", "btn btn-small btn-secondary", text.placeOnMap);
        place.type = "button";
        place.addEventListener("click", function () {
          startLocating(view);
        });
        actions.appendChild(place);
      } else {
        var where = el("div", "where");
        where.dataset.where = "locate";
        item.appendChild(where);
        if (pins.locate) {
          describeWhere(where, pins.locate.getLatLng());
        } else {
          where.appendChild(el("span", "where-hint", G.dom.format(text.clickMapToPlace, { number: view.number })));
        }
        var message = el("p", "form-message is-error");
        message.hidden = true;
        var set = el("button", "btn btn-small btn-primary", text.setLocation);
        set.type = "button";
        set.disabled = !pins.locate;
        set.addEventListener("click", function () {
          submitLocation(view, set, message);
        });
        var cancel = el("button", "btn btn-small btn-quiet", text.cancel);
        cancel.type = "button";
        cancel.addEventListener("click", stopLocating);
        actions.appendChild(cancel);
        actions.appendChild(set);
        item.appendChild(message);
      }
      item.appendChild(actions);
      list.appendChild(item);
    });
    setCount("locate", locateViews.length);
  }

  function startLocating(view) {
    locating = { id: view.id, number: view.number };
    removePin("locate");
    showBanner(G.dom.format(text.clickMapToPlace, { number: view.number }), stopLocating);
    map.getContainer().classList.add("is-placing");
    renderLocateQueue();
  }

  function stopLocating() {
    locating = null;
    removePin("locate");
    showBanner(null);
    map.getContainer().classList.remove("is-placing");
    renderLocateQueue();
  }

  function submitLocation(view, button, message) {
    if (!pins.locate) {
      return;
    }
    button.disabled = true;
    http
      .post(http.url(api.locateIncident, view.id), { location: pointBody(pins.locate.getLatLng()), datum: pins.locate.datum })
      .then(function (result) {
        if (!result.ok) {
          button.disabled = false;
          message.textContent = http.errorMessages(result, text.failed).message;
          message.hidden = false;
          return;
        }
        highlightId = view.id;
        highlightUntil = Date.now() + 20000;
        stopLocating();
        refreshQueues();
      })
      .catch(function () {
        button.disabled = false;
        message.textContent = text.failed;
        message.hidden = false;
      });
  }

  // ---- call-backs -----------------------------------------------------------------------------------------

  var callbackRows = [];
  var openCallback = null;

  function callbackForm(row) {
    var form = el("form", "cform callback-form");
    form.noValidate = true;
    var states = el("div", "segmented");
    [
      ["done", text.reached],
      ["unreachable", text.unreachable],
    ].forEach(function (option, index) {
      var label = el("label");
      var input = el("input");
      input.type = "radio";
      input.name = "state";
      input.value = option[0];
      input.checked = index === 0;
      label.appendChild(input);
      label.appendChild(el("span", null, option[1]));
      states.appendChild(label);
    });
    states.dataset.field = "state";
    form.appendChild(states);
    var satisfaction = el("select");
    satisfaction.name = "satisfaction";
    satisfaction.dataset.field = "satisfaction";
    var empty = el("option", null, text.choose);
    empty.value = "";
    satisfaction.appendChild(empty);
    Object.keys(config.satisfaction).forEach(function (key) {
      var option = el("option", null, config.satisfaction[key]);
      option.value = key;
      satisfaction.appendChild(option);
    });
    form.appendChild(satisfaction);
    var note = el("textarea");
    note.name = "note";
    note.rows = 2;
    note.placeholder = text.note;
    note.dataset.field = "note";
    form.appendChild(note);
    var reopenLabel = el("label", "check");
    var reopen = el("input");
    reopen.type = "checkbox";
    reopen.name = "reopen";
    reopenLabel.appendChild(reopen);
    reopenLabel.appendChild(el("span", null, text.reopen));
    reopenLabel.hidden = true;
    form.appendChild(reopenLabel);
    form.appendChild(el("p", "form-message", null)).hidden = true;
    var actions = el("div", "form-actions");
    var cancel = el("button", "btn btn-small btn-quiet", text.cancel);
    cancel.type = "button";
    cancel.addEventListener("click", function () {
      openCallback = null;
      renderCallbacks();
    });
    var submit = el("button", "btn btn-small btn-primary", text.record);
    submit.type = "submit";
    actions.appendChild(cancel);
    actions.appendChild(submit);
    form.appendChild(actions);

    function sync() {
      var reached = form.querySelector('input[name="state"]:checked').value === "done";
      satisfaction.disabled = !reached;
      var dissatisfied = reached && satisfaction.value === "dissatisfied";
      reopenLabel.hidden = !dissatisfied;
      if (!dissatisfied) {
        reopen.checked = false;
      }
    }
    form.addEventListener("change", sync);
    sync();

    form.addEventListener("submit", function (event) {
      event.preventDefault();
      clearFieldErrors(form);
      var state = form.querySelector('input[name="state"]:checked').value;
      var body = { state: state, note: note.value.trim(), reopen: reopen.checked };
      if (state === "done") {
        body.satisfaction = satisfaction.value;
      }
      setBusy(form, true);
      http
        .post(http.url(api.callbackComplete, row.id), body)
        .then(function (result) {
          setBusy(form, false);
          if (!result.ok) {
            showErrors(form, result);
            return;
          }
          openCallback = null;
          refreshCallbacks(true);
          if (body.reopen) {
            refreshQueues();
          }
        })
        .catch(function () {
          setBusy(form, false);
          showMessage(form, text.failed, "error");
        });
    });
    return form;
  }

  function renderCallbacks() {
    var list = document.getElementById("callback-queue");
    if (!list) {
      return;
    }
    clear(list);
    if (!callbackRows.length) {
      list.appendChild(el("li", "queue-empty", text.emptyQueue));
    }
    callbackRows.forEach(function (row) {
      var item = el("li", "qitem callback");
      item.dataset.id = row.id;
      var head = el("div", "qhead");
      var name = head.appendChild(el("strong", "cb-name", row.name || "—"));
      var phone = head.appendChild(el("span", "cb-phone", row.phone || ""));
      if (row.phone) {
        // Masked in the list: the desk reveals the number it is calling (logged in the case's timeline).
        var reveal = el("button", "btn btn-small btn-quiet cb-reveal", text.revealCall);
        reveal.type = "button";
        reveal.addEventListener("click", function () {
          reveal.disabled = true;
          http.post(http.url(api.revealContacts, row.incident), { callbacks: [row.id] }).then(function (result) {
            var shown = result.ok && result.data.callbacks && result.data.callbacks[0];
            if (!shown) {
              reveal.disabled = false;
              return;
            }
            name.textContent = shown.name || "—";
            clear(phone);
            var dial = el("a", null, shown.phone);
            dial.href = "tel:" + shown.phone;
            phone.appendChild(dial);
            reveal.remove();
          });
        });
        head.appendChild(reveal);
      }
      item.appendChild(head);
      var meta = el("div", "qmeta");
      var incidentId = typeof row.incident === "object" && row.incident ? row.incident.id : row.incident || row.incident_id;
      var number = row.incident_number || row.number || (row.incident && row.incident.number) || "";
      var link = el("a", "qnum", number || "#" + incidentId);
      link.href = incidentUrl(incidentId);
      meta.appendChild(link);
      if (row.created_at) {
        meta.appendChild(el("span", "age", fmt.age(row.created_at)));
      }
      item.appendChild(meta);
      if (openCallback === row.id) {
        item.classList.add("is-open");
        item.appendChild(callbackForm(row));
      } else {
        var actions = el("div", "qactions");
        var record = el("button", "btn btn-small btn-secondary", text.record);
        record.type = "button";
        record.addEventListener("click", function () {
          openCallback = row.id;
          renderCallbacks();
        });
        actions.appendChild(record);
        item.appendChild(actions);
      }
      list.appendChild(item);
    });
    setCount("callbacks", callbackRows.length);
  }

  // ---- loading and polling ---------------------------------------------------------------------------------

  function byNewest(a, b) {
    return new Date(b.reportedAt || 0) - new Date(a.reportedAt || 0);
  }

  function loadQueue(name) {
    return http.get(api.incidents, { queue: name, subdistrict: config.subdistrict }).then(function (result) {
      if (!result.ok) {
        throw new Error(name + ": HTTP " + result.status);
      }
      return http.rows(result.data).map(caseView).sort(byNewest);
    });
  }

  var refreshing = false;

  function refreshQueues() {
    if (refreshing) {
      return Promise.resolve();
    }
    refreshing = true;
    var live = loadQueue("open").then(function (views) {
      queueViews = views;
      renderQueue();
      document.body.dataset.queueLoaded = String(views.length);
      var stamp = document.querySelector('[data-updated="queue"]');
      stamp.textContent = G.dom.format(text.updated, { time: fmt.time(new Date().toISOString()) });
    });
    var needs = loadQueue("needs_location").then(function (views) {
      locateViews = views;
      if (locating && !views.some(function (v) { return v.id === locating.id; })) {
        stopLocating();
      } else {
        renderLocateQueue();
      }
      document.body.dataset.locateLoaded = String(views.length);
    });
    return Promise.all([live, needs, refreshCallbacks(false)])
      .catch(function (error) {
        if (window.console) {
          window.console.error(error);
        }
      })
      .then(function () {
        refreshing = false;
      });
  }

  function refreshCallbacks(force) {
    if (!config.can.callbacks) {
      return Promise.resolve();
    }
    // A call-back being recorded keeps its form: polling does not redraw under the typing.
    if (openCallback !== null && !force) {
      return Promise.resolve();
    }
    return http.get(api.callbacks, { state: "open", subdistrict: config.subdistrict }).then(function (result) {
      if (!result.ok) {
        throw new Error("callbacks: HTTP " + result.status);
      }
      callbackRows = http.rows(result.data);
      renderCallbacks();
      document.body.dataset.callbacksLoaded = String(callbackRows.length);
    });
  }

  refreshQueues();
  setInterval(function () {
    if (!document.hidden) {
      refreshQueues();
    }
  }, (config.pollSeconds || 10) * 1000);
})();
