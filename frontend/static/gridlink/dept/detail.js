// The selected part: its case (the description is the public's text: textContent only), the
// deadlines, the reason it was handed over, the unit's progress notes, the other offices' parts,
// and the buttons of the moves the server says the user may make now. Return, progress and
// complete open a small form for their text; the server's refusal is shown in the panel.

import { fill } from "../m/format.js";
import { el, replace } from "../m/dom.js";
import { formatDateTime, partDeadline } from "./format.js";

export function createDetailView({ element, config, text, onAction, onForm }) {
  const { timeZone, amberSeconds } = config;
  let deadlineNode = null;
  let shown = null;
  // What the user is typing survives a redraw (the 30-second refresh redraws the panel).
  let draft = { key: "", value: "" };
  let typing = false;

  function field(label, value, testid) {
    if (!value) return null;
    return el("div", { className: "dept-field", dataset: { testid } },
      [el("dt", { text: label }), el("dd", { text: value })]);
  }

  /** @param {import("./app.js").DeptPartDetail} detail */
  function form(detail, action, busy) {
    const input = el("textarea", { className: "dept-input", dataset: { testid: "form-text" },
                                   rows: 3, maxlength: 2000, required: true });
    const label = el("label", { className: "dept-form-label" }, [text.formLabels[action], input]);
    const send = el("button", { className: "dept-btn dept-btn-primary", dataset: { testid: "form-send" },
                                type: "submit", text: busy ? text.sending : text.send });
    const key = `${detail.part.id}:${action}`;
    const fresh = draft.key !== key;
    if (fresh) draft = { key, value: "" };
    input.value = draft.value;
    input.addEventListener("input", () => { draft.value = input.value; });
    send.disabled = busy;
    const cancel = el("button", { className: "dept-btn", type: "button", text: text.cancel });
    cancel.addEventListener("click", () => onForm(null));
    const node = el("form", { className: "dept-form", dataset: { action, testid: "form" } }, [label,
      el("div", { className: "dept-form-buttons" }, [send, cancel])]);
    node.addEventListener("submit", (event) => {
      event.preventDefault();
      onAction(detail, action, input.value);
    });
    if (fresh || typing) queueMicrotask(() => input.focus());
    return node;
  }

  /** @param {import("./app.js").DeptPartDetail} detail @param {import("./app.js").DeptState} state */
  function actions(detail, state) {
    const busy = state.busy !== null;
    if (!detail.actions.length) {
      return el("p", { className: "dept-muted", dataset: { testid: "no-actions" }, text: text.noActions });
    }
    const buttons = detail.actions.map((a) => {
      const button = el("button", {
        className: "dept-btn" + (a.action === "accept_handover" || a.action === "complete" ? " dept-btn-primary" : ""),
        dataset: { action: a.action, testid: `action-${a.action}` }, type: "button",
        text: text.buttons[a.action] || a.label,
      });
      button.disabled = busy;
      button.addEventListener("click", () => {
        if (a.requires.includes("text")) onForm(a.action);
        else onAction(detail, a.action, "");
      });
      return button;
    });
    const open = state.form && detail.actions.some((a) => a.action === state.form) ? state.form : null;
    return el("div", { className: "dept-actions" }, [el("div", { className: "dept-buttons" }, buttons),
      open ? form(detail, open, busy) : null]);
  }

  function notice(state) {
    const n = state.notice;
    if (!n) return null;
    return el("p", { className: "dept-notice", dataset: { kind: n.kind, testid: "notice" },
                     role: n.kind === "error" ? "alert" : "status", text: n.text });
  }

  return {
/** @param {import("./app.js").DeptState} state @param {number} now */
    render(state, now) {
      typing = /** @type {HTMLElement | null} */ (document.activeElement)?.dataset?.testid === "form-text";
      if (!state.form) draft = { key: "", value: "" };
      deadlineNode = null;
      const detail = state.detail;
      shown = detail;
      if (state.selected === null) {
        replace(element, el("p", { className: "dept-muted", text: text.select }));
        return;
      }
      if (!detail || detail.part.id !== state.selected) {
        replace(element, notice(state));
        return;
      }
      const { part, case: incident } = detail;
      const d = partDeadline(part, now, text, timeZone, amberSeconds);
      deadlineNode = el("p", { className: "dept-deadline", dataset: { state: d.state, testid: "detail-deadline" } });
      this.tick(now);
      const progress = part.progress.length
        ? el("ol", { className: "dept-notes" }, part.progress.map((p) => el("li", {}, [
          el("span", { className: "dept-note-meta", text: fill(text.progressBy, { time: formatDateTime(p.at, timeZone), name: p.by }) }),
          el("span", { className: "dept-note-text", text: p.note })])))
        : el("p", { className: "dept-muted", text: text.noProgress });
      const others = detail.others.length
        ? el("ul", { className: "dept-others" }, detail.others.map((o) => el("li", {}, [
          el("span", { text: o.unit }), " ", el("span", { className: "dept-state", dataset: { state: o.state }, text: o.state_display })])))
        : el("p", { className: "dept-muted", text: text.noOtherParts });
      const location = incident.location ? `${incident.location[1].toFixed(5)}, ${incident.location[0].toFixed(5)}` : "";
      replace(element,
        el("header", { className: "dept-detail-head" }, [
          el("h2", { text: fill(text.case, { number: incident.number }) }),
          el("span", { className: "dept-category", text: incident.category }),
          el("span", { className: "dept-state", dataset: { state: part.state, testid: "detail-state" }, text: part.state_display }),
          el("span", { className: "dept-muted", text: incident.status_display })]),
        d.kind !== "none" ? deadlineNode : null,
        notice(state),
        actions(detail, state),
        el("dl", { className: "dept-fields" }, [
          field(text.description, incident.description, "description"),
          field(text.address, incident.address_text, "address"),
          field(text.location, location, "location"),
          field(text.reason, part.reason, "reason"),
          field(text.handedOverLabel, fill(text.handedOver, { time: formatDateTime(part.created_at, timeZone), name: part.handed_over_by }), "handed-over"),
          field(text.result, part.result, "result"),
          field(text.returnReason, part.return_reason, "return-reason"),
          field(text.onBehalf, part.on_behalf_reason, "on-behalf")]),
        el("h3", { text: text.progress }), progress,
        el("h3", { text: text.otherParts }), others,
      );
    },
    tick(now) {
      if (!deadlineNode || !shown) return;
      const d = partDeadline(shown.part, now, text, timeZone, amberSeconds);
      deadlineNode.dataset.state = d.state;
      replace(deadlineNode, d.text, d.countdown ? el("strong", { className: "dept-countdown", text: " · " + d.countdown }) : null);
    },
  };
}
