// The unit's live channel (ws/dept/): what a message from it is to the office. Pure functions (no
// DOM): node --test runs them (frontend/tests/dept_live.test.mjs).
//
// A message is {id, kind, incident, number, handover, at} (dispatch/live.py `unit_frame`); `kind`:
// handover (a new hand-over to the unit), sent_back, on_behalf (completed on the unit's behalf),
// reopened, overdue (a deadline passed) — each told to the staff with a banner, a sound and, with
// the page in the background, a system notification — or changed (a colleague's move: the queue
// reloads quietly).

import { fill } from "../m/format.js";

/** The kinds of message the staff are alerted to. */
export const ALERT_KINDS = Object.freeze(["handover", "sent_back", "on_behalf", "reopened", "overdue"]);

/** Whether the staff are alerted to this message (the others only reload the queue). */
export function isAlert(message) {
  return Boolean(message) && ALERT_KINDS.includes(message.kind);
}

/** The line telling the staff what happened ("New hand-over: case N"), or "" for a quiet one. */
export function newsLine(message, news) {
  const template = isAlert(message) ? news[message.kind] : "";
  return template ? fill(template, { number: message.number }) : "";
}
