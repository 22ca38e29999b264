// The console of call-takers, dispatchers and the command room (/console/), entry module: hotline
// intake with address search and a pin on the map (call-form.js), joint-consultation assignment
// forms (assign-form.js), the live queue and the "needs location" queue (queues.js) and the
// call-backs to make (callbacks.js) around the map (map.js) — all through the REST API (/api/v1/).
//
// Configuration and words come from the json_script #console-config (frontend/console_views.py);
// the statuses and the time zone from the shared #gridlink-shared (core/shared.js). Every text
// from data (descriptions, names, addresses: typed by the public) goes into the page with
// textContent.
//
// The queues are polled every `pollSeconds` while the page is visible; a case just taken (or
// linked to, or located) is highlighted in the live queue for 20 s and its marker until the next.
//
// Test hooks on <body>: data-queue-loaded / data-locate-loaded / data-callbacks-loaded = number of
// rows once a queue is drawn; data-where = "grid" | "outside" | "none" once the call pin's grid is
// known; data-map-ready = "1" once the basemap has settled (core/basemap.js).

import { url } from "../core/http.js";
import { pageConfig, shared } from "../core/shared.js";
import { createAssignForm } from "./assign-form.js";
import { createCallForm } from "./call-form.js";
import { createCallbacks } from "./callbacks.js";
import { caseView, createHighlight, indexByCode } from "./cases.js";
import { createConsoleMap } from "./map.js";
import { createQueues } from "./queues.js";
import { activateTab, setupTabs } from "./tabs.js";
import { createWhere } from "./where.js";

const config = pageConfig("console-config");
const text = config.text;
const categories = indexByCode(config.categories);
const toView = (/** @type {import("./types.js").CaseRow} */ row) => caseView(row, { categories, statuses: shared.statuses });
const hrefOf = (/** @type {number} */ id) => url(config.pages.incident, id);
const left = /** @type {HTMLElement} */ (document.querySelector(".console-left"));
const right = /** @type {HTMLElement} */ (document.querySelector(".console-right"));
const highlight = createHighlight();
/** @type {"call" | "assign"} */
let activeForm = "call"; // the left panel's tab: whose pin a click on the map puts

const where = createWhere({ url: config.api.locate, subdistrict: config.subdistrict, text });
const map = createConsoleMap("console-map", {
  config,
  text,
  hrefOf,
  banner: /** @type {HTMLElement} */ (document.querySelector(".map-banner")),
  onClick: (latlng) => map.setPin(queues.locating() ? "locate" : activeForm, latlng),
  onPinMoved: (kind) => pinMoved[kind](),
});

let refreshing = false;
/** Reloads the queues and the call-backs (one reload at a time). */
async function refresh() {
  if (refreshing) return;
  refreshing = true;
  try {
    await Promise.all([queues.load(), callbacks.load(false)]);
  } catch (error) {
    console.error(error);
  } finally {
    refreshing = false;
  }
}

const queues = createQueues({ config, text, map, where, toView, hrefOf, highlight, refresh });
const callbacks = createCallbacks({ list: document.getElementById("callback-queue"), config, text, hrefOf, onReopened: refresh });
const callForm = createCallForm({
  form: /** @type {HTMLFormElement} */ (document.getElementById("call-form")),
  config,
  text,
  categories,
  map,
  where,
  toView,
  hrefOf,
  onTaken(incident) {
    highlight.set(incident.id);
    activateTab(right, "queue");
    refresh();
  },
});
const assignForm = createAssignForm({
  form: /** @type {HTMLFormElement} */ (document.getElementById("assign-form")),
  config,
  text,
  map,
  where,
  onTaken(incident) {
    highlight.set(incident.id);
    refresh();
  },
});
const pinMoved = { call: callForm.pinMoved, assign: assignForm.pinMoved, locate: queues.renderLocate };

setupTabs(left, (tab) => {
  activeForm = tab === "assign" ? "assign" : "call";
  map.showPinsFor(tab, queues.locating());
});
setupTabs(right);

refresh();
setInterval(() => {
  if (!document.hidden) refresh();
}, (config.pollSeconds || 10) * 1000);
