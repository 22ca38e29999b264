// Text of the department queue: dates in the server's time zone and the two deadlines of a part.
// Pure functions (no DOM): node --test runs them (frontend/tests/dept.test.mjs).

import { countdown } from "../m/countdown.js";
import { fill } from "../m/format.js";

/** "11-24 08:05" in the given time zone (the server's), from an ISO 8601 string or a time in ms. */
export function formatDateTime(value, timeZone, locale = "zh-CN") {
  if (value === null || value === undefined || value === "") {
    return "";
  }
  const date = new Date(value);
  if (Number.isNaN(date.getTime())) {
    return "";
  }
  const parts = Object.fromEntries(
    new Intl.DateTimeFormat(locale, {
      month: "2-digit", day: "2-digit", hour: "2-digit", minute: "2-digit", hourCycle: "h23", timeZone,
    }).formatToParts(date).map((p) => [p.type, p.value]),
  );
  return `${parts.month}-${parts.day} ${parts.hour}:${parts.minute}`;
}

/**
 * The deadline a part is watched by now, at `now` (ms, the server's clock):
 * waiting → accept by `accept_by`, with a countdown ({state: ok | amber | red, text});
 * being worked on → report the result by `deadline`, red when overdue; otherwise none.
 * Returns {kind: "accept" | "report" | "none", at, state, text, countdown}.
 */
export function partDeadline(part, now, text, timeZone, amberSeconds) {
  if (part.state === "pending") {
    const at = part.accept_by ? Date.parse(part.accept_by) : null;
    const c = countdown(at, now, text, amberSeconds);
    return {
      kind: "accept",
      at: part.accept_by,
      state: c.state,
      text: at === null ? text.noDeadline : fill(text.acceptBy, { time: formatDateTime(at, timeZone) }),
      countdown: at === null ? "" : c.text,
    };
  }
  if (part.state === "accepted") {
    const at = part.deadline ? Date.parse(part.deadline) : null;
    const overdue = at !== null && at <= now;
    return {
      kind: "report",
      at: part.deadline,
      state: at === null ? "none" : overdue ? "red" : "ok",
      text: at === null ? text.noDeadline : fill(text.reportBy, { time: formatDateTime(at, timeZone) }),
      countdown: overdue ? countdown(at, now, text, amberSeconds).text : "",
    };
  }
  return { kind: "none", at: null, state: "none", text: "", countdown: "" };
}

/** The action's body for the transitions endpoint: the unit's part, with the text when one is asked. */
export function actionBody(action, unitId, value = "") {
  const body = { action, unit: unitId };
  const text = String(value ?? "").trim();
  if (text) {
    body.text = text;
  }
  return body;
}
