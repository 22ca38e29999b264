/*
 * The incident page: the case on the basemap, the action buttons the detail API offers now
 * (`actions`: [{action, label, requires, choices}]) with a small form for what each requires,
 * and the reveal of ID numbers. The page itself is rendered by Django; after a successful action
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
    if (button) {
      button.classList.add("is-active");
    }
    var requires = action.requires || [];
    var form = el("form", "cform action-form");
    form.noValidate = true;
    form.dataset.action = action.action;
    form.appendChild(el("h3", null, action.label));

    if (requires.indexOf("members") >= 0) {
      var holder = el("div", "cfield");
      holder.appendChild(el("span", null, text.members));
      holder.appendChild(el("span", "muted", text.loading));
      form.appendChild(holder);
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
    } else if ((action.action === "accept_handover" || action.action === "return_handover") && config.pendingUnits.length > 1) {
      form.appendChild(field(text.unit, select("unit", config.pendingUnits.map(function (u) {
        return { value: u.id, label: u.name };
      }), false)));
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
      var members = form.querySelector('[name="members"]');
      if (members) {
        body.members = Array.prototype.filter
          .call(members.options, function (o) {
            return o.selected;
          })
          .map(function (o) {
            return Number(o.value);
          });
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
    document.body.dataset.actionsLoaded = String(actions.length);
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
