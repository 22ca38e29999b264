// The hot issues' circles on the agenda's map: their size and their drawing order (pure
// functions, tested with node --test in frontend/tests/reports_agenda.test.mjs).

/** The circle's radius in pixels for a cluster of `count` cases: 3 cases 10 px, growing with the
 * square root (the area with the count), at most 30 px. */
export function spotRadius(count) {
  const n = Math.max(1, Number(count) || 1);
  return Math.min(30, Math.round(4 + 3.5 * Math.sqrt(n)));
}

/** The clusters in drawing order: the biggest first, so that the smaller circles lie on top and
 * stay clickable; ties by rank. Returns a new array. */
export function spotOrder(spots) {
  return [...(spots || [])].sort((a, b) => b.count - a.count || a.rank - b.rank);
}
