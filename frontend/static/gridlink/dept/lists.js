// The three lists of the unit's parts: waiting for acceptance (countdown to `accept_by`), being
// worked on (report deadline, red when overdue; the last progress note), done in the last days
// (result or return reason). Rendered from the store; `tick(now)` only refreshes the countdowns.

import { fill } from "../m/format.js";
import { el, replace } from "../m/dom.js";
import { formatDateTime, partDeadline } from "./format.js";

const LISTS = ["waiting", "working", "done"];

export function createListsView({ lists, counts, config, text, onSelect }) {
  const { timeZone, amberSeconds } = config;
  let deadlines = []; // [{node, part}] of the countdowns to tick

  function deadlineLine(part, now) {
    const d = partDeadline(part, now, text, timeZone, amberSeconds);
    const line = el("span", { className: "dept-deadline", dataset: { state: d.state, kind: d.kind, testid: "deadline" } });
    fillDeadline(line, d);
    deadlines.push({ node: line, part });
    return line;
  }

  function fillDeadline(node, d) {
    node.dataset.state = d.state;
    replace(node, d.text, d.countdown ? el("strong", { className: "dept-countdown", text: " · " + d.countdown }) : null);
  }

  /** @param {import("./app.js").Schemas["DeptPart"]} part */
  function item(part, list, selected, now) {
    const last = (part.progress || []).at(-1);
    const button = el(
      "button",
      { className: "dept-item", dataset: { part: part.id, testid: "part" },
        type: "button", "aria-pressed": selected === part.id ? "true" : "false" },
      [
        el("span", { className: "dept-item-head" }, [
          el("strong", { className: "dept-number", text: part.number }),
          el("span", { className: "dept-category", text: part.category }),
          part.major ? el("span", { className: "dept-badge dept-major", text: text.major }) : null,
          part.lead ? el("span", { className: "dept-badge", text: text.lead }) : null]),
        el("span", { className: "dept-address", text: part.address_text }),
        list === "done"
          ? el("span", { className: "dept-finished", text: fill(text.finished, {
            state: config.partStates[part.state] || part.state, time: formatDateTime(part.finished_at, timeZone) }) })
          : deadlineLine(part, now),
        list === "waiting" ? el("span", { className: "dept-reason", text: part.reason }) : null,
        list === "working" && last ? el("span", { className: "dept-last-note", text: last.note }) : null,
        list === "done" ? el("span", { className: "dept-reason",
          text: part.state === "returned" ? part.return_reason : part.result }) : null,
      ],
    );
    button.addEventListener("click", () => onSelect(part.id));
    return el("li", {}, [button]);
  }

  return {
/** @param {import("./app.js").DeptState} state @param {number} now */
    render(state, now) {
      deadlines = [];
      const queue = state.queue;
      if (!queue) return;
      for (const list of LISTS) {
        const parts = queue[list];
        counts[list].textContent = String(parts.length);
        replace(lists[list], parts.length
          ? parts.map((p) => item(p, list, state.selected, now))
          : [el("li", { className: "dept-empty", text: text.empty[list] })]);
      }
    },
    tick(now) {
      for (const { node, part } of deadlines) {
        fillDeadline(node, partDeadline(part, now, text, timeZone, amberSeconds));
      }
    },
  };
}
