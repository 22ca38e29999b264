// The "Problems" tab: the draft's validation (every save answers it), one line per problem with
// its kind and the server's message; a click zooms to where it is. The map draws the same problems
// (app.js hands them to map.js).

import { el, replace } from "../m/dom.js";
import { fill } from "../m/format.js";
import { formatArea } from "./format.js";

export function createProblemsPanel({ element, config, text, onZoom }) {
  let shown = null;
  return {
    /** @param {import("./app.js").PlannerState} state */
    render(state) {
      const key = [state.problems, state.open];
      if (shown && key.every((part, i) => part === shown[i])) return;
      shown = key;
      if (state.open?.status !== "draft") {
        replace(element);
        return;
      }
      if (!state.problems.length) {
        replace(element, el("p", { className: "pl-ok", text: text.noProblems, "data-testid": "no-problems" }));
        return;
      }
      const items = state.problems.map((problem, index) => {
        const button = el("button", { type: "button", className: "pl-item", "data-testid": "problem", "data-kind": problem.kind }, [
          el("strong", { text: config.problemKinds[problem.kind] || problem.kind }), " ",
          el("span", { text: problem.message }),
          problem.area_m2 !== null && problem.area_m2 !== undefined
            ? el("span", { className: "pl-muted", text: ` (${fill(text.area, { area: formatArea(problem.area_m2) })})` })
            : null,
        ]);
        button.addEventListener("click", () => onZoom(index));
        return el("li", {}, [button]);
      });
      replace(element,
        el("p", { className: "pl-bad", text: fill(text.problemCount, { count: state.problems.length }) }),
        el("ul", { className: "pl-list" }, items));
    },
  };
}
