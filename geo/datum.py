"""Geodetic datums of the coordinates we are given: WGS 84 (what GridLink stores), GCJ-02 and BD-09,
converted to and from WGS 84 for single points and numpy batches. Everything that takes a point from
outside (positions, intake, the console on GCJ-02 tiles) names its datum and converts here, at the
edge; nothing past the edge holds anything but WGS 84.

GCJ-02 ("Mars coordinates", 国测局坐标): phones inside WeChat and Chinese web maps (AMap, Tencent)
report it: WGS 84 shifted by a deliberately obscured offset of up to some 700 m. The forward offset
is the formula that has been public since 2013 (Krasovsky 1940 ellipsoid: a = 6378245 m,
e² = 0.00669342162296594323); it reproduces AMap's own conversion API to its printed precision
(tests/dispatch/test_gcj02.py). There is no closed-form inverse: `gcj02_to_wgs84` solves
wgs84_to_gcj02(w) = g by fixed-point iteration (w ← w + (g - f(w))), which contracts fast because
the offset changes slowly, until every point is within INVERSE_TOLERANCE_DEG — not the one-step
approximation g - (f(g) - g) many libraries stop at, which is off by up to a couple of metres.
Outside China (the usual bounding box of the published implementations) no offset applies and
points pass unchanged.

BD-09 (百度坐标): Baidu's maps and geocoder: GCJ-02 moved once more, by the formula published with
Baidu's own samples (a small rotation and scaling about the origin plus a fixed shift of
0.0065°/0.006°, applied everywhere). Its inverse is solved by the same fixed-point iteration, so
BD-09 → WGS 84 is exact to the tolerance too (the usual one-step inverse misses by some 0.1 m).

Coordinates are (lon, lat) in degrees, like everywhere in GridLink.

Why our own: the PyPI packages that do this (eviltransform, prcoords, coord-convert) have had no
release since 2018–2019 and convert one point per call in pure Python; the newer ones are
single-maintainer wrappers of the same formula, again without numpy batches. The formulas are a
dozen lines of public-domain arithmetic, so a dependency buys nothing.
"""

from __future__ import annotations

import numpy as np

_A = 6378245.0  # Krasovsky 1940 semi-major axis (m)
_EE = 0.00669342162296594323  # Krasovsky 1940 first eccentricity squared
INVERSE_TOLERANCE_DEG = 1e-9  # well inside the 1e-7° (≈ 1 cm) asked of the inverse
INVERSE_MAX_ITERATIONS = 30  # 4–6 are needed in practice

# The bounding box the public implementations use for "in China" (the offset is applied inside).
CHINA_MIN_LON, CHINA_MAX_LON = 72.004, 137.8347
CHINA_MIN_LAT, CHINA_MAX_LAT = 0.8293, 55.8271


def _in_china(lon: np.ndarray, lat: np.ndarray) -> np.ndarray:
    return (lon >= CHINA_MIN_LON) & (lon <= CHINA_MAX_LON) & (lat >= CHINA_MIN_LAT) & (lat <= CHINA_MAX_LAT)


