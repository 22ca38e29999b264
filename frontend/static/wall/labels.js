// Words the wall builds from data, pure (node --test: frontend/tests/wall_labels.test.mjs).

// A camera, with the count, for an event that brought photos (an on-site report).
export const PHOTO_GLYPH = "\uD83D\uDCF7";

/**
 * The line of a timeline event in the ticker and the card: its kind, with the new status, the
 * responder dispatched, or "X asks to transfer to Y"; a camera and the count of its photos.
 * `words` = {eventKinds, statuses, text, format} (format: core/dom.js's, for "%(name)s").
 * @param {{kind: string, to?: string | null, data?: Record<string, unknown> | null}} event
 *   a WallEvent (the socket's, the snapshot's) or a WallTimelineEvent (the card's)
 * @param {{eventKinds: Record<string, string>, statuses: Record<string, string>,
 *   text: Record<string, string>, format: (template: unknown, values?: Record<string, unknown> | null) => string}} words
 * @returns {string}
 */
export function eventLabel(event, { eventKinds, statuses, text, format }) {
  const kind = eventKinds[event.kind] || event.kind;
  // What the events of these kinds carry (incidents.events.event_payload: `data` is open).
  const data = /** @type {{member_name?: string, unit_name?: string, photos?: unknown[]}} */ (event.data || {});
  let extra = "";
  let label = "";
  if (event.kind === "status_changed" && event.to) {
    extra = statuses[event.to] || event.to;
  } else if (event.kind === "dispatched" && data.member_name) {
    extra = data.member_name;
  } else if (event.kind === "transfer_requested") {
    if (text.transferRequested) {
      label = format(text.transferRequested, { member: data.member_name || "", unit: data.unit_name || "" });
    } else {
      extra = (data.member_name || "") + " → " + (data.unit_name || "");
    }
  }
  label = label || (extra ? kind + " · " + extra : kind);
  if (data.photos && data.photos.length) label += " · " + PHOTO_GLYPH + data.photos.length;
  return label;
}
