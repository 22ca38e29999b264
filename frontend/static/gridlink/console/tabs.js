// The side panels' tabs: .panel-tab[data-tab=name] buttons, each showing its [data-panel=name].

/**
 * Wires the tabs of `container`; `onChange(name)` after a tab is chosen.
 * @param {HTMLElement} container
 * @param {(name: string) => void} [onChange]
 */
export function setupTabs(container, onChange = () => {}) {
  const tabs = /** @type {NodeListOf<HTMLElement>} */ (container.querySelectorAll(".panel-tab"));
  tabs.forEach((tab) => {
    tab.addEventListener("click", () => {
      tabs.forEach((other) => {
        const on = other === tab;
        other.classList.toggle("is-active", on);
        other.setAttribute("aria-selected", on ? "true" : "false");
        /** @type {HTMLElement} */ (container.querySelector(`[data-panel="${other.dataset.tab}"]`)).hidden = !on;
      });
      onChange(tab.dataset.tab || "");
    });
  });
}

/** Chooses the tab `name` of `container` unless it is the active one. @param {HTMLElement} container @param {string} name */
export function activateTab(container, name) {
  const tab = /** @type {HTMLElement | null} */ (container.querySelector(`.panel-tab[data-tab="${name}"]`));
  if (tab && !tab.classList.contains("is-active")) tab.click();
}
