// The planners' page (/planner/), entry module: reads the page's configuration (#planner-config,
// json_script), keeps everything in one store (the versions, the open version with its grids,
// problems and revision, the selection, the tool, the tabs' data) and wires the map, the editor and
// the panels to the planner API (/api/v1/planner/, through ../m/api.js: JSON, the CSRF token).
//
// Saves. Every edit is saved at once — a vertex drag with the grids that followed, a split, a
// merge, a grid's new name — with the draft's revision; the answer brings the new revision, the
// grids changed and the whole draft's problems. Saves go one at a time (a queue), each with the
// revision the previous one returned. A save refused as stale (409, code "stale": someone else
// saved meanwhile) shows who changed what since and offers to reload; nothing is overwritten.
// Each save is one entry of the undo stack (history.js).
//
// A new grid: drawn with the "New grid" tool (editor.js, Geoman's Polygon mode), named in the grids
// tab's form and saved as an upsert without an id; its undo entry has no "before", so undoing it
// deletes the grid (and redoing recreates it under a new id). Until it is saved or cancelled the
// drawn polygon stays on the map (`pendingLayer`); a refused save removes it and says why.
//
// Presence: every `presenceSeconds` the page tells the server it is editing; the answer lists the
// other editors and the draft's revision — a newer one than ours means a colleague saved, which the
// page says (with the last save's author and time) next to the editors.
//
// Test hooks: body[data-planner-ready="1"] once the first version is drawn; body[data-revision] =
// the open draft's revision; body[data-saves] = how many saves were answered (ok or not);
// body[data-problems] = the draft's number of problems.

import { createApi, urlFor } from "../m/api.js";
import { fill } from "../m/format.js";
import { createStore } from "../m/store.js";
import { createAssignPanel } from "./assign-panel.js";
import { createEditor } from "./editor.js";
import { createFilesPanel } from "./files-panel.js";
import { aheadOf, gridsOf, inForceNumber, mergeGrids } from "./format.js";
import { boundsOf, sameGeometry, toMultiPolygon } from "./geometry.js";
import { createGridsPanel } from "./grids-panel.js";
import { createHeadView } from "./head.js";
import { createHistory, newIds, redoPlan, undoPlan } from "./history.js";
import { createImpactPanel } from "./impact-panel.js";
import { createPlannerMap } from "./map.js";
import { createProblemsPanel } from "./problems-panel.js";
import { createPublishPanel } from "./publish-panel.js";
import { createTabs } from "./tabs.js";
import { createVersionsPanel } from "./versions-panel.js";

// The API's answers, as its OpenAPI document declares them (scripts/api-types).
/** @typedef {import("../../../types/api.js").components["schemas"]} Schemas */
/** @typedef {Schemas["Version"]} Version */
/** @typedef {Schemas["DraftDetail"]} DraftDetail */
/** @typedef {Schemas["DraftCreated"]} DraftCreated */
/** @typedef {Schemas["DraftChange"]} DraftChange */
/** @typedef {Schemas["Presence"]} Presence */
/** @typedef {Schemas["Published"]} Published */
/** @typedef {Schemas["Compare"]} Compare */
/** @typedef {Schemas["ImportCheck"]} ImportCheck */
/** @typedef {Schemas["Imported"]} Imported */
/** @typedef {Schemas["CommunityList"]} CommunityList */
/** @typedef {Schemas["Problem"]} Problem */
/** @typedef {import("./format.js").PlannerGrid} PlannerGrid */
/** @typedef {{number: number, status: string, label: string, revision: number | null}} OpenVersion */

