// The "Versions" tab: every version of the sub-district (number, label, status, in force from, who
// drafted it) — open one, start a draft from one — and the comparison of two: a table of grids
// added, removed and changed with the change of area, and the changes shaded on the map.

import { el, replace } from "../m/dom.js";
import { formatDateTime } from "../m/format.js";
import { formatArea } from "./format.js";

export function createVersionsPanel({ element, config, text, onOpen, onStart, onCompare }) {
  let shown = null;
  return {
    /** @param {import("./app.js").PlannerState} state */
    render(state) {
      const key = [state.versions, state.compare, state.busy, state.open];
      if (shown && key.every((part, i) => part === shown[i])) return;
      shown = key;
      const rows = state.versions.map((v) => {
        const open = el("button", { type: "button", className: "pl-btn pl-btn-small", text: text.open });
        open.addEventListener("click", () => onOpen(v.number));
        const start = el("button", { type: "button", className: "pl-btn pl-btn-small", text: text.startFrom, disabled: state.busy !== null });
        start.addEventListener("click", () => onStart(v.number));
        const status = v.status === "draft" ? text.statusDraft : v.in_force ? text.inForce : text.statusPublished;
        return el("tr", { "data-testid": "version-row", "data-number": v.number }, [
          el("td", { text: v.number }), el("td", { text: v.label || "" }), el("td", { text: status }),
          el("td", { text: formatDateTime(v.effective_from, config.timeZone) }),
          el("td", { text: v.created_by || "" }), el("td", { text: v.grids ?? "" }),
          el("td", {}, [open, " ", start]),
        ]);
      });
      const choice = (name) => {
        const select = el("select", { className: "pl-input", "data-testid": `compare-${name}` },
          state.versions.map((v) => el("option", { value: v.number, text: String(v.number) })));
        return select;
      };
      const a = choice("a");
      const b = choice("b");
      if (state.versions.length > 1) {
        a.value = String(state.compare?.a ?? state.versions[1].number);
        b.value = String(state.compare?.b ?? state.versions[0].number);
      }
      const go = el("button", { type: "button", className: "pl-btn", text: text.compare, disabled: state.busy !== null, "data-testid": "compare" });
      go.addEventListener("click", () => onCompare(Number(a.value), Number(b.value)));
      const compared = state.compare;
      let result = null;
      if (compared) {
        const changes = (compared.grids || []).filter((g) => g.status !== "unchanged");
        result = changes.length
          ? el("table", { className: "pl-table", "data-testid": "compare-table" }, [
            el("thead", {}, [el("tr", {}, [text.code, text.name, text.change, text.areaChange].map((h) => el("th", { text: h })))]),
            el("tbody", {}, changes.map((g) => el("tr", { "data-status": g.status }, [
              el("td", { text: g.code }), el("td", { text: g.b_name || g.a_name || "" }),
              el("td", { text: config.compareStatuses[g.status] || g.status }),
              el("td", { text: formatArea(g.area_change_m2) }),
            ]))),
          ])
          : el("p", { className: "pl-muted", text: text.noChanges });
      }
      replace(element,
        el("table", { className: "pl-table", "data-testid": "versions" }, [
          el("thead", {}, [el("tr", {}, [text.number, text.label, text.status, text.effective, text.createdBy, text.grid, ""]
            .map((h) => el("th", { text: h })))]),
          el("tbody", {}, rows),
        ]),
        el("div", { className: "pl-row" }, [el("label", { className: "pl-field" }, [text.compareA, a]),
          el("label", { className: "pl-field" }, [text.compareB, b]), go]),
        result);
    },
  };
}
