// Geometry at the browser edge: the API speaks GeoJSON in (lon, lat), Leaflet in (lat, lon). The
// swap happens here and nowhere else. Leaflet polygons do not repeat a ring's first vertex at its
// end; GeoJSON rings do. Grids are always drawn as multi-polygons (Leaflet's three-level nesting:
// polygons → rings → vertices), so that every index path into a grid has the same shape
// [polygon, ring, vertex]. Pure functions (no Leaflet): a vertex is anything with `lat` and `lng`
// (a Leaflet LatLng or a plain object), or a [lat, lng] pair.

/** {lat, lng} of a Leaflet LatLng, a plain object or a [lat, lng] pair. */
export function latLngOf(value) {
  if (Array.isArray(value)) return { lat: Number(value[0]), lng: Number(value[1]) };
  return { lat: Number(value.lat), lng: Number(value.lng) };
}

function openRing(ring) {
  const points = ring.map(([lon, lat]) => ({ lat, lng: lon }));
  const first = points[0];
  const last = points[points.length - 1];
  if (points.length > 1 && first.lat === last.lat && first.lng === last.lng) points.pop();
  return points;
}

function closedRing(ring) {
  const points = ring.map((vertex) => {
    const { lat, lng } = latLngOf(vertex);
    return [lng, lat];
  });
  if (points.length) {
    const [x0, y0] = points[0];
    const [xn, yn] = points[points.length - 1];
    if (x0 !== xn || y0 !== yn) points.push([x0, y0]);
  }
  return points;
}

/** A GeoJSON Polygon or MultiPolygon (lon, lat) → Leaflet multi-polygon latlngs [[[{lat, lng}]]]. */
export function toLatLngs(geometry) {
  if (!geometry) return [];
  if (geometry.type === "Polygon") return [geometry.coordinates.map(openRing)];
  if (geometry.type === "MultiPolygon") return geometry.coordinates.map((polygon) => polygon.map(openRing));
  throw new Error(`not a polygon: ${geometry.type}`);
}

/** How deep Leaflet nests `latlngs`: 1 a ring, 2 a polygon, 3 a multi-polygon. */
export function depthOf(latlngs) {
  let depth = 0;
  let node = latlngs;
  while (Array.isArray(node) && node.length && !isVertex(node[0])) {
    depth += 1;
    node = node[0];
  }
  return depth + 1;
}

function isVertex(value) {
  return (value !== null && typeof value === "object" && !Array.isArray(value) && "lat" in value)
    || (Array.isArray(value) && typeof value[0] === "number");
}

/** Leaflet polygon latlngs (any nesting) → the three-level multi-polygon form. */
export function asMulti(latlngs) {
  const depth = depthOf(latlngs);
  if (depth === 1) return [[latlngs]];
  if (depth === 2) return [latlngs];
  return latlngs;
}

/** Leaflet polygon latlngs → a GeoJSON MultiPolygon (lon, lat) with closed rings; empty rings dropped. */
export function toMultiPolygon(latlngs) {
  const polygons = asMulti(latlngs)
    .map((polygon) => polygon.filter((ring) => ring.length >= 3).map(closedRing))
    .filter((polygon) => polygon.length);
  return { type: "MultiPolygon", coordinates: polygons };
}

/** Leaflet polyline latlngs → a GeoJSON LineString (lon, lat). */
export function toLineString(latlngs) {
  return {
    type: "LineString",
    coordinates: latlngs.map((vertex) => {
      const { lat, lng } = latLngOf(vertex);
      return [lng, lat];
    }),
  };
}

/** Any GeoJSON geometry → Leaflet latlngs of the same nesting, (lat, lon): for drawing problems and changes. */
export function swap(coordinates) {
  if (typeof coordinates[0] === "number") return [coordinates[1], coordinates[0]];
  return coordinates.map(swap);
}

/** The [[south, west], [north, east]] bounds of a GeoJSON geometry (or null when it has no vertex). */
export function boundsOf(geometry) {
  let south = Infinity;
  let west = Infinity;
  let north = -Infinity;
  let east = -Infinity;
  const visit = (coordinates) => {
    if (typeof coordinates[0] === "number") {
      const [lon, lat] = coordinates;
      south = Math.min(south, lat);
      north = Math.max(north, lat);
      west = Math.min(west, lon);
      east = Math.max(east, lon);
    } else {
      coordinates.forEach(visit);
    }
  };
  const walk = (g) => {
    if (!g) return;
    if (g.type === "GeometryCollection") g.geometries.forEach(walk);
    else if (g.coordinates) visit(g.coordinates);
  };
  walk(geometry);
  return south === Infinity ? null : [[south, west], [north, east]];
}

/** Whether two GeoJSON geometries have the same coordinates exactly. */
export function sameGeometry(a, b) {
  return JSON.stringify(a?.coordinates ?? null) === JSON.stringify(b?.coordinates ?? null);
}
