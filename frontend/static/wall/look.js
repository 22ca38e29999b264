// How the wall shows things, shared by its views: colours by status and duty (presentation, kept
// here; the statuses' meanings and labels are the server's, core/shared.js), the scale of markers,
// clock texts in the sub-district's time zone, a status badge, a category's name.

import { el } from "../gridlink/core/dom.js";
import { glyphOf as sharedGlyphOf } from "../gridlink/core/format.js";
import { shared } from "../gridlink/core/shared.js";
import { clockText } from "./time.js";

export const STATUS_COLOURS = {
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
export const MEMBER_COLOURS = { on_duty: "#32d74b", busy: "#ff9f0a", off_duty: "#6e7681" };

export function statusColour(status) {
  return STATUS_COLOURS[status] || "#8e8e93";
}

/** Marker sizes grow with the screen: 1 at 1920 px wide, 2 at 3840 px. */
export function scale() {
  return Math.max(0.8, Math.min(2.4, window.innerWidth / 1920));
}

/** The clock of a time (ms) in the sub-district's time zone, with seconds unless `withSeconds` is false. */
export function clock(t, withSeconds = true) {
  return clockText(t, { timeZone: shared.timeZone, lang: document.documentElement.lang || undefined, seconds: withSeconds });
}

/** "14:05" of an ISO time; "" for none. */
export function hhmm(iso) {
  return iso ? clock(new Date(iso).getTime(), false) : "";
}

/** The page's categories by code ({code: {code, name, scope}}). */
export function categoriesByCode(list) {
  const byCode = {};
  for (const c of list || []) byCode[c.code] = c;
  return byCode;
}

/** The glyph of a category: its own, else its scope's (the server's tables), else a dot. */
export function glyphOf(category, categories) {
  return sharedGlyphOf(category, categories);
}

export function categoryName(incident, categories) {
  const c = incident.category || {};
  return c.name || (categories[c.code] && categories[c.code].name) || "";
}

export function statusBadge(incident) {
  const badge = el("span", "wall-status", incident.status_label || shared.statuses[incident.status] || incident.status);
  badge.style.setProperty("--status-colour", statusColour(incident.status));
  return badge;
}

/** Leaflet's (lat, lon) of a [lon, lat]: swapped here, at the browser's edge only. */
export function latLngOf(lonLat) {
  return lonLat && lonLat.length >= 2 ? globalThis.L.latLng(lonLat[1], lonLat[0]) : null;
}
