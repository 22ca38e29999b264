// The side panel's tabs: one panel shown at a time; the store holds which.

export function createTabs({ onSelect }) {
  const buttons = [.../** @type {NodeListOf<HTMLButtonElement>} */ (document.querySelectorAll("#pl-tabs [data-tab]"))];
  const panels = [.../** @type {NodeListOf<HTMLElement>} */ (document.querySelectorAll(".pl-panel[data-panel]"))];
  for (const button of buttons) button.addEventListener("click", () => onSelect(button.dataset.tab));
  return {
    /** @param {import("./app.js").PlannerState} state */
    render(state) {
      for (const button of buttons) button.setAttribute("aria-selected", String(button.dataset.tab === state.tab));
      for (const panel of panels) panel.hidden = panel.dataset.panel !== state.tab;
      const count = /** @type {HTMLElement} */ (document.getElementById("pl-problem-count"));
      count.textContent = state.open?.status === "draft" ? String(state.problems.length) : "";
      count.dataset.count = String(state.problems.length);
    },
  };
}
