// Clocks and countdowns of the wall, pure (no DOM, no Leaflet; node --test runs them):
// frontend/tests/wall_time.test.mjs. Times are milliseconds since the epoch unless named *Iso.

/**
 * Milliseconds of an ISO time; NaN for none.
 * @param {string | null | undefined} iso
 * @returns {number}
 */
export function ms(iso) {
  return iso ? new Date(iso).getTime() : NaN;
}

/**
 * 754 s → "12:34", 4000 s → "1:06:40" (negative counts as 0).
 * @param {number} seconds
 * @returns {string}
 */
export function duration(seconds) {
  const total = Math.max(0, Math.floor(seconds));
  const h = Math.floor(total / 3600);
  const m = Math.floor((total % 3600) / 60);
  const s = total % 60;
  const mm = (h && m < 10 ? "0" : "") + m;
  return (h ? `${h}:` : "") + mm + ":" + (s < 10 ? "0" : "") + s;
}

/**
 * The countdown of a deadline at time `at`: {text, state, late, time}. `state` is "ok", "amber"
 * (less than `amberSeconds` left) or "red" (past); `text` is what the marker shows ("12:34", or
 * "+1:05" once late); `time` the duration alone, for the sentences "due in …" / "overdue …".
 * @param {string | null | undefined} deadlineIso
 * @param {number} at
 * @param {number} amberSeconds
 * @returns {{text: string, state: "ok" | "amber" | "red", late: boolean, time: string}}
 */
export function countdown(deadlineIso, at, amberSeconds) {
  const left = (ms(deadlineIso) - at) / 1000;
  if (left < 0) {
    return { text: "+" + duration(-left), state: "red", late: true, time: duration(-left) };
  }
  return { text: duration(left), state: left < amberSeconds ? "amber" : "ok", late: false, time: duration(left) };
}

/**
 * The time of day of `t` in `timeZone` ("14:05:09", or "14:05" with seconds: false).
 * @param {number | string | Date} t
 * @param {{timeZone?: string, lang?: string, seconds?: boolean}} [options]
 * @returns {string}
 */
export function clockText(t, { timeZone, lang, seconds = true } = {}) {
  /** @type {Intl.DateTimeFormatOptions} */
  const options = { hour: "2-digit", minute: "2-digit", hour12: false, timeZone };
  if (seconds) options.second = "2-digit";
  try {
    return new Date(t).toLocaleTimeString(lang, options);
  } catch {
    return new Date(t).toLocaleTimeString();
  }
}

/**
 * "YYYY-MM-DD": the day `t` falls on in `timeZone`.
 * @param {number | string | Date} t
 * @param {string | undefined} timeZone
 * @returns {string}
 */
export function dayOf(t, timeZone) {
  /** @type {Partial<Record<Intl.DateTimeFormatPartTypes, string>>} */
  const parts = {};
  const day = new Intl.DateTimeFormat("en", { timeZone, year: "numeric", month: "2-digit", day: "2-digit" });
  for (const part of day.formatToParts(new Date(t))) parts[part.type] = part.value;
  return `${parts.year}-${parts.month}-${parts.day}`;
}
