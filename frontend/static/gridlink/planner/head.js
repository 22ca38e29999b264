// The top of the side panel: the version chooser, the open version's title and revision, who else
// edits the draft, the status line, and the conflict box (a save refused as stale, or a colleague's
// newer revision) with its reload button.

import { el, replace } from "../m/dom.js";
import { fill, formatDateTime } from "../m/format.js";
import { otherEditors, sinceLines } from "./format.js";

export function createHeadView({ config, text, onOpen, onStart, onReload }) {
  /** The page's element with this id: its template renders every one this module asks for. @param {string} id */
  const byId = (id) => /** @type {HTMLElement} */ (document.getElementById(id));
  const select = /** @type {HTMLSelectElement} */ (byId("pl-version"));
  const start = /** @type {HTMLButtonElement} */ (byId("pl-start"));
  const title = byId("pl-title");
  const presence = byId("pl-presence");
  const status = byId("pl-status");
  const conflict = byId("pl-conflict");
  let shownVersions = null;

  select.addEventListener("change", () => onOpen(Number(select.value)));
  start.addEventListener("click", () => onStart(Number(select.value)));

  function versionLabel(v) {
    const state = v.status === "draft" ? text.statusDraft : v.in_force ? text.inForce : text.statusPublished;
    return `${v.number} · ${state}${v.label ? ` · ${v.label}` : ""}`;
  }

  return {
    /** @param {import("./app.js").PlannerState} state */
    render(state) {
      if (state.versions !== shownVersions) {
        shownVersions = state.versions;
        replace(select, state.versions.map((v) => el("option", { value: v.number, text: versionLabel(v) })));
      }
      if (state.open) select.value = String(state.open.number);
      start.disabled = state.busy !== null || !state.versions.length;
      const open = state.open;
      if (!open) title.textContent = text.noDraft;
      else if (open.status === "draft") title.textContent = fill(text.draftTitle, open);
      else title.textContent = fill(text.viewTitle, { number: open.number, status: text.statusPublished });
      title.dataset.revision = String(open?.revision ?? "");

      const names = open?.status === "draft" ? otherEditors(state.editors, config.user.username) : [];
      const lines = [];
      if (open?.status === "draft") lines.push(names.length ? fill(text.editing, { names: names.join("、") }) : text.aloneEditing);
      if (state.othersSave) {
        lines.push(fill(text.savedBy, {
          name: state.othersSave.name, revision: state.othersSave.revision,
          time: formatDateTime(state.othersSave.at, config.timeZone),
        }));
      }
      presence.textContent = lines.join(" ");
      presence.dataset.others = String(names.length);

      status.textContent = state.notice?.text || "";
      status.dataset.kind = state.notice?.kind || "";

      const c = state.conflict;
      conflict.hidden = !c;
      if (c) {
        const reload = el("button", { type: "button", className: "pl-btn pl-btn-primary", text: text.staleReload, "data-testid": "reload" });
        reload.addEventListener("click", onReload);
        replace(conflict,
          el("p", { className: "pl-conflict-title", text: c.message }),
          el("ul", { className: "pl-conflict-list" },
            sinceLines(c.since, text, config.saveOps, config.timeZone).map((line) => el("li", { text: line }))),
          reload);
      }
    },
  };
}
