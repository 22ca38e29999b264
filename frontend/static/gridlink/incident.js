/*
 * The incident page: the case on the basemap, the action buttons the detail API offers now
 * (`actions`: [{action, label, requires, choices}]) with a small form for what each requires,
 * and the reveals of ID numbers and of callers' and parties' names and phones. The page itself is rendered by Django; after a successful action
 * it is loaded again, so the timeline and every list come from the server. A refused action
 * shows the server's message and changes nothing.
 *
 * Configuration: the json_script element #incident-config. Texts from data go in with
 * textContent only. Test hook: <body data-actions-loaded="N">.
 */
(function () {
  "use strict";

  var configElement = document.getElementById("incident-config");
  if (!configElement || typeof L === "undefined" || !window.GridLink) {
    return;
  }
  var config = JSON.parse(configElement.textContent);
  var text = config.text;
  var G = window.GridLink;
  var el = G.dom.el;
  var clear = G.dom.clear;
  var http = G.http;

  // ---- the map --------------------------------------------------------------------------------

  var base = G.basemap.create("incident-map", config.map, { fit: !config.location, layerControl: false });
  if (config.location) {
    var latlng = L.latLng(config.location[1], config.location[0]);
    base.map.setView(latlng, 16);
    L.marker(latlng, { pane: "gl-pin", icon: G.basemap.pinIcon("#c62828"), keyboard: false }).addTo(base.map);
  }

  // ---- actions ----------------------------------------------------------------------------------

  var actionsBox = document.getElementById("actions");
  var slot = document.getElementById("action-form-slot");
  var membersPromise = null;

  function select(name, options, multiple, placeholder) {
    var node = el("select");
    node.name = name;
    node.dataset.field = name;
    if (multiple) {
      node.multiple = true;
      node.size = 8;
    } else {
      var empty = el("option", null, placeholder || text.choose);
      empty.value = "";
      node.appendChild(empty);
    }
    options.forEach(function (option) {
      if (option.group) {
        var group = el("optgroup");
        group.label = option.group;
        option.options.forEach(function (inner) {
          group.appendChild(optionNode(inner));
        });
        node.appendChild(group);
      } else {
        node.appendChild(optionNode(option));
      }
    });
    return node;
  }

  function optionNode(option) {
    var node = el("option", null, option.label);
    node.value = String(option.value);
    return node;
  }

  // A choice among the units of the case's parts; the only one is chosen already.
  function unitSelect(units, placeholder) {
    var node = select("unit", units.map(function (u) {
      return { value: u.id, label: u.name };
    }), false, placeholder);
    if (units.length === 1 && !placeholder) {
      node.value = String(units[0].id);
    }
    return node;
  }

  function field(label, control) {
    var wrap = el("label", "cfield");
    wrap.appendChild(el("span", null, label));
    wrap.appendChild(control);
    return wrap;
  }

  // Members for a dispatch, grouped by force, on-duty first (the recommendation comes later).
  function loadMembers() {
    if (!membersPromise) {
      var url = config.map.subdistrict
        ? http.withParams(config.api.members, { subdistrict: config.map.subdistrict.code })
        : config.api.members;
      membersPromise = http.get(url).then(function (result) {
        if (!result.ok) {
          throw new Error("members: HTTP " + result.status);
        }
        var groups = {};
        var order = [];
        http.rows(result.data)
          .sort(function (a, b) {
            return (b.on_duty ? 1 : 0) - (a.on_duty ? 1 : 0) || String(a.name).localeCompare(String(b.name));
          })
          .forEach(function (m) {
            var key = m.force_display || m.force || "";
            if (!groups[key]) {
              groups[key] = [];
              order.push(key);
            }
            groups[key].push({ value: m.id, label: m.name + " · " + (m.unit || "") + (m.on_duty ? " ●" : "") });
          });
        return order.map(function (key) {
          return { group: key, options: groups[key] };
        });
      });
    }
    return membersPromise;
  }

  function openForm(action, button) {
    actionsBox.querySelectorAll(".is-active").forEach(function (node) {
      node.classList.remove("is-active");
    });
    clear(slot);
    if (G.recommend) {
      G.recommend.clear();
    }
    if (button) {
      button.classList.add("is-active");
    }
    var requires = action.requires || [];
    var form = el("form", "cform action-form");
    form.noValidate = true;
    form.dataset.action = action.action;
    form.appendChild(el("h3", null, action.label));

    if (requires.indexOf("members") >= 0) {
      // A dispatch shows the recommendation (recommend.js): the proposed responders pre-selected,
      // their routes on the map; the full list below it is for anybody else.
      var recommended = action.action === "dispatch" && G.recommend ? G.recommend.panel(form, base.map) : null;
      var holder = el("div", "cfield");
      holder.appendChild(el("span", null, text.members));
      holder.appendChild(el("span", "muted", text.loading));
      if (recommended) {
        var others = el("details", "rec-others");
        others.appendChild(el("summary", null, recommended.othersLabel));
        others.appendChild(holder);
        form.appendChild(others);
      } else {
        form.appendChild(holder);
      }
      loadMembers()
        .then(function (groups) {
          clear(holder);
          holder.appendChild(el("span", null, text.members));
          holder.appendChild(select("members", groups, true));
        })
        .catch(function () {
          clear(holder);
          holder.appendChild(el("span", "field-error", text.failed));
        });
    } else if (action.action === "arrive" && config.liveMembers.length) {
      // The command room records who arrived; a responder's own click needs no choice.
      form.appendChild(field(text.members, select("members", config.liveMembers.map(function (m) {
        return { value: m.id, label: m.name + " · " + m.unit };
      }), true)));
    }
    if (requires.indexOf("method") >= 0) {
      var methods = (action.choices && action.choices.method) || Object.keys(config.methods).map(function (key) {
        return { value: key, label: config.methods[key] };
      });
      form.appendChild(field(text.method, select("method", methods, false)));
    }
    if (requires.indexOf("unit") >= 0) {
      form.appendChild(field(text.unit, select("unit", config.units.map(function (u) {
        return { value: u.id, label: u.name };
      }), false)));
    } else if (action.action === "accept_handover" || action.action === "return_handover") {
      // The command room decides for a named office (the only one waiting needs no choice); an
      // office's staff decide for their own unit.
      if (config.can.command && config.pendingUnits.length > 1) {
        form.appendChild(field(text.unit, unitSelect(config.pendingUnits)));
      }
    } else if (action.action === "complete" && config.can.command) {
      // The command room completes an office's part on its behalf: which office, and why.
      form.appendChild(field(text.unit + " *", unitSelect(config.acceptedUnits)));
      var reason = el("textarea");
      reason.name = "reason";
      reason.rows = 2;
      reason.dataset.field = "reason";
      form.appendChild(field(text.reason + " *", reason));
    } else if (action.action === "send_back" && config.completedUnits.length > 1) {
      // One office's part, or (no choice) every completed part.
      form.appendChild(field(text.unit, unitSelect(config.completedUnits, text.allOffices)));
    }
    var note = el("textarea");
    note.name = "text";
    note.rows = 3;
    note.dataset.field = "text";
    form.appendChild(field(requires.indexOf("text") >= 0 ? text.text + " *" : text.note, note));

    var message = el("p", "form-message is-error");
    message.hidden = true;
    message.setAttribute("role", "alert");
    form.appendChild(message);
    var buttons = el("div", "form-actions");
    var cancel = el("button", "btn btn-quiet", text.cancel);
    cancel.type = "button";
    cancel.addEventListener("click", function () {
      clear(slot);
      if (G.recommend) {
        G.recommend.clear();
      }
      if (button) {
        button.classList.remove("is-active");
      }
    });
    var submit = el("button", "btn btn-primary", action.label);
    submit.type = "submit";
    buttons.appendChild(cancel);
    buttons.appendChild(submit);
    form.appendChild(buttons);

    form.addEventListener("submit", function (event) {
      event.preventDefault();
      var body = { action: action.action };
      var textValue = note.value.trim();
      if (textValue) {
        body.text = textValue;
      }
      var unit = form.querySelector('[name="unit"]');
      if (unit && unit.value) {
        body.unit = Number(unit.value);
      }
      var reasonField = form.querySelector('[name="reason"]');
      if (reasonField && reasonField.value.trim()) {
        body.reason = reasonField.value.trim();
      }
      // Members: the options selected in the list and the ticked candidates of the recommendation;
      // off-duty ones only go with their explicit "include off duty" tick.
      var memberFields = form.querySelectorAll('[name="members"]');
      if (memberFields.length) {
        var picked = [];
        memberFields.forEach(function (node) {
          if (node.tagName === "SELECT") {
            Array.prototype.forEach.call(node.options, function (o) {
              if (o.selected) {
                picked.push(Number(o.value));
              }
            });
          } else if (node.checked && !node.disabled) {
            picked.push(Number(node.value));
          }
        });
        body.members = picked.filter(function (id, i) {
          return picked.indexOf(id) === i;
        });
        var overrides = Array.prototype.filter
          .call(form.querySelectorAll('[name="off_duty_override"]'), function (node) {
            return node.checked;
          })
          .map(function (node) {
            return Number(node.value);
          });
        if (overrides.length) {
          body.off_duty_override = overrides;
        }
      }
      var method = form.querySelector('[name="method"]');
      if (method && method.value) {
        body.method = method.value;
      }
      submit.disabled = true;
      message.hidden = true;
      http
        .post(http.url(config.api.transitions, config.incident), body)
        .then(function (result) {
          if (result.ok) {
            window.location.reload();
            return;
          }
          submit.disabled = false;
          message.textContent = http.errorMessages(result, text.failed).message;
          message.hidden = false;
          document.body.dataset.actionRefused = String(result.status);
        })
        .catch(function () {
          submit.disabled = false;
          message.textContent = text.failed;
          message.hidden = false;
        });
    });
    slot.appendChild(form);
    var first = form.querySelector("select, textarea");
    if (first) {
      first.focus();
    }
  }

  function renderActions(actions) {
    clear(actionsBox);
    if (!actions.length) {
      actionsBox.appendChild(el("span", "muted", "—"));
    }
    actions.forEach(function (action) {
      var button = el("button", "btn btn-action", action.label);
      button.type = "button";
      button.dataset.action = action.action;
      button.addEventListener("click", function () {
        openForm(action, button);
      });
      actionsBox.appendChild(button);
    });
    offerTransferRequest(actions);
    document.body.dataset.actionsLoaded = String(actions.length);
  }

  // A responder's open request for a transfer (the notice rendered by the page): when the user may
  // transfer the case now, its button opens the transfer form with the unit and the reason filled in.
  function offerTransferRequest(actions) {
    var notice = document.querySelector("[data-testid='transfer-request']");
    var transfer = actions.filter(function (a) {
      return a.action === "transfer";
    })[0];
    var open = notice && notice.querySelector("[data-open-transfer]");
    if (!open || !transfer) {
      return;
    }
    open.hidden = false;
    open.addEventListener("click", function () {
      var button = actionsBox.querySelector('[data-action="transfer"]');
      openForm(transfer, button);
      var unit = slot.querySelector('[name="unit"]');
      var reason = slot.querySelector('[name="text"]');
      if (unit && notice.dataset.unit) {
        unit.value = notice.dataset.unit;
      }
      if (reason) {
        reason.value = notice.dataset.reason || "";
      }
      slot.scrollIntoView({ block: "nearest" });
    });
  }

  http
    .get(http.url(config.api.incident, config.incident))
    .then(function (result) {
      if (!result.ok) {
        throw new Error("detail: HTTP " + result.status);
      }
      renderActions((result.data && result.data.actions) || []);
    })
    .catch(function () {
      clear(actionsBox);
      actionsBox.appendChild(el("span", "field-error", text.failed));
    });

  // ---- reveal callers' and parties' names and phones (masked on the page; each reveal is logged) ----

  function showContact(key, value) {
    var node = document.querySelector('[data-contact="' + CSS.escape(key) + '"]');
    if (node) {
      node.textContent = value;
      node.classList.add("is-revealed");
    }
  }

  document.querySelectorAll("[data-reveal-contacts]").forEach(function (button) {
    button.addEventListener("click", function () {
      var party = button.dataset.party ? Number(button.dataset.party) : null;
      var body = party ? { parties: [party] } : { caller: true };
      button.disabled = true;
      http.post(http.url(config.api.revealContacts, config.incident), body).then(function (result) {
        if (!result.ok || !result.data) {
          button.disabled = false;
          button.insertAdjacentElement("afterend", el("span", "field-error", http.errorMessages(result, text.failed).message));
          return;
        }
        var caller = result.data.caller;
        if (caller) {
          showContact("caller", [caller.name, caller.phone].join(" ").trim());
          caller.reports.forEach(function (report) {
            showContact("report:" + report.id, [report.caller_name, report.caller_phone].join(" ").trim());
          });
        }
        (result.data.parties || []).forEach(function (person) {
          showContact("party-name:" + person.id, person.name);
          showContact("party-phone:" + person.id, person.phone);
        });
        button.remove();
      });
    });
  });

  // ---- reveal an ID number ------------------------------------------------------------------------

  document.querySelectorAll("[data-reveal]").forEach(function (button) {
    button.addEventListener("click", function () {
      var id = button.dataset.reveal;
      var target = document.querySelector('.id-number[data-party="' + CSS.escape(id) + '"]');
      button.disabled = true;
      http.post(http.url(config.api.reveal, id), {}).then(function (result) {
        if (result.ok && result.data && result.data.id_number) {
          target.textContent = result.data.id_number;
          target.classList.add("is-revealed");
          button.remove();
        } else {
          button.disabled = false;
          var error = el("span", "field-error", http.errorMessages(result, text.failed).message);
          button.insertAdjacentElement("afterend", error);
        }
      });
    });
  });
})();