/**
 * The page's state: one store that the loads, the saves and the presence poll write and every view
 * renders (the panels take it whole).
 * @typedef {object} PlannerState
 * @property {Version[]} versions newest first, each with `in_force`
 * @property {OpenVersion | null} open the version shown
 * @property {Schemas["Editor"][]} editors the draft's editors, from presence
 * @property {PlannerGrid[]} grids
 * @property {Problem[]} problems the draft's validation, from the last save
 * @property {{id: number | undefined, code: string, name: string}[]} communities
 * @property {number[]} selected grid ids
 * @property {"edit" | "split" | "draw" | null} tool
 * @property {{geometry: any} | null} pending a new grid drawn but not saved yet
 * @property {string | null} busy what is being loaded or sent
 * @property {{kind: string, text: string} | null} notice
 * @property {{message: string, since: Schemas["SaveLog"][]} | null} conflict a save refused as stale
 * @property {string | null} publishRefusal the message of a refused publication
 * @property {{name: string, revision: number, at: string} | null} othersSave a colleague's save, told by presence
 * @property {Schemas["Impact"] | null} impact
 * @property {(Compare & {a: number, b: number}) | null} compare
 * @property {(Schemas["AssignmentList"] & {grids: PlannerGrid[]}) | null | undefined | false} assignments
 *   undefined while loading, false when it failed
 * @property {{ok: true, grids: number, problems: Problem[]} | {ok: false, message: string} | null} importCheck
 * @property {{done: number, undone: number}} historySize
 * @property {string} tab
 */

const config = JSON.parse(/** @type {HTMLElement} */ (document.getElementById("planner-config")).textContent);
const text = config.text;
const body = document.body;
const api = createApi({ csrf: config.csrf, fallback: text.failed, cookies: () => document.cookie });
const history = createHistory();
const store = createStore(/** @type {PlannerState} */ ({
  versions: [],
  open: null, // {number, status, label, revision}
  editors: [], // the draft's editors, from presence
  grids: [], // [{id, code, name, community, community_name, geometry}]
  problems: [],
  communities: [],
  selected: [],
  tool: null, // "edit" | "split" | "draw" | null
  pending: null, // a new grid drawn but not saved yet: {geometry}
  busy: null,
  notice: null,
  conflict: null, // {message, since}
  publishRefusal: null, // the message of a refused publication, shown in the publish tab
  othersSave: null,
  impact: null,
  compare: null,
  assignments: null,
  importCheck: null,
  historySize: { done: 0, undone: 0 },
  tab: "grids",
}));
/** The page's element with this id: its template renders every one this module asks for. @param {string} id */
const byId = (id) => /** @type {HTMLElement} */ (document.getElementById(id));
const setNotice = (kind, message) => store.set({ notice: message ? { kind, text: message } : null });

/**
 * An API URL with the sub-district: a template's "{id}" filled with a version number, and params.
 * @param {string} template
 * @param {number | null} [number]
 * @param {Record<string, string | number>} [params]
 */
function apiUrl(template, number = null, params = {}) {
  const url = new URL(number === null ? template : urlFor(template, number), window.location.origin);
  if (config.subdistrict) url.searchParams.set("subdistrict", config.subdistrict.code);
  for (const [key, value] of Object.entries(params)) url.searchParams.set(key, String(value));
  return url.pathname + url.search;
}

// ---- the map and the editor ----------------------------------------------------------------------

const plannerMap = createPlannerMap(byId("pl-map"), config, {
  onGridClick: (id, event) => select(id, Boolean(event.originalEvent?.shiftKey || event.originalEvent?.ctrlKey), false),
  onMapClick: () => {
    if (store.get().tool === null) store.set({ selected: [] });
  },
});
const editor = createEditor({
  plannerMap,
  language: config.language,
  onChange: (editedId, ids) => saveEdit(ids),
  onSplitLine: (line) => splitSelected(line),
  onDrawnPolygon: (geometry, layer) => {
    pendingLayer?.remove();
    pendingLayer = layer;
    store.set({ tool: null, pending: { geometry }, selected: [], tab: "grids" });
  },
});
let pendingLayer = null; // the Leaflet layer of `pending` (a library object: not in the store)

function dropPending() {
  pendingLayer?.remove();
  pendingLayer = null;
  if (store.get().pending) store.set({ pending: null });
}

// ---- loading -------------------------------------------------------------------------------------

