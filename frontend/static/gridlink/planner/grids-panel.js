// The "Grids" tab: the open version's grids as a list (click: select and zoom; shift- or
// ctrl-click: add to the selection, for a merge), and the selected draft grid's code, name and
// community, saved like any other edit (one entry of the undo stack), or the grid deleted. A new
// grid just drawn (state.pending) gets the same fields first, saved by `onCreateGrid` or dropped by
// `onCancelNew`.

import { el, replace } from "../m/dom.js";
import { fill } from "../m/format.js";

export function createGridsPanel({ element, text, onSelect, onSaveGrid, onDeleteGrid, onCreateGrid, onCancelNew }) {
  let shown = null;
  let confirmDelete = null; // the grid id whose deletion waits for a second click

  /** The fields of `grid` (a new one: id null) in a form; `fields` → {code, name, community}. */
  function fieldsOf(grid, communities) {
    const code = el("input", { className: "pl-input", value: grid.code, maxlength: 32, "data-testid": "grid-code" });
    const name = el("input", { className: "pl-input", value: grid.name, maxlength: 64, "data-testid": "grid-name" });
    const community = el("select", { className: "pl-input", "data-testid": "grid-community" }, [
      el("option", { value: "", text: text.noCommunity }),
      ...communities.map((c) => el("option", { value: c.id, text: `${c.code} ${c.name}` })),
    ]);
    community.value = grid.community === null ? "" : String(grid.community);
    const values = () => ({
      code: code.value.trim(),
      name: name.value.trim(),
      community: community.value === "" ? null : Number(community.value),
    });
    return { code, name, community, values };
  }

  function newForm(communities, busy) {
    const { code, name, community, values } = fieldsOf({ code: "", name: "", community: null }, communities);
    code.required = true;
    name.required = true;
    const create = el("button", { type: "submit", className: "pl-btn pl-btn-primary", text: text.createGrid, disabled: busy, "data-testid": "new-grid-save" });
    const cancel = el("button", { type: "button", className: "pl-btn", text: text.cancel, disabled: busy, "data-testid": "new-grid-cancel" });
    cancel.addEventListener("click", () => onCancelNew());
    const f = el("form", { className: "pl-form", "data-testid": "new-grid-form" }, [
      el("p", { className: "pl-muted", text: text.newGridTitle }),
      el("label", { className: "pl-field" }, [text.code, code]),
      el("label", { className: "pl-field" }, [text.name, name]),
      el("label", { className: "pl-field" }, [text.community, community]),
      el("div", { className: "pl-row" }, [create, cancel]),
    ]);
    f.addEventListener("submit", (event) => {
      event.preventDefault();
      onCreateGrid(values());
    });
    queueMicrotask(() => code.focus());
    return f;
  }

  function form(grid, communities, busy) {
    const { code, name, community, values } = fieldsOf(grid, communities);
    const save = el("button", { type: "submit", className: "pl-btn pl-btn-primary", text: text.saveGrid, disabled: busy });
    const asking = confirmDelete === grid.id;
    const remove = el("button", {
      type: "button", className: "pl-btn pl-btn-danger", disabled: busy,
      text: asking ? fill(text.deleteConfirm, { code: grid.code }) : text.deleteGrid,
    });
    remove.addEventListener("click", () => {
      if (confirmDelete === grid.id) {
        confirmDelete = null;
        onDeleteGrid(grid.id);
      } else {
        confirmDelete = grid.id;
        remove.textContent = fill(text.deleteConfirm, { code: grid.code });
      }
    });
    const f = el("form", { className: "pl-form", "data-testid": "grid-form" }, [
      el("label", { className: "pl-field" }, [text.code, code]),
      el("label", { className: "pl-field" }, [text.name, name]),
      el("label", { className: "pl-field" }, [text.community, community]),
      el("div", { className: "pl-row" }, [save, remove]),
    ]);
    f.addEventListener("submit", (event) => {
      event.preventDefault();
      onSaveGrid(grid.id, values());
    });
    return f;
  }

  return {
    /** @param {import("./app.js").PlannerState} state */
    render(state) {
      const key = [state.grids, state.selected, state.open, state.communities, state.busy, state.pending];
      if (shown && key.every((part, i) => part === shown[i])) return;
      shown = key;
      const selected = new Set(state.selected);
      const isDraft = state.open?.status === "draft";
      const one = state.selected.length === 1 ? state.grids.find((g) => g.id === state.selected[0]) : null;
      const items = state.grids.map((grid) => {
        const button = el("button", {
          type: "button", className: "pl-item", "aria-pressed": String(selected.has(grid.id)),
          "data-testid": "grid-item", "data-code": grid.code, "data-id": grid.id,
        }, [el("strong", { text: grid.code }), " ", el("span", { text: grid.name }), " ",
          el("span", { className: "pl-muted", text: grid.community_name })]);
        button.addEventListener("click", (event) => onSelect(grid.id, event.shiftKey || event.ctrlKey || event.metaKey, true));
        return el("li", {}, [button]);
      });
      replace(element,
        isDraft && state.pending ? newForm(state.communities, state.busy !== null)
          : isDraft && one ? form(one, state.communities, state.busy !== null) : null,
        el("p", { className: "pl-muted", text: fill(text.grids, { count: state.grids.length }) }),
        el("ul", { className: "pl-list", "data-testid": "grid-list" }, items));
    },
  };
}
