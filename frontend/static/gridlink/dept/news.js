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

/**
 * A message of the unit's socket (dispatch/live.py `unit_frame`).
 * @typedef {{id: number, kind: string, incident: number, number: string, handover: number, at: string}} UnitMessage
 */

/**
 * Whether the staff are alerted to this message (the others only reload the queue).
 * @param {Pick<UnitMessage, "kind"> | null | undefined} message
 * @returns {boolean}
 */
export function isAlert(message) {
  return Boolean(message) && ALERT_KINDS.includes(/** @type {UnitMessage} */ (message).kind);
}

/**
 * The line telling the staff what happened ("New hand-over: case N"), or "" for a quiet one.
 * @param {UnitMessage | null | undefined} message
 * @param {Record<string, string>} news the words per kind
 */
export function newsLine(message, news) {
  if (!message || !isAlert(message)) return "";
  const template = news[message.kind];
  return template ? fill(template, { number: message.number }) : "";
}