async function loadVersions() {
  const result = await api.get(apiUrl(config.api.versions));
  if (!result.ok) {
    setNotice("error", result.status === 401 ? text.signedOut : result.message || text.loadError);
    return [];
  }
  /** @type {Version[]} */
  const list = Array.isArray(result.data) ? result.data : result.data?.results || [];
  const force = inForceNumber(list, Date.now()); // the server says it too (`in_force`)
  const versions = list.map((v) => ({ ...v, in_force: v.in_force ?? v.number === force })).sort((a, b) => b.number - a.number);
  store.set({ versions });
  return versions;
}

async function loadCommunities() {
  const result = await api.get(apiUrl(config.api.communities));
  if (!result.ok) return;
  const features = /** @type {CommunityList | null} */ (result.data)?.features || [];
  const communities = features.map((f) => ({ id: f.id, code: f.properties?.code ?? "", name: f.properties?.name ?? "" }));
  store.set({ communities });
}

function resetVersionState() {
  history.clear();
  editor.edit(null);
  editor.split(false);
  editor.draw(false);
  dropPending();
  store.set({ selected: [], tool: null, conflict: null, othersSave: null, impact: null, problems: [], publishRefusal: null });
}

async function openVersion(number, { keepHistory = false } = {}) {
  const version = store.get().versions.find((v) => v.number === number);
  if (!version) return;
  if (!keepHistory) resetVersionState();
  store.set({ busy: "load", notice: { kind: "info", text: text.loading } });
  if (version.status === "draft") {
    const result = await api.get(apiUrl(config.api.draft, number));
    if (!result.ok) {
      store.set({ busy: null });
      setNotice("error", result.message);
      return;
    }
    const d = /** @type {DraftDetail} */ (result.data);
    store.set({
      busy: null,
      notice: null,
      conflict: null,
      open: { number: d.number, status: "draft", label: d.label, revision: d.revision },
      editors: d.editors || [],
      grids: gridsOf(d.grids),
      problems: d.problems || [],
    });
  } else {
    const result = await api.get(apiUrl(config.api.grids, null, { version: number }));
    if (!result.ok) {
      store.set({ busy: null });
      setNotice("error", result.message);
      return;
    }
    const grids = gridsOf(result.data).map((g) => ({ ...g, community_name: g.community_name || "" }));
    store.set({ busy: null, notice: null, open: { number, status: "published", label: version.label, revision: null }, editors: [], grids, problems: [] });
  }
  body.dataset.plannerReady = "1";
}

async function startDraft(basedOn) {
  store.set({ busy: "start" });
  const result = await api.post(apiUrl(config.api.drafts), basedOn ? { based_on: basedOn } : {});
  store.set({ busy: null });
  if (!result.ok) {
    setNotice("error", result.message);
    return;
  }
  await loadVersions();
  const created = /** @type {DraftCreated} */ (result.data);
  await openVersion(created.number);
  setNotice("ok", fill(text.started, { number: created.number }));
}

// ---- saving --------------------------------------------------------------------------------------

/** @type {Promise<any>} */
let queue = Promise.resolve();
let saves = 0;

/**
 * @template T
 * @param {() => Promise<T>} task
 * @returns {Promise<T>}
 */
function enqueue(task) {
  queue = queue.then(task, task);
  return queue;
}

/** A save done: one entry of the undo stack (the buttons follow through the store). */
function remember(entry) {
  history.push(entry);
  store.set({ historySize: history.size });
}

const featureOf = (grid) => ({ id: grid.id, code: grid.code, name: grid.name, community: grid.community, geometry: grid.geometry });

/**
 * Send one change of the draft (`path`: the save, split or merge endpoint; `payload` without the
 * revision) and take in the answer. Resolves to the answer's data, or null when it was refused.
 * @param {string} path
 * @param {object} payload
 * @param {{deleted?: number[]}} [options] the grids the change removes (a merge's second grid)
 * @returns {Promise<(DraftChange & {changed: any[]}) | null>}
 */
