// Shared vertices: Geoman free moves the vertices of one layer only (pinning is a Pro feature), but
// neighbouring grids share their borders vertex for vertex (geo/coverage.py's `edges` check refuses
// a vertex on one side only). So when a planner drags, adds or removes a vertex of one grid, the
// grids that hold the same vertex follow: editor.js listens to Geoman's marker events and applies
// these functions to the other draft grids.
//
// "The same vertex" is the same (lon, lat) within EPSG:4326 degrees of EPSILON (1e-9°, a tenth of
// a millimetre): the stored coordinates of a shared border are equal, this only absorbs float
// noise. Grids here are {id, latlngs} with latlngs in Leaflet's multi-polygon nesting [[[{lat,
// lng}]]] (geometry.js), and a vertex's place is its index path [polygon, ring, vertex]. Pure
// functions: the inputs are never changed, new arrays are returned.

export const EPSILON = 1e-9;

/** Whether two {lat, lng} are the same vertex. */
export function sameVertex(a, b, epsilon = EPSILON) {
  return Math.abs(a.lat - b.lat) <= epsilon && Math.abs(a.lng - b.lng) <= epsilon;
}

/** The index paths [p, r, v] of every vertex of `latlngs` (multi-polygon nesting) equal to `point`. */
export function vertexPaths(latlngs, point, epsilon = EPSILON) {
  const paths = [];
  latlngs.forEach((polygon, p) =>
    polygon.forEach((ring, r) =>
      ring.forEach((vertex, v) => {
        if (sameVertex(vertex, point, epsilon)) paths.push([p, r, v]);
      }),
    ),
  );
  return paths;
}

/**
 * The vertices of the other grids at `point`: [{id, paths}] for each grid of `grids` (not
 * `exceptId`) holding it. These follow the dragged vertex.
 */
export function coincident(grids, point, exceptId, epsilon = EPSILON) {
  const found = [];
  for (const grid of grids) {
    if (grid.id === exceptId) continue;
    const paths = vertexPaths(grid.latlngs, point, epsilon);
    if (paths.length) found.push({ id: grid.id, paths });
  }
  return found;
}

function copy(latlngs) {
  return latlngs.map((polygon) => polygon.map((ring) => ring.slice()));
}

/** `latlngs` with the vertices at `paths` moved to `to` ({lat, lng}). */
export function moveVertices(latlngs, paths, to) {
  const next = copy(latlngs);
  for (const [p, r, v] of paths) {
    next[p][r][v] = { lat: to.lat, lng: to.lng };
  }
  return next;
}

const at = (ring, i) => ring[(i + ring.length) % ring.length];

/**
 * A vertex added on an edge a–b of one grid: `latlngs` of another grid with `point` inserted
 * between its consecutive vertices a and b (in either order) wherever it has that edge, and the
 * paths of the inserted vertices; null when it has no such edge (the edge is not shared).
 */
export function insertOnSharedEdge(latlngs, a, b, point, epsilon = EPSILON) {
  const next = copy(latlngs);
  const paths = [];
  next.forEach((polygon, p) =>
    polygon.forEach((ring, r) => {
      for (let v = 0; v < ring.length; v += 1) {
        const here = ring[v];
        const after = at(ring, v + 1);
        const forward = sameVertex(here, a, epsilon) && sameVertex(after, b, epsilon);
        const backward = sameVertex(here, b, epsilon) && sameVertex(after, a, epsilon);
        if (forward || backward) {
          ring.splice(v + 1, 0, { lat: point.lat, lng: point.lng });
          paths.push([p, r, v + 1]);
          return; // a ring runs along one edge once
        }
      }
    }),
  );
  return paths.length ? { latlngs: next, paths } : null;
}

/**
 * A vertex removed from one grid, whose ring went prev → point → next: `latlngs` of another grid
 * with `point` removed wherever it lies between the same two neighbours (so that the shared border
 * stays shared), or null when it holds no such vertex. A ring keeps at least three vertices.
 */
export function removeSharedVertex(latlngs, point, prev, next, epsilon = EPSILON) {
  const result = copy(latlngs);
  let removed = false;
  result.forEach((polygon) =>
    polygon.forEach((ring) => {
      if (ring.length <= 3) return;
      for (let v = 0; v < ring.length; v += 1) {
        if (!sameVertex(ring[v], point, epsilon)) continue;
        const before = at(ring, v - 1);
        const after = at(ring, v + 1);
        const same = (sameVertex(before, prev, epsilon) && sameVertex(after, next, epsilon))
          || (sameVertex(before, next, epsilon) && sameVertex(after, prev, epsilon));
        if (same) {
          ring.splice(v, 1);
          removed = true;
          return;
        }
      }
    }),
  );
  return removed ? result : null;
}

/** The vertex at `path` of `latlngs` and its two ring neighbours: {point, prev, next}. */
export function vertexWithNeighbours(latlngs, [p, r, v]) {
  const ring = latlngs[p][r];
  return { point: ring[v], prev: at(ring, v - 1), next: at(ring, v + 1) };
}
