// The "Publish" tab: the draft takes effect now or at a chosen time; refused (the button disabled)
// while the draft has problems. Publishing asks once more, on the page (no browser dialogs), naming
// the revision shown — the one sent: a draft saved since is refused (409 "stale"), as is a draft
// that a version published since would undo (409 "outdated"); the refusal's message stays here.

import { el, replace } from "../m/dom.js";
import { fill } from "../m/format.js";
import { instantOf } from "./format.js";

export function createPublishPanel({ element, text, onPublish }) {
  let shown = null;
  let asking = false;
  return {
    /** @param {import("./app.js").PlannerState} state */
    render(state) {
      const key = [state.open, state.problems, state.busy, state.publishRefusal];
      if (shown && key.every((part, i) => part === shown[i])) return;
      shown = key;
      if (state.open?.status !== "draft") {
        replace(element);
        return;
      }
      const blocked = state.problems.length > 0;
      const { number, revision } = state.open;
      const now = el("input", { type: "radio", name: "pl-when", value: "now", checked: true, "data-testid": "publish-now" });
      const later = el("input", { type: "radio", name: "pl-when", value: "at", "data-testid": "publish-later" });
      const at = el("input", { type: "datetime-local", className: "pl-input", "data-testid": "publish-at" });
      const button = el("button", {
        type: "button", className: "pl-btn pl-btn-primary", disabled: blocked || state.busy !== null,
        text: text.publish, "data-testid": "publish",
      });
      const question = el("p", { className: "pl-ask", hidden: true });
      button.addEventListener("click", () => {
        const when = later.checked ? instantOf(at.value) : null;
        if (later.checked && !when) {
          question.hidden = false;
          question.textContent = text.needTime;
          return;
        }
        if (!asking) {
          asking = true;
          question.hidden = false;
          question.textContent = fill(text.publishConfirm, { number, revision });
          button.textContent = `${text.publish} ✓`;
          return;
        }
        asking = false;
        onPublish(when, revision);
      });
      replace(element,
        blocked ? el("p", { className: "pl-bad", text: text.publishBlocked, "data-testid": "publish-blocked" }) : null,
        state.publishRefusal
          ? el("p", { className: "pl-bad", text: state.publishRefusal, "data-testid": "publish-refused" })
          : null,
        el("p", { text: fill(text.publishRevision, { number, revision }), "data-testid": "publish-revision" }),
        el("label", { className: "pl-radio" }, [now, text.publishNow]),
        el("label", { className: "pl-radio" }, [later, text.publishAt, at]),
        question,
        button);
    },
  };
}
