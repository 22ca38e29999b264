// Navigation to the scene from the phone: a `geo:` link (any map app, WGS 84) and an AMap URI.
// AMap works in GCJ-02 ("Mars coordinates"): the point is converted with the public forward formula
// (Krasovsky 1940 ellipsoid), the same as dispatch/gcj02.py on the server. Pure functions.

const A = 6378245.0; // Krasovsky 1940 semi-major axis (m)
const EE = 0.006693421622965943; // Krasovsky 1940 first eccentricity squared

// The bounding box the public implementations use for "in China" (no offset outside).
const CHINA = { minLon: 72.004, maxLon: 137.8347, minLat: 0.8293, maxLat: 55.8271 };

// AMap's travel modes by the member's travel mode.
const AMAP_MODES = { foot: "walk", ebike: "ride", car: "car" };

export function inChina(lon, lat) {
  return lon >= CHINA.minLon && lon <= CHINA.maxLon && lat >= CHINA.minLat && lat <= CHINA.maxLat;
}

function offset(lon, lat) {
  const x = lon - 105.0;
  const y = lat - 35.0;
  const pi = Math.PI;
  const common = ((20.0 * Math.sin(6.0 * x * pi) + 20.0 * Math.sin(2.0 * x * pi)) * 2.0) / 3.0;
  let dLat =
    -100.0 + 2.0 * x + 3.0 * y + 0.2 * y * y + 0.1 * x * y + 0.2 * Math.sqrt(Math.abs(x)) + common +
    ((20.0 * Math.sin(y * pi) + 40.0 * Math.sin((y / 3.0) * pi)) * 2.0) / 3.0 +
    ((160.0 * Math.sin((y / 12.0) * pi) + 320.0 * Math.sin((y * pi) / 30.0)) * 2.0) / 3.0;
  let dLon =
    300.0 + x + 2.0 * y + 0.1 * x * x + 0.1 * x * y + 0.1 * Math.sqrt(Math.abs(x)) + common +
    ((20.0 * Math.sin(x * pi) + 40.0 * Math.sin((x / 3.0) * pi)) * 2.0) / 3.0 +
    ((150.0 * Math.sin((x / 12.0) * pi) + 300.0 * Math.sin((x / 30.0) * pi)) * 2.0) / 3.0;
  const radLat = (lat / 180.0) * pi;
  const magic = 1.0 - EE * Math.sin(radLat) ** 2;
  const sqrtMagic = Math.sqrt(magic);
  dLat = (dLat * 180.0) / (((A * (1.0 - EE)) / (magic * sqrtMagic)) * pi);
  dLon = (dLon * 180.0) / ((A / sqrtMagic) * Math.cos(radLat) * pi);
  return [dLon, dLat];
}

/** WGS 84 → GCJ-02, [lon, lat] in degrees (unchanged outside China). */
export function wgs84ToGcj02(lon, lat) {
  if (!inChina(lon, lat)) {
    return [lon, lat];
  }
  const [dLon, dLat] = offset(lon, lat);
  return [lon + dLon, lat + dLat];
}

/** A `geo:` URI (RFC 5870, WGS 84) with the point as the query, which Android's map apps open. */
export function geoUri(lon, lat, label = "") {
  const point = `${lat.toFixed(6)},${lon.toFixed(6)}`;
  const name = label ? `(${encodeURIComponent(label)})` : "";
  return `geo:${point}?q=${point}${name}`;
}

/** AMap's navigation URI to a WGS 84 point (converted to GCJ-02), opening the app when installed. */
export function amapUri(lon, lat, name = "", travelMode = "car") {
  const [gLon, gLat] = wgs84ToGcj02(lon, lat);
  const params = new URLSearchParams({
    to: `${gLon.toFixed(6)},${gLat.toFixed(6)},${name}`,
    mode: AMAP_MODES[travelMode] || "car",
    src: "gridlink",
    coordinate: "gaode",
    callnative: "1",
  });
  return `https://uri.amap.com/navigation?${params.toString()}`;
}