def _offset(lon: np.ndarray, lat: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The GCJ-02 offset (dlon, dlat) in degrees at WGS 84 (lon, lat)."""
    x = lon - 105.0
    y = lat - 35.0
    pi = np.pi
    common = (20.0 * np.sin(6.0 * x * pi) + 20.0 * np.sin(2.0 * x * pi)) * 2.0 / 3.0
    dlat = (-100.0 + 2.0 * x + 3.0 * y + 0.2 * y * y + 0.1 * x * y + 0.2 * np.sqrt(np.abs(x)) + common
            + (20.0 * np.sin(y * pi) + 40.0 * np.sin(y / 3.0 * pi)) * 2.0 / 3.0
            + (160.0 * np.sin(y / 12.0 * pi) + 320.0 * np.sin(y * pi / 30.0)) * 2.0 / 3.0)
    dlon = (300.0 + x + 2.0 * y + 0.1 * x * x + 0.1 * x * y + 0.1 * np.sqrt(np.abs(x)) + common
            + (20.0 * np.sin(x * pi) + 40.0 * np.sin(x / 3.0 * pi)) * 2.0 / 3.0
            + (150.0 * np.sin(x / 12.0 * pi) + 300.0 * np.sin(x / 30.0 * pi)) * 2.0 / 3.0)
    radlat = lat / 180.0 * pi
    magic = 1.0 - _EE * np.sin(radlat) ** 2
    sqrtmagic = np.sqrt(magic)
    dlat = (dlat * 180.0) / ((_A * (1.0 - _EE)) / (magic * sqrtmagic) * pi)
    dlon = (dlon * 180.0) / (_A / sqrtmagic * np.cos(radlat) * pi)
    return dlon, dlat


def wgs84_to_gcj02_array(lon, lat) -> tuple[np.ndarray, np.ndarray]:
    """WGS 84 → GCJ-02 for arrays of longitudes and latitudes (degrees); returns new float arrays."""
    lon = np.asarray(lon, dtype=float)
    lat = np.asarray(lat, dtype=float)
    dlon, dlat = _offset(lon, lat)
    inside = _in_china(lon, lat)
    return np.where(inside, lon + dlon, lon), np.where(inside, lat + dlat, lat)


def gcj02_to_wgs84_array(lon, lat) -> tuple[np.ndarray, np.ndarray]:
    """GCJ-02 → WGS 84 for arrays (degrees), exact to INVERSE_TOLERANCE_DEG by iteration."""
    g_lon = np.asarray(lon, dtype=float)
    g_lat = np.asarray(lat, dtype=float)
    inside = _in_china(g_lon, g_lat)
    w_lon, w_lat = g_lon.copy(), g_lat.copy()
    if not np.any(inside):
        return w_lon, w_lat
    for _ in range(INVERSE_MAX_ITERATIONS):
        dlon, dlat = _offset(w_lon, w_lat)
        err_lon = np.where(inside, g_lon - (w_lon + dlon), 0.0)
        err_lat = np.where(inside, g_lat - (w_lat + dlat), 0.0)
        w_lon = w_lon + err_lon
        w_lat = w_lat + err_lat
        if max(np.max(np.abs(err_lon)), np.max(np.abs(err_lat))) < INVERSE_TOLERANCE_DEG:
            break
    return w_lon, w_lat


def wgs84_to_gcj02(lon: float, lat: float) -> tuple[float, float]:
    """One WGS 84 point to GCJ-02, (lon, lat) in degrees."""
    a, b = wgs84_to_gcj02_array(lon, lat)
    return float(a), float(b)


def gcj02_to_wgs84(lon: float, lat: float) -> tuple[float, float]:
    """One GCJ-02 point to WGS 84, (lon, lat) in degrees."""
    a, b = gcj02_to_wgs84_array(lon, lat)
    return float(a), float(b)


# --- BD-09 ---------------------------------------------------------------------------------------

_X_PI = np.pi * 3000.0 / 180.0
BD09_DLON, BD09_DLAT = 0.0065, 0.006


def gcj02_to_bd09_array(lon, lat) -> tuple[np.ndarray, np.ndarray]:
    """GCJ-02 → BD-09 for arrays (degrees): Baidu's published forward formula."""
    x = np.asarray(lon, dtype=float)
    y = np.asarray(lat, dtype=float)
    z = np.sqrt(x * x + y * y) + 0.00002 * np.sin(y * _X_PI)
    theta = np.arctan2(y, x) + 0.000003 * np.cos(x * _X_PI)
    return z * np.cos(theta) + BD09_DLON, z * np.sin(theta) + BD09_DLAT


def bd09_to_gcj02_array(lon, lat) -> tuple[np.ndarray, np.ndarray]:
    """BD-09 → GCJ-02 for arrays (degrees), exact to INVERSE_TOLERANCE_DEG by iteration (started
    from the shift alone)."""
    b_lon = np.asarray(lon, dtype=float)
    b_lat = np.asarray(lat, dtype=float)
    g_lon, g_lat = b_lon - BD09_DLON, b_lat - BD09_DLAT
    for _ in range(INVERSE_MAX_ITERATIONS):
        f_lon, f_lat = gcj02_to_bd09_array(g_lon, g_lat)
        err_lon, err_lat = b_lon - f_lon, b_lat - f_lat
        g_lon, g_lat = g_lon + err_lon, g_lat + err_lat
        if max(np.max(np.abs(err_lon)), np.max(np.abs(err_lat))) < INVERSE_TOLERANCE_DEG:
            break
    return g_lon, g_lat


def wgs84_to_bd09_array(lon, lat) -> tuple[np.ndarray, np.ndarray]:
    return gcj02_to_bd09_array(*wgs84_to_gcj02_array(lon, lat))


def bd09_to_wgs84_array(lon, lat) -> tuple[np.ndarray, np.ndarray]:
    return gcj02_to_wgs84_array(*bd09_to_gcj02_array(lon, lat))


def gcj02_to_bd09(lon: float, lat: float) -> tuple[float, float]:
    a, b = gcj02_to_bd09_array(lon, lat)
    return float(a), float(b)


def bd09_to_gcj02(lon: float, lat: float) -> tuple[float, float]:
    a, b = bd09_to_gcj02_array(lon, lat)
    return float(a), float(b)


def wgs84_to_bd09(lon: float, lat: float) -> tuple[float, float]:
    a, b = wgs84_to_bd09_array(lon, lat)
    return float(a), float(b)


def bd09_to_wgs84(lon: float, lat: float) -> tuple[float, float]:
    a, b = bd09_to_wgs84_array(lon, lat)
    return float(a), float(b)


# --- by name ----------------------------------------------------------------------------------------
#
# The datums an API accepts, spelled as the positions API has always spelled them. WGS84 is the
# default wherever a datum is optional.

WGS84, GCJ02, BD09 = "WGS84", "GCJ02", "BD09"
DATUMS = (WGS84, GCJ02, BD09)
DATUM_HELP = ("The datum of the coordinates given: WGS84 (GPS; the default), GCJ02 (AMap, Tencent, WeChat) or "
              "BD09 (Baidu). GCJ02 and BD09 are converted to WGS 84 on arrival; GridLink stores and answers WGS 84.")

_TO_WGS84 = {GCJ02: gcj02_to_wgs84_array, BD09: bd09_to_wgs84_array}


def to_wgs84(lon: float, lat: float, datum: str = WGS84) -> tuple[float, float]:
    """One point in `datum` (one of DATUMS) to WGS 84, (lon, lat) in degrees."""
    if datum == WGS84:
        return float(lon), float(lat)
    convert = _TO_WGS84.get(datum)
    if convert is None:
        raise ValueError(f"unknown datum {datum!r}; one of {', '.join(DATUMS)}")
    a, b = convert(lon, lat)
    return float(a), float(b)
