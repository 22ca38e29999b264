// The dispatch recommendation on the incident page: panel(form, map, options) asks
// GET /api/v1/incidents/{id}/recommendations/ and shows, at the top of the dispatch form, the
// responsible grid and the ranked candidates — each with the reason it is there, travel time,
// distance, deadline and whether it can be met, on duty or not, load — with a checkbox per
// candidate (the proposed ones ticked) and, for a member off duty, an explicit "include off duty"
// tick without which they cannot be chosen. Their routes are drawn on the incident's map; pointing
// at a candidate brings out their route.
//
// `options`: {url, incident, text} — the API's URL with "{id}", the incident's id and the words
// (incident.js hands over #incident-config's recommend.url and text.recommend, built by
// frontend/incident_page.py). Texts from data go in with textContent only.
// Test hooks: <body data-recommendation-loaded="N candidates" data-routes-drawn="N">; the panel is
// [data-testid=recommendation], each candidate [data-testid=candidate][data-member][data-proposed].

import { clear, el, format } from "./core/dom.js";
import { errorMessages, get, url } from "./core/http.js";

/** @typedef {import("../../types/api.js").components["schemas"]} Schemas */
/**
 * A candidate's member: the API types it as a free dict ("{id, code, name, phone}", dispatch's
 * CandidateSerializer), so its fields are named here; the rest of the answer is the API's own.
 * @typedef {{id: number, code: string, name: string, phone: string}} CandidateMember
 * @typedef {Omit<Schemas["Candidate"], "member"> & {member: CandidateMember}} Candidate
 * @typedef {Omit<Schemas["Recommendation"], "candidates"> & {candidates: Candidate[]}} Recommendation
 * @typedef {{line: import("leaflet").Polyline, style: {color: string, weight: number, opacity: number, dashArray?: string}}} Route
 */

const PROPOSED = { color: "#1565c0", weight: 5, opacity: 0.85 };
const OTHER = { color: "#78909c", weight: 3, opacity: 0.7, dashArray: "6 5" };
/** @type {{layer: import("leaflet").FeatureGroup, map: import("leaflet").Map} | null} */
let active = null; // {layer, map}: the routes of the open panel

/** Takes the routes of the open panel off the map. */
export function clearRoutes() {
  if (active) {
    active.map.removeLayer(active.layer);
    active = null;
  }
  delete document.body.dataset.routesDrawn;
}

/** @param {number} seconds */
function minutes(seconds) {
  return Math.max(1, Math.round(seconds / 60));
}

/** @param {Record<string, string>} text @param {number} metres */
function distance(text, metres) {
  return metres >= 1000 ? format(text.km, { km: (metres / 1000).toFixed(1) }) : format(text.m, { m: Math.round(metres) });
}

/** @param {string} label @param {string} className */
function badge(label, className) {
  return el("span", `rec-badge ${className}`, label);
}

/**
 * @param {import("leaflet").Map} map
 * @param {Recommendation} data
 * @returns {Record<number, Route>}
 */