function send(path, payload, { deleted = [] } = {}) {
  return enqueue(async () => {
    const { open, conflict } = store.get();
    if (!open || open.status !== "draft" || conflict) return null;
    store.set({ busy: "save", notice: { kind: "info", text: text.saving } });
    const result = await api.post(apiUrl(path, open.number), { revision: open.revision, ...payload });
    saves += 1;
    body.dataset.saves = String(saves);
    if (!result.ok) {
      const stale = result.status === 409 && result.data?.code === "stale";
      store.set({
        busy: null,
        notice: { kind: "error", text: result.message },
        conflict: stale ? { message: text.staleTitle, since: result.data?.since ?? [] } : null,
      });
      if (result.data?.code === "published") await loadVersions(); // published meanwhile: read only now
      if (!stale) {
        await openVersion(open.number, { keepHistory: true }); // the map back to what is saved
        setNotice("error", result.message); // the reload's notices must not hide why
      }
      return null;
    }
    const data = /** @type {DraftChange} */ (result.data);
    const changed = gridsOf(data.grids || []);
    const grids = mergeGrids(store.get().grids, changed, deleted.concat(data.deleted || []));
    store.set({
      busy: null,
      open: { .../** @type {OpenVersion} */ (store.get().open), revision: data.revision },
      grids,
      problems: data.problems || [],
      notice: { kind: "ok", text: fill(text.saved, { revision: data.revision }) },
      impact: null,
      selected: store.get().selected.filter((id) => grids.some((g) => g.id === id)),
    });
    return { ...data, changed };
  });
}

/** The grids `ids` as the map now draws them, saved as one entry of the undo stack. */
async function saveEdit(ids) {
  const { grids } = store.get();
  const before = [];
  const after = [];
  for (const id of ids) {
    const grid = grids.find((g) => g.id === id);
    const layer = plannerMap.gridLayer(id);
    if (!grid || !layer) continue;
    const geometry = toMultiPolygon(layer.getLatLngs());
    if (sameGeometry(geometry, grid.geometry)) continue;
    before.push(featureOf(grid));
    after.push({ ...featureOf(grid), geometry });
  }
  if (!after.length) return;
  // The page shows the edit at once (the answer replaces these with the server's coordinates).
  for (const grid of after) plannerMap.markDrawn(grid.id, grid.geometry);
  store.set({ grids: grids.map((g) => after.find((a) => a.id === g.id) ? { ...g, geometry: after.find((a) => a.id === g.id).geometry } : g) });
  const data = await send(config.api.save, { upsert: after, delete: [] });
  if (data) remember({ op: "save", before, after });
}

async function saveGridFields(id, fields) {
  const grid = store.get().grids.find((g) => g.id === id);
  if (!grid) return;
  const after = { ...featureOf(grid), ...fields };
  const data = await send(config.api.save, { upsert: [after], delete: [] });
  if (data) remember({ op: "save", before: [featureOf(grid)], after: [after] });
}

async function deleteGrid(id) {
  const grid = store.get().grids.find((g) => g.id === id);
  if (!grid) return;
  const data = await send(config.api.save, { upsert: [], delete: [id] }, { deleted: [id] });
  if (data) {
    remember({ op: "save", before: [featureOf(grid)], after: [] });
    store.set({ selected: [] });
  }
}

/** Save the drawn polygon as a new grid with `fields` ({code, name, community}): an upsert without id. */
async function createGrid(fields) {
  const { pending } = store.get();
  if (!pending) return;
  const data = await send(config.api.save, { upsert: [{ id: null, ...fields, geometry: pending.geometry }], delete: [] });
  dropPending(); // saved: the server's grid is drawn instead; refused: the message says why
  if (!data) return;
  const created = data.changed.find((g) => g.code === fields.code) || data.changed[0];
  if (!created) return;
  remember({ op: "create", before: [], after: [featureOf(created)] });
  store.set({ selected: [created.id] });
  setNotice("ok", fill(text.created, { code: created.code }));
}

/** The undo entry of a server-side edit: every grid it wrote or deleted, as it was and as it is. */
function entryOf(op, gridsBefore, data) {
  const touched = new Set([...data.changed.map((g) => g.id), ...(data.deleted || [])]);
  return { op, before: gridsBefore.filter((g) => touched.has(g.id)).map(featureOf), after: data.changed.map(featureOf) };
}

