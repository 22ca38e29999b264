// Pure helpers of the year-over-year page (trends.js): colours by growth and by grade, labels.
// No DOM here, so that node --test reads them (frontend/tests/trends.test.mjs).

// The zero-growth grades of the page's tables (reports.css: rp-grade-good/fair/poor).
export const GRADE_COLOURS = { good: "#2e7d32", fair: "#e0a800", poor: "#c62828", "": "#9e9e9e" };
export const LAST_YEAR_COLOUR = "#9aa7b8";

// The choropleth's classes, from the best to the worst; `none`: no case in either year.
export const GROWTH_CLASSES = [
  { name: "down", colour: "#1b7837" },
  { name: "flat", colour: "#a6dba0" },
  { name: "fair", colour: "#fdb863" },
  { name: "poor", colour: "#d73027" },
  { name: "none", colour: "#eeeeee" },
];

// The class of a grid's value {this, last, change, new}: down 10 % or more, within the target,
// up to `fair` (a fraction, 0.10) over, more than that or new.
export function growthClass(value, fair = 0.1) {
  if (!value || ((value.this || 0) === 0 && (value.last || 0) === 0)) return "none";
  if (value.new) return "poor";
  const change = value.change ?? 0;
  if (change <= -0.1) return "down";
  if (change <= 0) return "flat";
  return change <= fair + 1e-9 ? "fair" : "poor";
}

export function growthColour(value, fair = 0.1) {
  const name = growthClass(value, fair);
  return /** @type {{colour: string}} */ (GROWTH_CLASSES.find((c) => c.name === name)).colour;
}

// "2026-03" → "3" (the charts' axis: the month's number).
export function monthNumber(key) {
  return String(Number(String(key).slice(5, 7)));
}

// A rate (0–1) as a percentage with one decimal for the charts, or null.
export function ratePercent(rate) {
  return rate === null || rate === undefined ? null : Math.round(rate * 1000) / 10;
}

// "%(name)s" placeholders of Django's translated strings, filled with plain text.
export function fill(template, values) {
  return String(template).replace(/%\((\w+)\)s/g, (_match, key) => String(values[key] ?? ""));
}
