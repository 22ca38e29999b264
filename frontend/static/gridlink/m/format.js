// Text of the responders' app: filling the server's translated templates, distances and times.
// Pure functions (no DOM): node --test runs them (frontend/tests/).

/**
 * Django's "%(name)s" placeholders filled with plain values (never markup).
 * @param {string | null | undefined} template
 * @param {Record<string, unknown>} [values]
 */
export function fill(template, values = {}) {
  return String(template ?? "").replace(/%\((\w+)\)s/g, (match, key) =>
    values[key] === undefined || values[key] === null ? "" : String(values[key]),
  );
}

/**
 * "850 m" under a kilometre (rounded to 10 m), else "1.2 km"; `text` holds the two templates.
 * @param {number | null | undefined} metres
 * @param {{metres: string, kilometres: string}} text
 */
export function formatDistance(metres, text) {
  if (metres === null || metres === undefined || !Number.isFinite(metres)) {
    return "";
  }
  if (metres < 1000) {
    return fill(text.metres, { n: Math.round(metres / 10) * 10 });
  }
  return fill(text.kilometres, { n: (metres / 1000).toFixed(metres < 10000 ? 1 : 0) });
}

/**
 * "08:05" in the given time zone (the server's), from an ISO 8601 string or a time in ms.
 * @param {string | number | null | undefined} value
 * @param {string} timeZone
 * @param {string} [locale]
 */
export function formatTime(value, timeZone, locale = "zh-CN") {
  if (value === null || value === undefined || value === "") {
    return "";
  }
  const date = new Date(value);
  if (Number.isNaN(date.getTime())) {
    return "";
  }
  return new Intl.DateTimeFormat(locale, {
    hour: "2-digit",
    minute: "2-digit",
    hourCycle: "h23",
    timeZone,
  }).format(date);
}

/**
 * "11-24 08:05" (month-day and time) in the given time zone, from an ISO 8601 string or ms.
 * @param {string | number | null | undefined} value
 * @param {string} timeZone
 * @param {string} [locale]
 */
export function formatDateTime(value, timeZone, locale = "zh-CN") {
  const time = formatTime(value, timeZone, locale);
  if (!time) {
    return "";
  }
  const parts = new Intl.DateTimeFormat(locale, { month: "2-digit", day: "2-digit", timeZone })
    .formatToParts(new Date(/** @type {string | number} */ (value)));
  const part = (/** @type {Intl.DateTimeFormatPartTypes} */ type) => parts.find((p) => p.type === type)?.value || "";
  return `${part("month")}-${part("day")} ${time}`;
}

/**
 * A grid the member serves, as "My grids" shows it: {label: "G03 某某网格", community, from} with
 * `from` ("from 12-05 08:00", text.gridFrom) only for a grid of a version not in force yet.
 * @param {import("../../../types/api.js").components["schemas"]["MemberGrid"]} grid
 * @param {{gridFrom: string}} text
 * @param {string} timeZone
 * @param {string} [locale]
 */
export function gridLabel(grid, text, timeZone, locale = "zh-CN") {
  return {
    label: [grid.code, grid.name].filter(Boolean).join(" "),
    community: grid.community || "",
    from: grid.upcoming ? fill(text.gridFrom, { time: formatDateTime(grid.effective_from, timeZone, locale) }) : "",
  };
}