async function splitSelected(line) {
  const { selected, grids } = store.get();
  store.set({ tool: null });
  if (selected.length !== 1) return;
  const grid = /** @type {PlannerGrid} */ (grids.find((g) => g.id === selected[0]));
  // The split also puts its new border points into the neighbours: they come back changed too.
  const data = await send(config.api.split, { grid: grid.id, line });
  if (!data) return;
  remember(entryOf("split", grids, data));
  store.set({ selected: data.changed.filter((g) => g.code === grid.code || g.code.startsWith(`${grid.code}-`)).map((g) => g.id) });
  setNotice("ok", fill(text.splitDone, { code: grid.code }));
}

async function mergeSelected() {
  const { selected, grids } = store.get();
  if (selected.length !== 2) {
    setNotice("info", text.mergePick);
    return;
  }
  const first = /** @type {PlannerGrid} */ (grids.find((g) => g.id === selected[0]));
  const data = await send(config.api.merge, { grids: selected }, { deleted: [selected[1]] });
  if (!data) return;
  remember(entryOf("merge", grids, data));
  store.set({ selected: [first.id] });
  setNotice("ok", fill(text.mergeDone, { code: first.code }));
}

/** Undo or redo: the plan of the entry sent as a normal save; grids recreated get new ids. */
async function travel(direction) {
  const entry = direction === "undo" ? history.undoable() : history.redoable();
  if (!entry) {
    setNotice("info", direction === "undo" ? text.nothingToUndo : text.nothingToRedo);
    return;
  }
  const plan = direction === "undo" ? undoPlan(entry) : redoPlan(entry);
  const existing = new Set(store.get().grids.map((g) => g.id));
  const recreated = plan.upsert.filter((g) => !existing.has(g.id));
  const upsert = plan.upsert.map((g) => (existing.has(g.id) ? g : { ...g, id: null }));
  const data = await send(config.api.save, { upsert, delete: plan.delete }, { deleted: plan.delete });
  if (!data) return;
  if (direction === "undo") history.undone();
  else history.redone();
  if (recreated.length) history.renumber(newIds(recreated, data.changed));
  store.set({ historySize: history.size }); // the undo and redo buttons follow
  setNotice("ok", direction === "undo" ? text.undone : text.redone);
}

// ---- selection and tools -------------------------------------------------------------------------

function select(id, add, zoom) {
  const { selected, tool } = store.get();
  if (tool === "split" || tool === "draw") return;
  let next;
  if (add) next = selected.includes(id) ? selected.filter((s) => s !== id) : [...selected, id].slice(-2);
  else next = [id];
  store.set({ selected: next });
  if (zoom) {
    const grid = store.get().grids.find((g) => g.id === id);
    plannerMap.fitTo(boundsOf(grid?.geometry), 17);
  }
}

function setTool(tool) {
  const state = store.get();
  if (state.open?.status !== "draft") return;
  const next = state.tool === tool ? null : tool;
  if (next === "draw") dropPending(); // a new drawing replaces one not saved
  if ((next === "split" || next === "edit") && state.selected.length !== 1) {
    setNotice("info", text.selectFirst);
    return;
  }
  store.set({ tool: next });
}

byId("pl-tool-edit").addEventListener("click", () => setTool("edit"));
byId("pl-tool-split").addEventListener("click", () => setTool("split"));
byId("pl-tool-draw").addEventListener("click", () => setTool("draw"));
byId("pl-tool-merge").addEventListener("click", () => mergeSelected());
byId("pl-undo").addEventListener("click", () => travel("undo"));
byId("pl-redo").addEventListener("click", () => travel("redo"));
document.addEventListener("keydown", (event) => {
  if (/** @type {{closest?: Element["closest"]}} */ (event.target).closest?.("input, select, textarea")) return;
  const key = event.key.toLowerCase();
  if ((event.ctrlKey || event.metaKey) && key === "z") {
    event.preventDefault();
    travel(event.shiftKey ? "redo" : "undo");
  } else if ((event.ctrlKey || event.metaKey) && key === "y") {
    event.preventDefault();
    travel("redo");
  } else if (key === "escape") {
    store.set({ tool: null });
  }
});

