// The arrival deadline counting down, as on the wall map: "ok", "amber" under ten minutes (the
// server's `amberSeconds`), "red" when overdue, "none" without a deadline. Pure: the caller gives
// the deadline, the time now (corrected by the server's clock) and the translated templates.

import { fill } from "./format.js";

export const AMBER_SECONDS = 10 * 60;

/**
 * "09:05" under an hour, "1:02:03" from an hour on (whole seconds).
 * @param {number} seconds
 */
export function formatDuration(seconds) {
  const total = Math.max(0, Math.floor(seconds));
  const h = Math.floor(total / 3600);
  const m = Math.floor((total % 3600) / 60);
  const s = total % 60;
  const pad = (/** @type {number} */ n) => String(n).padStart(2, "0");
  return h > 0 ? `${h}:${pad(m)}:${pad(s)}` : `${pad(m)}:${pad(s)}`;
}

/**
 * The state of a countdown with `remaining` seconds left (negative: overdue).
 * @param {number} remaining
 * @param {number} [amberSeconds]
 * @returns {"ok" | "amber" | "red"}
 */
export function countdownState(remaining, amberSeconds = AMBER_SECONDS) {
  if (remaining <= 0) {
    return "red";
  }
  return remaining < amberSeconds ? "amber" : "ok";
}

/**
 * The countdown to `deadline` (ms since the epoch, or null) at `now` (ms):
 * {state, seconds, text}. `text`: {dueIn, overdueBy, noDeadline} with a "%(time)s" placeholder.
 * @param {number | null | undefined} deadline
 * @param {number} now
 * @param {{dueIn: string, overdueBy: string, noDeadline: string}} text
 * @param {number} [amberSeconds]
 * @returns {{state: "ok" | "amber" | "red" | "none", seconds: number | null, text: string}}
 */
export function countdown(deadline, now, text, amberSeconds = AMBER_SECONDS) {
  if (deadline === null || deadline === undefined || !Number.isFinite(deadline)) {
    return { state: "none", seconds: null, text: text.noDeadline };
  }
  const remaining = (deadline - now) / 1000;
  const state = countdownState(remaining, amberSeconds);
  const time = formatDuration(remaining > 0 ? Math.ceil(remaining) : -remaining);
  return { state, seconds: remaining, text: fill(remaining > 0 ? text.dueIn : text.overdueBy, { time }) };
}