function drawRoutes(map, data) {
  const L = globalThis.L;
  clearRoutes();
  const layer = L.featureGroup();
  /** @type {Record<number, Route>} */
  const byMember = {};
  let drawn = 0;
  for (const c of data.candidates) {
    if (!c.route || c.route.length < 2) continue;
    const latlngs = c.route.map((p) => /** @type {[number, number]} */ ([p[1], p[0]]));
    const style = c.proposed ? PROPOSED : OTHER;
    const line = L.polyline(latlngs, { interactive: false, ...style });
    line.addTo(layer);
    const start = L.circleMarker(latlngs[0], {
      radius: 5, color: style.color, weight: 2, fillColor: "#ffffff", fillOpacity: 1, interactive: false,
    });
    start.addTo(layer);
    byMember[c.member.id] = { line, style };
    drawn += 1;
  }
  layer.addTo(map);
  active = { layer, map };
  document.body.dataset.routesDrawn = String(drawn);
  const proposedBounds = L.latLngBounds([]);
  layer.eachLayer((part) => {
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

/** @param {Record<number, Route>} routes @param {number} memberId @param {boolean} on */
function highlight(routes, memberId, on) {
  const route = routes[memberId];
  if (!route) return;
  route.line.setStyle(on ? { weight: route.style.weight + 3, opacity: 1 } : route.style);
  if (on) route.line.bringToFront();
}

/** @param {Candidate} c @param {Record<number, Route>} routes @param {Record<string, string>} text */
function candidateItem(c, routes, text) {
  const item = el("li", `rec-cand${c.proposed ? " is-proposed" : ""}${c.available ? "" : " is-unavailable"}`);
  item.dataset.testid = "candidate";
  item.dataset.member = String(c.member.id);
  item.dataset.proposed = c.proposed ? "1" : "0";

  const pick = el("label", "rec-pick");
  const box = el("input");
  box.type = "checkbox";
  box.name = "members";
  box.value = String(c.member.id);
  box.checked = c.proposed;
  box.disabled = !c.on_duty; // an off-duty member needs the explicit tick below
  pick.appendChild(box);
  pick.appendChild(el("strong", null, c.member.name));
  pick.appendChild(el("span", "muted", `${c.force_display} · ${c.unit.name}`));
  item.appendChild(pick);

  const facts = el("div", "rec-facts");
  if (c.travel_seconds !== null) {
    facts.appendChild(el("span", "rec-eta", format(text.eta, { minutes: minutes(c.travel_seconds) })));
  } else {
    facts.appendChild(el("span", "rec-eta", text.noRoute));
  }
  facts.appendChild(el("span", null, distance(text, c.straight_m)));
  facts.appendChild(el("span", null, c.deadline_minutes === null ? text.noDeadline
    : format(text.deadline, { minutes: c.deadline_minutes })));
  facts.appendChild(badge(c.reachable ? text.inTime : text.late, c.reachable ? "is-ok" : "is-late"));
  facts.appendChild(badge(c.on_duty ? text.onDuty : text.offDuty, c.on_duty ? "is-ok" : "is-off"));
  facts.appendChild(badge(format(text.load, { load: c.load, limit: c.load_limit }),
    c.load >= c.load_limit ? "is-late" : "is-quiet"));
  item.appendChild(facts);
  item.appendChild(el("div", "rec-reason", c.reason));

  if (!c.on_duty) {
    const override = el("label", "rec-override");
    const tick = el("input");
    tick.type = "checkbox";
    tick.name = "off_duty_override";
    tick.value = String(c.member.id);
    tick.dataset.testid = "include-off-duty";
    tick.addEventListener("change", () => {
      box.disabled = !tick.checked;
      box.checked = tick.checked;
    });
    override.appendChild(tick);
    override.appendChild(el("span", null, text.includeOffDuty));
    item.appendChild(override);
  }
  item.addEventListener("mouseenter", () => highlight(routes, c.member.id, true));
  item.addEventListener("mouseleave", () => highlight(routes, c.member.id, false));
  return item;
}

/**
 * @param {HTMLElement} box
 * @param {Recommendation} data
 * @param {import("leaflet").Map | null | undefined} map
 * @param {Record<string, string>} text
 */
function render(box, data, map, text) {
  clear(box);
  const head = el("div", "rec-head");
  head.appendChild(el("strong", null, text.title));
  const where = [];
  if (data.grid) where.push(`${text.grid} ${data.grid.name} (${data.grid.code})`);
  if (data.community) where.push(data.community.name);
  where.push(format(text.level, { level: data.level }));
  head.appendChild(el("span", "muted", where.join(" · ")));
  box.appendChild(head);
  if (data.backup_grids.length) {
    box.appendChild(el("div", "rec-note",
      `${text.backups} ${data.backup_grids.map((g) => `${g.name} (${g.code})`).join("、")}`));
  }
  for (const note of data.notes) box.appendChild(el("div", "rec-note", note));
  const routes = map ? drawRoutes(map, data) : {};
  const list = el("ol", "rec-list");
  for (const c of data.candidates) list.appendChild(candidateItem(c, routes, text));
  if (!data.candidates.length) list.appendChild(el("li", "muted", text.none));
  box.appendChild(list);
  document.body.dataset.recommendationLoaded = String(data.candidates.length);
}

/**
 * Puts the panel at the top of `form` (after its title) and fills it; returns {othersLabel}.
 * @param {HTMLFormElement} form
 * @param {import("leaflet").Map | null | undefined} map
 * @param {{url: string, incident: number, text: Record<string, string>}} options
 */
export function panel(form, map, { url: template, incident, text }) {
  const box = el("div", "rec");
  box.dataset.testid = "recommendation";
  box.appendChild(el("span", "muted", text.loading));
  const title = form.querySelector("h3");
  if (title && title.nextSibling) {
    form.insertBefore(box, title.nextSibling);
  } else {
    form.appendChild(box);
  }
  get(url(template, incident))
    .then((result) => {
      if (!result.ok) {
        clear(box).appendChild(el("div", "field-error", errorMessages(result, text.failed).message));
        document.body.dataset.recommendationLoaded = "error";
        return;
      }
      render(box, /** @type {Recommendation} */ (result.data), map, text);
    })
    .catch(() => {
      clear(box).appendChild(el("div", "field-error", text.failed));
    });
  return { othersLabel: text.others };
}