// ---- presence --------------------------------------------------------------------------------------

async function presence() {
  const { open, busy } = store.get();
  if (!open || open.status !== "draft" || document.hidden) return;
  const result = await api.post(apiUrl(config.api.presence, open.number), {});
  if (!result.ok || store.get().open?.number !== open.number) return;
  const data = /** @type {Presence} */ (result.data);
  if (data.status === "published") {
    // Someone published the draft meanwhile: it is a version now, read only.
    await loadVersions();
    await openVersion(open.number);
    return;
  }
  const now = /** @type {OpenVersion} */ (store.get().open);
  const patch = { editors: data.editors || [] };
  if (busy === null && store.get().busy === null && aheadOf(data.revision, now.revision)) {
    // Told, not enforced: the next save of ours is refused as stale and shows what changed.
    const last = data.last_save;
    patch.othersSave = { name: last?.name || last?.user || "", revision: data.revision, at: last?.at ?? new Date().toISOString() };
  }
  store.set(patch);
}
setInterval(presence, config.presenceSeconds * 1000);

// ---- tabs' actions ---------------------------------------------------------------------------------

async function loadImpact() {
  const open = /** @type {OpenVersion} */ (store.get().open); // its tab acts on an open draft only
  store.set({ busy: "impact", notice: { kind: "info", text: text.loading } });
  const result = await api.get(apiUrl(config.api.impact, open.number));
  store.set({ busy: null, notice: result.ok ? null : { kind: "error", text: result.message }, impact: result.ok ? result.data : null });
}

async function staffMove(member, grid, name) {
  const open = /** @type {OpenVersion} */ (store.get().open); // its tab acts on an open draft only
  store.set({ busy: "move" });
  const result = await api.post(apiUrl(config.api.staffMoves, open.number), { member, grid });
  store.set({ busy: null });
  if (!result.ok) {
    setNotice("error", result.message);
    return;
  }
  const target = store.get().grids.find((g) => g.id === grid);
  setNotice("ok", fill(text.moveSaved, { name, grid: target ? target.code : text.noGrid }));
  await loadImpact();
}

/**
 * Publish the open draft as of `revision` (the one the publish tab showed). Refused: the message
 * in the tab and the status line; a stale revision also opens the conflict box (who saved what
 * since, and a reload), a draft published meanwhile reloads the versions.
 */
async function publish(effectiveFrom, revision) {
  const open = /** @type {OpenVersion} */ (store.get().open); // its tab acts on an open draft only
  store.set({ busy: "publish", publishRefusal: null });
  const payload = { revision, ...(effectiveFrom ? { effective_from: effectiveFrom } : {}) };
  const result = await api.post(apiUrl(config.api.publish, open.number), payload);
  store.set({ busy: null });
  if (!result.ok) {
    const problems = result.data?.problems;
    if (problems) store.set({ problems });
    const code = result.status === 409 ? result.data?.code : null;
    store.set({
      publishRefusal: result.message,
      ...(code === "stale" ? { conflict: { message: text.staleTitle, since: result.data?.since ?? [] } } : {}),
    });
    setNotice("error", result.message);
    if (code === "published") await loadVersions();
    return;
  }
  history.clear();
  await loadVersions();
  const published = /** @type {Published} */ (result.data);
  await openVersion(published.number);
  setNotice("ok", fill(text.published, { number: published.number, time: new Date(published.effective_from).toLocaleString(config.language) }));
}

