// The console's types, for tsc --checkJs (JSDoc only: this module exports nothing at run time).
// The configuration is built by frontend/console_views.py (console_view); keep the two in step.

/**
 * @typedef {{code: string, name: string, police: boolean, major: boolean}} Category
 * @typedef {{code: string, name: string, phone: string}} Hotline
 * @typedef {{id: number, name: string, kind: string}} Unit
 * @typedef {Record<string, string> & {fields: Record<string, string>}} ConsoleText
 *   the page's words by key (console_views.TEXT) and the forms' field labels by API name
 * @typedef {object} ConsoleConfig
 * @property {any} map                      the basemap's configuration (frontend.views.map_config)
 * @property {Record<string, string>} api   API URLs; "{id}" in the templates of one record's
 * @property {{incident: string}} pages     page URL templates
 * @property {string | null} subdistrict    the sub-district's code
 * @property {Hotline[]} hotlines
 * @property {string | null} jointChannel   the joint-consultation assignment channel's code
 * @property {Category[]} categories        police-type first
 * @property {Unit[]} units                 the offices an assignment form may name
 * @property {Record<string, string>} satisfaction  a call-back's satisfaction: {code: label}
 * @property {{callbacks: boolean}} can
 * @property {number} pollSeconds
 * @property {ConsoleText} text
 */

/**
 * A case as the queues, the popups and the duplicates show it (cases.js caseView).
 * @typedef {object} CaseView
 * @property {number} id
 * @property {string} number
 * @property {string} status        the status's code
 * @property {string} statusLabel   in the page's language
 * @property {string} category      the category's name
 * @property {boolean} police
 * @property {boolean} major
 * @property {string} grid
 * @property {string} community
 * @property {string} address
 * @property {string} description   typed by the public: text only
 * @property {string | undefined} reportedAt  ISO 8601
 * @property {boolean} outside      outside the jurisdiction
 * @property {number[] | null} lonLat
 */

/**
 * @typedef {{lat: number, lng: number}} LatLngLike
 * @typedef {{latlng: LatLngLike, datum: string}} Pin   a pin's point and its datum ("WGS84", "GCJ02")
 * @typedef {"call" | "assign" | "locate"} PinKind
 * @typedef {{ok: boolean, status: number, data: any}} ApiResult
 */

export {};
