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
 * What the console reads of the API, typed from its OpenAPI document (frontend/types/api.d.ts,
 * scripts/api-types): a field renamed in a serializer fails `tsc` here.
 * @typedef {import("../../../types/api.js").components["schemas"]} Schemas
 * @typedef {NonNullable<Schemas["IncidentFeature"]["properties"]> & {id: number, lonLat: number[] | null}} QueueRow
 *   a row of a queue (GET incidents?queue=…): an incident Feature flattened by core/http.js rows
 * @typedef {Schemas["Duplicate"]} Duplicate         a likely duplicate near the call's pin
 * @typedef {Schemas["IntakeResponse"]} IntakeResponse  the case a call or an assignment went into
 * @typedef {Schemas["AddressMatch"] & {lonLat?: number[] | null}} AddressMatch
 *   a gazetteer match (`lonLat` only if it came as a Feature, flattened by core/http.js rows)
 * @typedef {Schemas["Callback"]} Callback            a call-back to make
 * @typedef {Schemas["Suggestion"]} Suggestion        a category suggested for a description
 * @typedef {Schemas["Location"]} Location            where a pin lies (the locate API)
 */

/**
 * The fields of an API row that cases.js caseView reads: the queues' rows and the duplicates.
 * Each is typed by its name in those schemas, so that a renamed field fails here; `status`,
 * `category`, `grid` and `community` are codes or names today, and caseView still reads the
 * objects ({code, name, label, is_police}) older shapes gave: `any` beside the schema's type.
 * The names no API answers today (older shapes, read as fallbacks) are `any`.
 * @typedef {object} CaseRow
 * @property {number} id
 * @property {QueueRow["number"] | Duplicate["number"]} [number]
 * @property {QueueRow["status"] | Duplicate["status"] | any} [status]
 * @property {QueueRow["status_display"] | Duplicate["status_display"]} [status_display]
 * @property {QueueRow["category"] | Duplicate["category"] | any} [category]
 * @property {QueueRow["category_name"] | Duplicate["category_name"]} [category_name]
 * @property {QueueRow["major"]} [major]
 * @property {QueueRow["grid"] | any} [grid]
 * @property {QueueRow["community"] | any} [community]
 * @property {QueueRow["address_text"] | Duplicate["address_text"]} [address_text]
 * @property {QueueRow["description"] | Duplicate["description"]} [description]
 * @property {QueueRow["reported_at"] | Duplicate["reported_at"]} [reported_at]
 * @property {QueueRow["outside_jurisdiction"]} [outside_jurisdiction]
 * @property {QueueRow["lonLat"]} [lonLat]
 * @property {any} [is_police]        older shapes
 * @property {any} [grid_name]
 * @property {any} [community_name]
 * @property {any} [address]
 * @property {any} [created_at]
 * @property {any} [outside]
 * @property {any} [location]
 */

/**
 * @typedef {{lat: number, lng: number}} LatLngLike
 * @typedef {{latlng: LatLngLike, datum: string}} Pin   a pin's point and its datum ("WGS84", "GCJ02")
 * @typedef {"call" | "assign" | "locate"} PinKind
 * @typedef {{ok: boolean, status: number, data: any}} ApiResult
 */

export {};
