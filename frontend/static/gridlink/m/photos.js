// The photos of an on-site report, checked on the phone before they are queued: at most
// `maxCount` (3), each at most `maxBytes` (the server's PHOTO_MAX_BYTES) and a JPEG, PNG or WebP.
// The server checks again and decides; this saves a member from waiting for a refusal of a
// photo that could never pass.
//
// Photos are sent as the camera wrote them — never re-encoded through a canvas, which would strip
// the EXIF block with the location and time the server keeps as evidence.
//
// A photo waiting in the outbox is kept as {name, type, size, blob}: the name and type beside the
// Blob, because not every structured clone keeps a File's name (IndexedDB does; node's does not).
// Pure functions: node --test runs them (frontend/tests/photos.test.mjs).

export const PHOTO_TYPES = ["image/jpeg", "image/png", "image/webp"];
const EXTENSIONS = { jpg: "image/jpeg", jpeg: "image/jpeg", png: "image/png", webp: "image/webp" };

/** A file's image type: its `type`, or — where the browser gives none — the one its name says. */
export function photoType(file) {
  const type = String(file.type || "").toLowerCase();
  if (type) return type === "image/jpg" ? "image/jpeg" : type;
  const extension = String(file.name || "").toLowerCase().split(".").pop();
  return EXTENSIONS[extension] || "";
}

/** The record of a photo as the outbox keeps it. */
export function photoRecord(file) {
  return { name: String(file.name || "photo"), type: photoType(file), size: file.size, blob: file };
}

/**
 * Add the `picked` files to the `current` records (both in order): each picked file is checked,
 * and kept while there is room. Returns {photos, problems}: the records now chosen, and a list of
 * {code, name} for each file left out — "type" (not a JPEG, PNG or WebP), "size" (more than
 * maxBytes), "empty" (0 bytes), "count" (no room: at most maxCount).
 */
export function addPhotos(current, picked, { maxCount = 3, maxBytes, types = PHOTO_TYPES }) {
  const photos = [...current];
  const problems = [];
  for (const file of picked) {
    const record = photoRecord(file);
    if (!types.includes(record.type)) problems.push({ code: "type", name: record.name });
    else if (!record.size) problems.push({ code: "empty", name: record.name });
    else if (maxBytes && record.size > maxBytes) problems.push({ code: "size", name: record.name });
    else if (photos.length >= maxCount) problems.push({ code: "count", name: record.name });
    else photos.push(record);
  }
  return { photos, problems };
}

/** "8 MB" from bytes (whole megabytes, MiB as the server counts them; one decimal under 10). */
export function megabytes(bytes) {
  const mb = bytes / (1024 * 1024);
  return mb >= 10 || Number.isInteger(mb) ? String(Math.round(mb)) : mb.toFixed(1);
}
