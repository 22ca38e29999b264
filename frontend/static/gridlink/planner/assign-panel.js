// The "Assign" tab: grid workers and grid leaders with the grids they serve in the version in force;
// a member's grids changed here (a multiple select) go to the assignments API.

import { el, replace } from "../m/dom.js";

export function createAssignPanel({ element, config, text, onLoad, onSave }) {
  let shown = null;
  let filter = "";
  const search = el("input", { type: "search", className: "pl-input", placeholder: text.assignFilter, "data-testid": "assign-filter" });
  const body = el("tbody");
  search.addEventListener("input", () => {
    filter = search.value.trim().toLowerCase();
    for (const row of body.children) row.hidden = Boolean(filter) && !row.dataset.search.includes(filter);
  });
  return {
    /** @param {import("./app.js").PlannerState} state */
    render(state) {
      if (state.tab !== "assign") return;
      if (!state.assignments) {
        if (state.assignments === null) onLoad();
        return;
      }
      const key = [state.assignments, state.busy];
      if (shown && key.every((part, i) => part === shown[i])) return;
      shown = key;
      const { members = [], grids = [] } = state.assignments;
      replace(body, members.map((m) => {
        const select = el("select", { className: "pl-input", multiple: true, size: 3, "data-testid": "assign-grids" },
          grids.map((g) => el("option", { value: g.id, text: `${g.code} ${g.name}` })));
        const mine = new Set((m.grids || []).map((g) => (typeof g === "object" ? g.id : g)));
        for (const option of select.options) option.selected = mine.has(Number(option.value));
        const save = el("button", { type: "button", className: "pl-btn pl-btn-small", text: text.assignSave, disabled: state.busy !== null });
        save.addEventListener("click", () => onSave(m.member, [...select.selectedOptions].map((o) => Number(o.value)), m.name));
        const codes = (m.grids || []).map((g) => (typeof g === "object" ? g.code : "")).join(" ");
        const row = el("tr", { "data-search": `${m.name} ${codes}`.toLowerCase() }, [
          el("td", { text: m.name }), el("td", { text: m.force_display || config.forces[m.force] || m.force || "" }),
          el("td", {}, [select]), el("td", {}, [save]),
        ]);
        row.hidden = Boolean(filter) && !row.dataset.search.includes(filter);
        return row;
      }));
      replace(element, search, el("table", { className: "pl-table", "data-testid": "assignments" }, [
        el("thead", {}, [el("tr", {}, [text.member, text.force, text.assignGrids, ""].map((h) => el("th", { text: h })))]),
        body,
      ]));
    },
  };
}