/*
 * The SLA panel (issue 4): the orders' answers, the escalation level and the SLA clock's alarms.
 * The dispatched member accepts or declines (with a reason) their order; a dispatcher may answer
 * for them; the command room raises the level and acknowledges (with a note) or snoozes alarms.
 * Everything, including what the user may do, comes from the API named by #sla-card's data-api;
 * after a change the page reloads, like the actions above. Texts: the card's data-text-*
 * attributes, put in with textContent only. Test hook: <body data-sla-loaded="1">.
 */
(function () {
  "use strict";

  var card = document.getElementById("sla-card");
  if (!card || !window.GridLink) {
    return;
  }
  var G = window.GridLink;
  var el = G.dom.el;
  var clear = G.dom.clear;
  var format = G.dom.format;
  var http = G.http;
  var data = card.dataset;
  var part = function (name) {
    return card.querySelector('[data-sla="' + name + '"]');
  };
  var formSlot = part("form");
  var SNOOZE_MINUTES = [5, 10, 15, 30, 60, 120];

  function idUrl(template, id) {
    return String(template).replace("/0/", "/" + encodeURIComponent(id) + "/");
  }

  function button(label, className, onClick) {
    var node = el("button", "btn btn-small " + (className || "btn-quiet"), label);
    node.type = "button";
    node.addEventListener("click", onClick);
    return node;
  }

  function labelled(label, control) {
    var wrap = el("label", "cfield");
    wrap.appendChild(el("span", null, label));
    wrap.appendChild(control);
    return wrap;
  }

  // A small form under the card: its fields, a submit that posts `body()` to `url`.
  function openForm(title, fields, submitLabel, url, body) {
    clear(formSlot);
    var form = el("form", "cform action-form");
    form.noValidate = true;
    form.appendChild(el("h3", null, title));
    fields.forEach(function (f) {
      form.appendChild(f);
    });
    var message = el("p", "form-message is-error");
    message.hidden = true;
    message.setAttribute("role", "alert");
    form.appendChild(message);
    var buttons = el("div", "form-actions");
    buttons.appendChild(button(data.textCancel, "btn-quiet", function () {
      clear(formSlot);
    }));
    var submit = el("button", "btn btn-primary", submitLabel);
    submit.type = "submit";
    buttons.appendChild(submit);
    form.appendChild(buttons);
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      submit.disabled = true;
      message.hidden = true;
      send(url, body()).then(function (error) {
        submit.disabled = false;
        message.textContent = error;
        message.hidden = false;
      });
    });
    formSlot.appendChild(form);
    var first = form.querySelector("select, textarea, input");
    if (first) {
      first.focus();
    }
  }

  // Posts; reloads on success, else resolves to the server's message.
  function send(url, body) {
    return http
      .post(url, body)
      .then(function (result) {
        if (result.ok) {
          window.location.reload();
          return new Promise(function () {});
        }
        document.body.dataset.slaRefused = String(result.status);
        return http.errorMessages(result, data.textFailed).message;
      })
      .catch(function () {
        return data.textFailed;
      });
  }

  function textarea(name) {
    var node = el("textarea");
    node.name = name;
    node.rows = 2;
    node.dataset.field = name;
    return node;
  }

  function selectOf(name, values, labelOf) {
    var node = el("select");
    node.name = name;
    node.dataset.field = name;
    values.forEach(function (value) {
      var option = el("option", null, labelOf ? labelOf(value) : value);
      option.value = String(value);
      node.appendChild(option);
    });
    return node;
  }

  // ---- escalation level -----------------------------------------------------------------------

  function renderLevel(summary) {
    part("level").textContent = format(data.textLevel, { level: summary.level });
    // "2人未确认": orders dispatched and not accepted yet (the SLA clock sends them again).
    var unconfirmed = part("unconfirmed");
    unconfirmed.hidden = !summary.unconfirmed;
    unconfirmed.textContent = summary.unconfirmed ? format(data.textUnconfirmed, { count: summary.unconfirmed }) : "";
    var row = clear(part("level-row"));
    if (!summary.can_raise_level) {
      return;
    }
    row.appendChild(button(data.textRaise, "btn-action", function () {
      var levels = [];
      for (var n = summary.level + 1; n <= summary.max_level; n += 1) {
        levels.push(n);
      }
      var level = selectOf("level", levels);
      var note = textarea("note");
      openForm(data.textRaise, [labelled(data.textToLevel, level), labelled(data.textNote, note)], data.textRaise,
        data.levelUrl, function () {
          return { level: Number(level.value), note: note.value.trim() };
        });
    }));
  }

  // ---- orders ----------------------------------------------------------------------------------

  // Only the orders with something to answer or to know beyond the orders list: a declined one,
  // an overdue one, an arrival far from the scene.
  function worthShowing(order) {
    return order.can_accept || order.can_decline || order.can_stand_down || order.can_remind ||
      order.arrival_flagged ||
      order.state === "declined" || order.state === "stood_down" ||
      (order.overdue_escalated_at && (order.state === "dispatched" || order.state === "accepted"));
  }

  // ---- reaching a person: was each one told, did they see it (issue 10) ------------------------

  // "Told 14:02 · seen 14:03", "Told 14:02 · not seen", "Told 14:02 · SMS sent 14:03",
  // "Told 14:02 · SMS retrying (3 attempts)" for one message (`summary.messages`).
  function reachedText(message) {
    var parts = [format(data.textToldAt, { time: G.fmt.time(message.created_at) })];
    if (message.status === "seen") {
      parts.push(format(data.textSeenAt, { time: G.fmt.time(message.read_at) }));
    } else if (message.status === "sent") {
      parts.push(format(data.textSmsSent, { time: G.fmt.time(message.sent_at) }));
    } else if (message.status === "retrying") {
      parts.push(format(data.textSmsRetrying, { attempts: message.attempts }));
    } else {
      parts.push(data.textNotSeen);
      if (message.status === "skipped") {
        parts.push(data.textSmsSkipped);
      }
    }
    return parts.join(" · ");
  }

  function reachedNode(message, prefix) {
    var node = el("div", "row-meta" + (message.status === "seen" || message.status === "sent" ? "" : " row-warn"),
      (prefix ? prefix + ": " : "") + reachedText(message));
    node.dataset.reached = message.status;
    node.dataset.message = String(message.id);
    return node;
  }

  function renderOrders(summary) {
    var list = clear(part("orders"));
    var told = {};
    (summary.messages || []).forEach(function (message) {
      if (message.kind === "order" && message.order !== null) {
        told[message.order] = message;
      }
    });
    summary.orders.filter(worthShowing).forEach(function (order) {
      var item = el("li");
      item.dataset.order = String(order.id);
      var head = el("div", "row-head");
      head.appendChild(el("strong", null, order.member.name));
      head.appendChild(el("span", "state state-" + order.state, order.state_display));
      item.appendChild(head);
      var meta = [order.unit];
      if (order.arrive_by && (order.state === "dispatched" || order.state === "accepted")) {
        meta.push(format(data.textArriveBy, { time: G.fmt.time(order.arrive_by) }));
      }
      item.appendChild(el("div", "row-meta", meta.join(" · ")));
      if (told[order.id]) {
        item.appendChild(reachedNode(told[order.id]));
      }
      if (order.reminded_at && order.state === "dispatched") {
        item.appendChild(el("div", "row-meta row-warn", format(data.textRemindedAt, {
          time: G.fmt.time(order.reminded_at) })));
      }
      if (order.overdue_escalated_at && (order.state === "dispatched" || order.state === "accepted")) {
        item.appendChild(el("span", "badge badge-warn", data.textOverdue));
      }
      if (order.arrival_flagged) {
        item.appendChild(el("div", "row-text row-warn",
          format(data.textFar, { distance: Math.round(order.arrival_distance_m) })));
      }
      if (order.decline_reason) {
        item.appendChild(el("div", "row-text row-warn", order.decline_reason));
      }
      if (order.state === "stood_down" && order.stand_down_reason) {
        item.appendChild(el("div", "row-text", format(data.textStoodDown, { reason: order.stand_down_reason })));
      }
      var actions = el("div", "form-actions");
      if (order.can_accept) {
        actions.appendChild(button(data.textAccept, "btn-primary", function () {
          send(idUrl(data.acceptUrl, order.id), {}).then(function (error) {
            item.appendChild(el("span", "field-error", error));
          });
        }));
      }
      if (order.can_remind) {
        // One tap: the order is sent again to the member's app (at most every few minutes: 429).
        var remind = actions.appendChild(button(data.textRemind, "btn-action", function () {
          send(idUrl(data.remindUrl, order.id), {}).then(function (error) {
            item.appendChild(el("span", "field-error", error));
          });
        }));
        remind.dataset.orderAction = "remind";
      }
      if (order.can_decline) {
        actions.appendChild(button(data.textDecline, "btn-quiet", function () {
          var reason = textarea("reason");
          openForm(data.textDecline + " · " + order.member.name, [labelled(data.textReason + " *", reason)],
            data.textDecline, idUrl(data.declineUrl, order.id), function () {
              return { reason: reason.value.trim() };
            });
        }));
      }
      if (order.can_stand_down) {
        var standDown = actions.appendChild(button(data.textStandDown, "btn-quiet", function () {
          var reason = textarea("reason");
          openForm(data.textStandDown + " · " + order.member.name, [labelled(data.textReason + " *", reason)],
            data.textStandDown, idUrl(data.standDownUrl, order.id), function () {
              return { reason: reason.value.trim() };
            });
        }));
        standDown.dataset.orderAction = "stand-down";
      }
      if (actions.childNodes.length) {
        item.appendChild(actions);
      }
      list.appendChild(item);
    });
  }

  // ---- replacements: the next candidate of the same rule for a declined or late order ----------

  function renderReplacements(summary) {
    var list = clear(part("replacements"));
    if ((summary.replacements || []).length) {
      list.appendChild(el("li", "rows-heading", data.textReplacements));
    }
    (summary.replacements || []).forEach(function (proposal) {
      var item = el("li", "replacement");
      item.dataset.replaces = String(proposal.order);
      var why = proposal.why === "declined" ? data.textInPlaceOfDeclined : data.textInPlaceOfOverdue;
      item.appendChild(el("div", "row-head", format(why, { name: proposal.member.name })));
      var c = proposal.candidate;
      if (!c) {
        item.appendChild(el("div", "row-text row-warn", data.textNoReplacement));
        list.appendChild(item);
        return;
      }
      var meta = [c.force_display, c.unit];
      if (c.travel_seconds !== null && c.travel_seconds !== undefined) {
        meta.push(format(data.textEta, { minutes: Math.max(1, Math.round(c.travel_seconds / 60)) }));
      }
      item.appendChild(el("div", "row-meta", c.name + " · " + meta.join(" · ")));
      if (c.reason) {
        item.appendChild(el("div", "row-text", c.reason));
      }
      if (proposal.can_send) {
        var actions = el("div", "form-actions");
        actions.appendChild(button(format(data.textSend, { name: c.name }), "btn-primary", function () {
          send(idUrl(data.replaceUrl, proposal.order), { member: c.id, method: "phone" }).then(function (error) {
            item.appendChild(el("span", "field-error", error));
          });
        })).dataset.replacement = String(c.id);
        item.appendChild(actions);
      }
      list.appendChild(item);
    });
  }

  // ---- alarms ----------------------------------------------------------------------------------

  function renderAlarms(summary) {
    var list = clear(part("alarms"));
    if (!summary.alarms.length) {
      list.appendChild(el("li", "muted", data.textNoAlarms));
    }
    summary.alarms.forEach(function (alarm) {
      var item = el("li");
      item.dataset.alarm = String(alarm.id);
      item.dataset.state = alarm.state;
      var head = el("div", "row-head");
      head.appendChild(el("strong", null, alarm.kind_display + (alarm.member ? " · " + alarm.member.name : "") +
        (alarm.handover ? " · " + alarm.handover.unit : "")));
      head.appendChild(el("span", "state state-" + alarm.state, alarm.state_display));
      item.appendChild(head);
      item.appendChild(el("div", "row-meta", G.fmt.time(alarm.raised_at, true)));
      var names = alarm.notified.map(function (m) {
        return m.name;
      });
      item.appendChild(el("div", "row-meta",
        names.length ? format(data.textTold, { names: names.join("、") }) : data.textNobodyTold));
      (summary.messages || []).forEach(function (message) {
        if (message.alarm === alarm.id) {
          item.appendChild(reachedNode(message, message.member.name));
        }
      });
      if (alarm.state === "snoozed" && alarm.snoozed_until) {
        item.appendChild(el("div", "row-meta", format(data.textSnoozedUntil, { time: G.fmt.time(alarm.snoozed_until) })));
      }
      if (alarm.note) {
        item.appendChild(el("div", "row-text", alarm.note));
      }
      if (summary.can_handle_alarms && alarm.state !== "acknowledged") {
        var actions = el("div", "form-actions");
        actions.appendChild(button(data.textAcknowledge, "btn-primary", function () {
          var note = textarea("note");
          openForm(data.textAcknowledge + " · " + alarm.kind_display, [labelled(data.textNote + " *", note)],
            data.textAcknowledge, idUrl(data.acknowledgeUrl, alarm.id), function () {
              return { note: note.value.trim() };
            });
        }));
        actions.appendChild(button(data.textSnooze, "btn-quiet", function () {
          var minutes = selectOf("minutes", SNOOZE_MINUTES);
          openForm(data.textSnooze + " · " + alarm.kind_display, [labelled(data.textMinutes, minutes)],
            data.textSnooze, idUrl(data.snoozeUrl, alarm.id), function () {
              return { minutes: Number(minutes.value) };
            });
        }));
        item.appendChild(actions);
      }
      list.appendChild(item);
    });
  }

  http
    .get(data.api)
    .then(function (result) {
      if (!result.ok) {
        throw new Error("dispatch summary: HTTP " + result.status);
      }
      renderLevel(result.data);
      renderOrders(result.data);
      renderReplacements(result.data);
      renderAlarms(result.data);
      document.body.dataset.slaLoaded = "1";
    })
    .catch(function () {
      clear(part("alarms")).appendChild(el("li", "field-error", data.textFailed));
    });
})();
