// The legend, in the side column rather than on the map (there it would hide incidents at the
// edge of the sub-district). Chips flow in rows, so it stays short at 1920 px and at 3840 px.

import { el } from "../gridlink/core/dom.js";
import { shared } from "../gridlink/core/shared.js";
import { MEMBER_COLOURS, STATUS_COLOURS, glyphOf } from "./look.js";

// The statuses the legend explains by colour (a choice of presentation; their labels are the server's).
const LEGEND_STATUSES = ["new", "dispatched", "arrived", "in_progress", "resolved", "needs_location"];

export function drawLegend({ config, text, categories }) {
  const box = /** @type {HTMLElement} */ (document.getElementById("wall-legend"));
  if (!box) return;
  function row(title) {
    const list = el("ul", "wall-legend-row");
    list.appendChild(el("li", "wall-legend-title", title));
    box.appendChild(list);
    return list;
  }
  function chip(list, swatch, label) {
    const item = el("li");
    item.appendChild(swatch);
    item.appendChild(el("span", null, label));
    list.appendChild(item);
  }
  const statuses = row(text.statuses);
  for (const status of LEGEND_STATUSES) {
    const swatch = el("span", "wall-swatch is-dot");
    swatch.style.setProperty("--swatch", STATUS_COLOURS[status]);
    chip(statuses, swatch, shared.statuses[status] || status);
  }
  chip(statuses, el("span", "wall-swatch is-pulse"), text.major);
  const cats = row(text.categories);
  for (const c of config.categories || []) chip(cats, el("span", "wall-swatch is-glyph", glyphOf(c, categories)), c.name);
  const people = row(text.members);
  for (const [duty, label] of [["on_duty", text.onDuty], ["busy", text.busy], ["off_duty", text.offDuty]]) {
    const swatch = el("span", "wall-swatch is-member");
    swatch.style.setProperty("--swatch", MEMBER_COLOURS[duty]);
    chip(people, swatch, label);
  }
  chip(people, el("span", "wall-swatch is-route"), text.route);
  chip(people, el("span", "wall-swatch is-ramp"), text.gridLoad);
}
