// The "Impact" tab: what publishing the draft would change (planner.services.draft_impact) — the
// grid workers and leaders with the grid each would serve (a select overrides the proposal: a staff
// move), the places and addresses and the open incidents that change grid, and each grid's load
// (incidents of the last 12 months) now and in the draft. The map highlights the points.

import { el, replace } from "../m/dom.js";

function table(headers, rows, testid) {
  return el("table", { className: "pl-table", "data-testid": testid }, [
    el("thead", {}, [el("tr", {}, headers.map((h) => el("th", { text: h })))]),
    el("tbody", {}, rows),
  ]);
}

const cell = (value) => el("td", { text: value ?? "" });

export function createImpactPanel({ element, config, text, onLoad, onStaffMove }) {
  let shown = null;
  return {
    /** @param {import("./app.js").PlannerState} state */
    render(state) {
      const key = [state.impact, state.grids, state.open, state.busy];
      if (shown && key.every((part, i) => part === shown[i])) return;
      shown = key;
      if (state.open?.status !== "draft") {
        replace(element);
        return;
      }
      const load = el("button", { type: "button", className: "pl-btn", text: text.impactLoad, disabled: state.busy !== null, "data-testid": "impact-load" });
      load.addEventListener("click", onLoad);
      const impact = state.impact;
      if (!impact) {
        replace(element, load);
        return;
      }
      const members = (impact.members || []).map((m) => {
        const choose = el("select", { className: "pl-input", "data-testid": "staff-move", "data-member": m.member }, [
          el("option", { value: "", text: text.noGrid }),
          ...state.grids.map((g) => el("option", { value: g.id, text: `${g.code} ${g.name}` })),
        ]);
        choose.value = m.grid === null || m.grid === undefined ? "" : String(m.grid);
        choose.disabled = state.busy !== null;
        choose.addEventListener("change", () => onStaffMove(m.member, choose.value === "" ? null : Number(choose.value), m.name));
        return el("tr", {}, [cell(m.name), cell(m.force_display || config.forces[m.force] || m.force), cell(m.old_grid),
          el("td", {}, [choose]), cell(config.reasons[m.reason] || m.reason)]);
      });
      const places = [...(impact.places || []), ...(impact.addresses || [])]
        .map((p) => el("tr", {}, [cell("name" in p ? p.name : p.text), cell(p.old), cell(p.new)]));
      const incidents = (impact.incidents || []).map((i) => el("tr", {}, [cell(i.number), cell(i.old), cell(i.new)]));
      const loads = (impact.loads || []).map((l) => el("tr", {}, [cell(l.code), cell(l.old), cell(l.new)]));
      const none = el("p", { className: "pl-muted", text: text.none });
      replace(element,
        load,
        el("h3", { text: text.members }),
        members.length ? table([text.member, text.force, text.oldGrid, text.newGrid, text.reason], members, "impact-members") : none.cloneNode(true),
        el("h3", { text: text.places }),
        places.length ? table([text.placeName, text.oldGrid, text.newGrid], places, "impact-places") : none.cloneNode(true),
        el("h3", { text: text.incidents }),
        incidents.length ? table([text.incident, text.oldGrid, text.newGrid], incidents, "impact-incidents") : none.cloneNode(true),
        el("h3", { text: text.loads }),
        loads.length ? table([text.grid, text.loadOld, text.loadNew], loads, "impact-loads") : none.cloneNode(true),
      );
    },
  };
}
