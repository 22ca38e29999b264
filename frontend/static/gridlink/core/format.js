// Times and glyphs as every page shows them: clocks in the sub-district's time zone (from the
// server, shared.timeZone — a browser elsewhere still shows local time), ages relative to now in
// the page's language, and the glyph of an incident's category.

import { shared } from "./shared.js";

function lang() {
  const doc = globalThis.document;
  return (doc && doc.documentElement && doc.documentElement.lang) || undefined;
}

/**
 * "14:05" (or "06/03 14:05" with `withDate`) of an ISO time; "" for none.
 * @param {string | null | undefined} iso
 * @param {boolean} [withDate]
 * @returns {string}
 */
export function time(iso, withDate) {
  if (!iso) return "";
  const date = new Date(iso);
  /** @type {Intl.DateTimeFormatOptions} */
  const options = { hour: "2-digit", minute: "2-digit", hour12: false, timeZone: shared.timeZone };
  if (withDate) {
    options.month = "2-digit";
    options.day = "2-digit";
  }
  try {
    return date.toLocaleString(lang(), options);
  } catch {
    return date.toLocaleString();
  }
}

/** @type {[Intl.RelativeTimeFormatUnit, number][]} */
const AGE_UNITS = [
  ["day", 86400],
  ["hour", 3600],
  ["minute", 60],
];

/**
 * How long ago an ISO time was, narrow and relative ("5分钟前", "3 hr. ago"); "" for none.
 * @param {string | null | undefined} iso
 * @returns {string}
 */
export function age(iso) {
  if (!iso) return "";
  const seconds = (Date.now() - new Date(iso).getTime()) / 1000;
  try {
    const rtf = new Intl.RelativeTimeFormat(lang(), { numeric: "auto", style: "narrow" });
    for (const [unit, size] of AGE_UNITS) {
      if (Math.abs(seconds) >= size) return rtf.format(-Math.floor(seconds / size), unit);
    }
    return rtf.format(0, "minute");
  } catch {
    return `${Math.round(seconds / 60)} min`;
  }
}

/**
 * The glyph of a category ({code} or {code, scope}, as the APIs give it): its own, else its
 * scope's (for categories added later) — the scope from the category itself or from `categories`
 * ({code: {scope}}, e.g. the page's list of categories) — else "●".
 * @param {{code?: string | null, scope?: string | null} | null | undefined} category
 * @param {Record<string, {scope?: string | null} | undefined>} [categories]
 * @returns {string}
 */
export function glyphOf(category, categories = {}) {
  const code = category && category.code;
  const own = code ? (shared.categoryGlyphs || {})[code] : undefined;
  if (own) return own;
  const known = code ? categories[code] : undefined;
  const scope = (category && category.scope) || (known && known.scope);
  return (scope && (shared.scopeGlyphs || {})[scope]) || "●";
}