async function compare(a, b) {
  if (!a || !b || a === b) {
    setNotice("info", text.compareNeedTwo);
    return;
  }
  store.set({ busy: "compare" });
  const result = await api.get(apiUrl(config.api.compare, null, { a, b }));
  store.set({ busy: null });
  if (!result.ok) {
    setNotice("error", result.message);
    return;
  }
  const answer = /** @type {Compare} */ (result.data);
  store.set({ compare: { ...answer, a, b } });
  const changed = answer.changed?.features || [];
  plannerMap.drawCompare(changed.map((f) => ({ geometry: f.geometry, label: `${f.properties?.code ?? ""} ${config.compareStatuses[f.properties?.status] ?? ""}` })));
}

async function loadAssignments() {
  store.set({ assignments: undefined });
  const [result, grids] = await Promise.all([api.get(apiUrl(config.api.assignments)), api.get(apiUrl(config.api.grids))]);
  if (!result.ok || !grids.ok) {
    store.set({ assignments: false });
    setNotice("error", (result.ok ? grids : result).message);
    return;
  }
  store.set({ assignments: { ...result.data, grids: gridsOf(grids.data) } });
}

async function saveAssignment(member, grids, name) {
  store.set({ busy: "assign" });
  const result = await api.post(apiUrl(config.api.assignments), { member, grids });
  store.set({ busy: null });
  if (!result.ok) {
    setNotice("error", result.message);
    return;
  }
  setNotice("ok", fill(text.assignSaved, { name }));
  await loadAssignments();
}

function importForm(file, label) {
  const form = new FormData();
  form.append("file", file, file.name);
  if (label) form.append("label", label);
  return form;
}

async function importCheck(file, label) {
  store.set({ busy: "import", importCheck: null });
  const result = await api.postForm(apiUrl(config.api.import, null, { dry_run: 1 }), importForm(file, label));
  store.set({
    busy: null,
    importCheck: result.ok
      ? { ok: true, grids: (/** @type {ImportCheck} */ (result.data).grids?.features || []).length, problems: /** @type {ImportCheck} */ (result.data).problems || [] }
      : { ok: false, message: result.message },
  });
}

async function importCreate(file, label) {
  store.set({ busy: "import" });
  const result = await api.postForm(apiUrl(config.api.import), importForm(file, label));
  store.set({ busy: null });
  if (!result.ok) {
    store.set({ importCheck: { ok: false, message: result.message } });
    return;
  }
  store.set({ importCheck: null });
  await loadVersions();
  const imported = /** @type {Imported} */ (result.data);
  await openVersion(imported.number);
  setNotice("ok", fill(text.importDone, { number: imported.number }));
}

// ---- views -----------------------------------------------------------------------------------------

const head = createHeadView({
  config, text,
  onOpen: (n) => openVersion(n),
  onStart: (n) => startDraft(n),
  onReload: () => {
    const { open } = store.get();
    store.set({ conflict: null, othersSave: null });
    if (open) openVersion(open.number, { keepHistory: true });
  },
});
const tabs = createTabs({ onSelect: (tab) => store.set({ tab }) });
const views = [
  head,
  tabs,
  createGridsPanel({
    element: byId("pl-panel-grids"), text, onSelect: select, onSaveGrid: saveGridFields, onDeleteGrid: deleteGrid,
    onCreateGrid: createGrid, onCancelNew: dropPending,
  }),
  createProblemsPanel({
    element: byId("pl-panel-problems"), config, text,
    onZoom: (index) => plannerMap.fitTo(boundsOf(store.get().problems[index]?.where)),
  }),
  createImpactPanel({ element: byId("pl-panel-impact"), config, text, onLoad: loadImpact, onStaffMove: staffMove }),
  createPublishPanel({ element: byId("pl-panel-publish"), text, onPublish: publish }),
  createVersionsPanel({
    element: byId("pl-panel-versions"), config, text,
    onOpen: (n) => openVersion(n), onStart: (n) => startDraft(n), onCompare: compare,
  }),
  createAssignPanel({ element: byId("pl-panel-assign"), config, text, onLoad: loadAssignments, onSave: saveAssignment }),
  createFilesPanel({
    element: byId("pl-panel-files"), config, text, onCheck: importCheck, onCreate: importCreate,
    exportUrl: (n, format, crs) => apiUrl(config.api.export, n, { format, crs }),
  }),
];

