// What every page shares and the server owns, rendered once per page by base.html's
// {% gridlink_shared %} (frontend/page_config.py, json_script #gridlink-shared):
//   timeZone        the sub-district's time zone (settings.TIME_ZONE), for every clock shown;
//   statuses        {code: label} of an incident's statuses, in the page's language;
//   statusGroups    {open: [...], done: [...], liveOrder: [...]}: the statuses still waiting for
//                   someone, those in which the work is done, those of an order still under way;
//   categoryGlyphs  {category code: glyph}; scopeGlyphs {scope: glyph} for categories added later.
// And pageConfig(id): a page's own configuration, its json_script element #id.
//
// Read when this module is first imported. Without a document (node --test) `shared` is empty
// until a test puts a fake `globalThis.document` in place before importing.

/**
 * The parsed JSON of the json_script element #id, or null when there is none.
 * @param {string} id
 * @returns {any}
 */
function parse(id) {
  const doc = globalThis.document;
  const node = doc ? doc.getElementById(id) : null;
  if (!node) return null;
  return JSON.parse(/** @type {string} */ (node.textContent));
}

/**
 * The parsed configuration of the page's json_script element #id; throws when it is missing.
 * `any`: the page names its configuration's type where it reads it.
 * @param {string} id
 * @returns {any}
 */
export function pageConfig(id) {
  const config = parse(id);
  if (config === null) {
    throw new Error(`#${id}: the page's configuration (a json_script element) is missing`);
  }
  return config;
}

/**
 * What #gridlink-shared holds (frontend/page_config.py, the keys listed above). Typed as the page
 * has it; only without a document (node --test) is it empty, and the readers that run there
 * (core/format.js) fall back with `|| {}`.
 * @typedef {object} Shared
 * @property {string} timeZone
 * @property {Record<string, string>} statuses
 * @property {{open: string[], done: string[], liveOrder: string[]}} statusGroups
 * @property {Record<string, string>} categoryGlyphs
 * @property {Record<string, string>} scopeGlyphs
 */

/** @returns {Shared} */
function readShared() {
  if (!globalThis.document) return /** @type {Shared} */ ({});
  const config = parse("gridlink-shared");
  if (config === null) {
    throw new Error("#gridlink-shared is missing: the page's template needs {% gridlink_shared %} (frontend_tags)");
  }
  return config;
}

export const shared = readShared();
