// Text of the planners' page: the draft's log after a refused save, who else edits, problems and
// areas, grid features read from the API. Pure functions (no DOM): node --test runs them.

import { fill, formatDateTime } from "../m/format.js";

/**
 * A grid as the page keeps it (`gridOf`); `geometry` is the feature's GeoJSON MultiPolygon.
 * @typedef {{id: number, code: string, name: string, community: number | null, community_name: string, geometry: any}} PlannerGrid
 */

/**
 * A grid of the API's FeatureCollection as the page keeps it: {id, code, name, community, community_name, geometry}.
 * @returns {PlannerGrid}
 */
export function gridOf(feature) {
  const p = feature.properties || {};
  return {
    id: feature.id ?? p.id,
    code: p.code ?? "",
    name: p.name ?? "",
    community: p.community ?? null,
    community_name: p.community_name ?? "",
    geometry: feature.geometry,
  };
}

/**
 * The grids of a FeatureCollection (or a list of features), by code.
 * @returns {PlannerGrid[]}
 */
export function gridsOf(collection) {
  const features = Array.isArray(collection) ? collection : collection?.features || [];
  return features.map(gridOf).sort((a, b) => a.code.localeCompare(b.code));
}

/**
 * `grids` with `changed` (grids of a save's answer) put in and `deleted` ids taken out, by code.
 * @param {PlannerGrid[]} grids
 * @param {PlannerGrid[]} changed
 * @param {number[]} [deleted]
 */
export function mergeGrids(grids, changed, deleted = []) {
  const gone = new Set(deleted);
  const byId = new Map(grids.filter((g) => !gone.has(g.id)).map((g) => [g.id, g]));
  for (const grid of changed) byId.set(grid.id, grid);
  return [...byId.values()].sort((a, b) => a.code.localeCompare(b.code));
}

/** What one save of the draft's log did: "split: changed A, added A-2". */
export function summaryText(summary, text, saveOps) {
  const parts = [];
  for (const key of ["changed", "added", "deleted"]) {
    const codes = summary?.[key] || [];
    if (codes.length) parts.push(fill(text[key], { codes: codes.join(", ") }));
  }
  const op = saveOps[summary?.op] || "";
  return [op, parts.join(", ")].filter(Boolean).join(": ");
}

/** The lines of a refused (stale) save: who saved which revision when, and what it changed. */
export function sinceLines(since, text, saveOps, timeZone) {
  return (since || []).map((save) =>
    fill(text.staleLine, {
      revision: save.revision,
      name: save.name ?? save.user_name ?? save.user ?? "",
      time: formatDateTime(save.at, timeZone),
      what: summaryText(save.summary, text, saveOps),
    }),
  );
}

/** The other editors of the draft (not `me`, by username), by name. */
export function otherEditors(editors, me) {
  return (editors || []).filter((e) => e.user !== me).map((e) => e.name).filter(Boolean);
}

/** "1,234" m² rounded to whole metres, in the page's language. */
export function formatArea(m2, language = "zh-CN") {
  if (m2 === null || m2 === undefined || !Number.isFinite(Number(m2))) return "";
  return new Intl.NumberFormat(language, { maximumFractionDigits: 0 }).format(Number(m2));
}

/** A datetime-local input's value (the browser's wall clock) → an ISO 8601 instant, or null. */
export function instantOf(localValue) {
  if (!localValue) return null;
  const date = new Date(localValue);
  return Number.isNaN(date.getTime()) ? null : date.toISOString();
}

/** Whether the server's revision is ahead of the one the page holds (someone else saved). */
export function aheadOf(serverRevision, ours) {
  return Number.isInteger(serverRevision) && Number.isInteger(ours) && serverRevision > ours;
}

/** The number of the version in force at `now` (ms): the published one that took effect last. */
export function inForceNumber(versions, now) {
  let best = null;
  for (const v of versions) {
    if (v.status !== "published" || !v.effective_from) continue;
    const at = Date.parse(v.effective_from);
    if (at <= now && (!best || at > best.at)) best = { number: v.number, at };
  }
  return best ? best.number : null;
}
