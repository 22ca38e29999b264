/*
 * The dispatch recommendation on the incident page: GridLink.recommend.panel(form, map) asks
 * GET /api/v1/incidents/{id}/recommendations/ and shows, at the top of the dispatch form, the
 * responsible grid and the ranked candidates — each with the reason it is there, travel time,
 * distance, deadline and whether it can be met, on duty or not, load — with a checkbox per
 * candidate (the proposed ones ticked) and, for a member off duty, an explicit "include off duty"
 * tick without which they cannot be chosen. Their routes are drawn on the incident's map; pointing
 * at a candidate brings out their route.
 *
 * Configuration: the element #recommend-config (its data-url with "{id}", data-incident and the
 * data-text-* labels, translated by the template). Texts from data go in with textContent only.
 * Test hooks: <body data-recommendation-loaded="N candidates" data-routes-drawn="N">; the panel is
 * [data-testid=recommendation], each candidate [data-testid=candidate][data-member][data-proposed].
 */
(function () {
  "use strict";

  var G = (window.GridLink = window.GridLink || {});
  var configElement = document.getElementById("recommend-config");
  if (!configElement || !G.dom || typeof L === "undefined") {
    return;
  }
  var cfg = configElement.dataset;
  var el = G.dom.el;
  var clear = G.dom.clear;
  var format = G.dom.format;
  var http = G.http;
  var PROPOSED = { color: "#1565c0", weight: 5, opacity: 0.85 };
  var OTHER = { color: "#78909c", weight: 3, opacity: 0.7, dashArray: "6 5" };
  var active = null; // {layer, map}: the routes of the open panel

  function clearRoutes() {
    if (active) {
      active.map.removeLayer(active.layer);
      active = null;
    }
    delete document.body.dataset.routesDrawn;
  }

  function minutes(seconds) {
    return Math.max(1, Math.round(seconds / 60));
  }

  function distance(metres) {
    return metres >= 1000 ? format(cfg.textKm, { km: (metres / 1000).toFixed(1) }) : format(cfg.textM, { m: Math.round(metres) });
  }

  function badge(label, className) {
    return el("span", "rec-badge " + className, label);
  }

  function drawRoutes(map, data) {
    clearRoutes();
    var layer = L.featureGroup();
    var byMember = {};
    var drawn = 0;
    data.candidates.forEach(function (c) {
      if (!c.route || c.route.length < 2) {
        return;
      }
      var latlngs = c.route.map(function (p) {
        return [p[1], p[0]];
      });
      var style = c.proposed ? PROPOSED : OTHER;
      var line = L.polyline(latlngs, Object.assign({ interactive: false }, style));
      line.addTo(layer);
      var start = L.circleMarker(latlngs[0], {
        radius: 5, color: style.color, weight: 2, fillColor: "#ffffff", fillOpacity: 1, interactive: false,
      });
      start.addTo(layer);
      byMember[c.member.id] = { line: line, style: style };
      drawn += 1;
    });
    layer.addTo(map);
    active = { layer: layer, map: map };
    document.body.dataset.routesDrawn = String(drawn);
    var proposedBounds = L.latLngBounds([]);
    layer.eachLayer(function (part) {
      if (part instanceof L.Polyline && part.options.color === PROPOSED.color) {
        proposedBounds.extend(part.getBounds());
      }
    });
    if (proposedBounds.isValid()) {
      proposedBounds.extend([data.point[1], data.point[0]]);
      map.fitBounds(proposedBounds, { padding: [24, 24], maxZoom: 17, animate: false });
    }
    return byMember;
  }

  function highlight(routes, memberId, on) {
    var route = routes[memberId];
    if (!route) {
      return;
    }
    route.line.setStyle(on ? { weight: route.style.weight + 3, opacity: 1 } : route.style);
    if (on) {
      route.line.bringToFront();
    }
  }

  function candidateItem(c, routes) {
    var item = el("li", "rec-cand" + (c.proposed ? " is-proposed" : "") + (c.available ? "" : " is-unavailable"));
    item.dataset.testid = "candidate";
    item.dataset.member = String(c.member.id);
    item.dataset.proposed = c.proposed ? "1" : "0";

    var pick = el("label", "rec-pick");
    var box = el("input");
    box.type = "checkbox";
    box.name = "members";
    box.value = String(c.member.id);
    box.checked = c.proposed;
    box.disabled = !c.on_duty; // an off-duty member needs the explicit tick below
    pick.appendChild(box);
    pick.appendChild(el("strong", null, c.member.name));
    pick.appendChild(el("span", "muted", c.force_display + " · " + c.unit.name));
    item.appendChild(pick);

    var facts = el("div", "rec-facts");
    if (c.travel_seconds !== null) {
      facts.appendChild(el("span", "rec-eta", format(cfg.textEta, { minutes: minutes(c.travel_seconds) })));
    } else {
      facts.appendChild(el("span", "rec-eta", cfg.textNoRoute));
    }
    facts.appendChild(el("span", null, distance(c.straight_m)));
    facts.appendChild(el("span", null, c.deadline_minutes === null ? cfg.textNoDeadline
      : format(cfg.textDeadline, { minutes: c.deadline_minutes })));
    facts.appendChild(badge(c.reachable ? cfg.textInTime : cfg.textLate, c.reachable ? "is-ok" : "is-late"));
    facts.appendChild(badge(c.on_duty ? cfg.textOnDuty : cfg.textOffDuty, c.on_duty ? "is-ok" : "is-off"));
    facts.appendChild(badge(format(cfg.textLoad, { load: c.load, limit: c.load_limit }),
      c.load >= c.load_limit ? "is-late" : "is-quiet"));
    item.appendChild(facts);
    item.appendChild(el("div", "rec-reason", c.reason));

    if (!c.on_duty) {
      var override = el("label", "rec-override");
      var tick = el("input");
      tick.type = "checkbox";
      tick.name = "off_duty_override";
      tick.value = String(c.member.id);
      tick.dataset.testid = "include-off-duty";
      tick.addEventListener("change", function () {
        box.disabled = !tick.checked;
        box.checked = tick.checked;
      });
      override.appendChild(tick);
      override.appendChild(el("span", null, cfg.textIncludeOffDuty));
      item.appendChild(override);
    }
    item.addEventListener("mouseenter", function () {
      highlight(routes, c.member.id, true);
    });
    item.addEventListener("mouseleave", function () {
      highlight(routes, c.member.id, false);
    });
    return item;
  }

  function render(box, data, map) {
    clear(box);
    var head = el("div", "rec-head");
    head.appendChild(el("strong", null, cfg.textTitle));
    var where = [];
    if (data.grid) {
      where.push(cfg.textGrid + " " + data.grid.name + " (" + data.grid.code + ")");
    }
    if (data.community) {
      where.push(data.community.name);
    }
    where.push(format(cfg.textLevel, { level: data.level }));
    head.appendChild(el("span", "muted", where.join(" · ")));
    box.appendChild(head);
    if (data.backup_grids.length) {
      box.appendChild(el("div", "rec-note", cfg.textBackups + " " + data.backup_grids.map(function (g) {
        return g.name + " (" + g.code + ")";
      }).join("、")));
    }
    data.notes.forEach(function (note) {
      box.appendChild(el("div", "rec-note", note));
    });
    var routes = map ? drawRoutes(map, data) : {};
    var list = el("ol", "rec-list");
    data.candidates.forEach(function (c) {
      list.appendChild(candidateItem(c, routes));
    });
    if (!data.candidates.length) {
      list.appendChild(el("li", "muted", cfg.textNone));
    }
    box.appendChild(list);
    document.body.dataset.recommendationLoaded = String(data.candidates.length);
  }

  // Puts the panel at the top of `form` (after its title) and fills it; returns {othersLabel}.
  function panel(form, map) {
    var box = el("div", "rec");
    box.dataset.testid = "recommendation";
    box.appendChild(el("span", "muted", cfg.textLoading));
    var title = form.querySelector("h3");
    if (title && title.nextSibling) {
      form.insertBefore(box, title.nextSibling);
    } else {
      form.appendChild(box);
    }
    http.get(http.url(cfg.url, cfg.incident)).then(function (result) {
      if (!result.ok) {
        clear(box).appendChild(el("div", "field-error", http.errorMessages(result, cfg.textFailed).message));
        document.body.dataset.recommendationLoaded = "error";
        return;
      }
      render(box, result.data, map);
    }).catch(function () {
      clear(box).appendChild(el("div", "field-error", cfg.textFailed));
    });
    return { othersLabel: cfg.textOthers };
  }

  G.recommend = { panel: panel, clear: clearRoutes };
})();