const hint = byId("pl-hint");
const toolButtons = [.../** @type {NodeListOf<HTMLButtonElement>} */ (document.querySelectorAll("#pl-tools [data-tool]"))];
/** What the map drew last, to redraw only what changed (compared by identity). @type {{[K in "grids" | "open" | "problems" | "selected" | "tool" | "impact"]: PlannerState[K] | null}} */
let drawn = { grids: null, open: null, problems: null, selected: null, tool: null, impact: null };

function impactItems(impact) {
  if (!impact) return [];
  const points = [...(impact.places || []), ...(impact.addresses || []), ...(impact.incidents || [])];
  return points
    .filter((p) => Array.isArray(p.point))
    .map((p) => ({ geometry: { type: "Point", coordinates: p.point }, label: `${p.name ?? p.text ?? p.number ?? ""}: ${p.old ?? "–"} → ${p.new ?? "–"}` }));
}

store.subscribe((state) => {
  for (const view of views) view.render(state);
  const isDraft = state.open?.status === "draft";
  if (state.grids !== drawn.grids || state.open !== drawn.open) {
    const before = new Map([...plannerMap.gridLayers()].map(([id, layer]) => [id, layer.getLatLngs()]));
    plannerMap.showGrids(state.grids, isDraft);
    const redrawn = [...plannerMap.gridLayers()].filter(([id, layer]) => before.get(id) !== layer.getLatLngs()).map(([id]) => id);
    editor.refresh(redrawn);
  }
  if (state.problems !== drawn.problems) {
    plannerMap.drawProblems(state.problems.map((p) => ({ geometry: p.where, label: p.message })));
    body.dataset.problems = String(state.problems.length);
  }
  if (state.impact !== drawn.impact) plannerMap.drawImpact(impactItems(state.impact));
  if (state.selected !== drawn.selected || state.grids !== drawn.grids) plannerMap.setSelected(state.selected);
  if (state.tool !== drawn.tool || state.selected !== drawn.selected || state.open !== drawn.open) {
    const editing = isDraft && state.tool === "edit" && state.selected.length === 1 ? state.selected[0] : null;
    editor.split(isDraft && state.tool === "split");
    editor.draw(isDraft && state.tool === "draw");
    if (state.tool !== "split" && state.tool !== "draw") editor.edit(editing);
  }
  for (const button of toolButtons) {
    button.setAttribute("aria-pressed", String(state.tool === button.dataset.tool));
    button.disabled = !isDraft;
  }
  /** @type {HTMLButtonElement} */ (byId("pl-tool-merge")).disabled = !isDraft || state.selected.length !== 2;
  /** @type {HTMLButtonElement} */ (byId("pl-undo")).disabled = !isDraft || !history.undoable() || state.busy !== null;
  /** @type {HTMLButtonElement} */ (byId("pl-redo")).disabled = !isDraft || !history.redoable() || state.busy !== null;
  const selectedGrid = state.grids.find((g) => g.id === state.selected[0]);
  hint.textContent = state.tool === "edit" ? text.editHint
    : state.tool === "split" ? text.splitHint
      : state.tool === "draw" ? text.drawHint
      : isDraft && state.selected.length === 1 ? fill(text.mergeHint, { code: selectedGrid?.code ?? "" }) : "";
  body.dataset.revision = String(state.open?.revision ?? "");
  body.dataset.tool = state.tool ?? "";
  drawn = { grids: state.grids, open: state.open, problems: state.problems, selected: state.selected, tool: state.tool, impact: state.impact };
});

// ---- start -------------------------------------------------------------------------------------------

(async () => {
  store.set({ notice: { kind: "info", text: text.loading } });
  const [versions] = await Promise.all([loadVersions(), loadCommunities(), plannerMap.loadBase()]);
  const draft = versions.find((v) => v.status === "draft");
  const force = versions.find((v) => v.in_force);
  const first = draft || force || versions[0];
  if (first) await openVersion(first.number);
  else store.set({ notice: null });
  body.dataset.plannerReady = "1";
})();
