"""GCJ-02 ↔ WGS 84 (geo.datum) against coordinate pairs published by converters we did not write."""

import numpy as np
import pytest

from geo.datum import gcj02_to_wgs84, gcj02_to_wgs84_array, wgs84_to_gcj02, wgs84_to_gcj02_array


@pytest.mark.parametrize(("wgs", "gcj", "tolerance"), [
    # AMap's coordinate-conversion web service, the example of its documentation (Beijing, Wangjing),
    # 6 decimals: within half of the last printed digit.
    ((116.481499, 39.990475), (116.487586, 39.991754), 5e-7),
    # Beijing railway station, the example of the geoChina R package: both sides rounded to 5 decimals
    # (the input too), so within one unit of the last digit.
    ((116.42079, 39.90105), (116.42703, 39.90245), 1e-5),
    # The coord-convert package's README (full double precision).
    ((120.0, 40.0), (120.00567568355486, 40.0013047896019), 1e-12),
])
def test_wgs84_to_gcj02_matches_published_pairs(wgs, gcj, tolerance):
    lon, lat = wgs84_to_gcj02(*wgs)
    assert abs(lon - gcj[0]) <= tolerance
    assert abs(lat - gcj[1]) <= tolerance


def test_hangzhou_pair_of_a_one_step_converter_and_our_exact_inverse():
    """Alibaba Cloud's address service documents GCJ-02 (120.026268, 30.279164) in Yuhang, Hangzhou
    as WGS 84 (120.021519, 30.281543): that is the one-step approximation g - (f(g) - g), which we
    reproduce to its 6 decimals. Our inverse is exact instead: taken back to GCJ-02 it lands on the
    input, where the one-step answer misses it by more than a metre."""
    gcj = (120.026268, 30.279164)
    published = (120.021519, 30.281543)
    ahead = wgs84_to_gcj02(*gcj)
    one_step = (2 * gcj[0] - ahead[0], 2 * gcj[1] - ahead[1])
    assert one_step == pytest.approx(published, abs=5e-7)

    exact = gcj02_to_wgs84(*gcj)
    back = wgs84_to_gcj02(*exact)
    assert back == pytest.approx(gcj, abs=1e-7)
    missed = wgs84_to_gcj02(*published)
    assert max(abs(missed[0] - gcj[0]), abs(missed[1] - gcj[1])) > 1e-5  # about 1.2 m
    # the exact inverse and the one-step answer differ by about a metre and a half here
    assert 1e-5 < abs(exact[0] - published[0]) < 3e-5


def test_round_trip_within_a_micro_degree_across_china():
    rng = np.random.default_rng(5)
    lon = rng.uniform(73.0, 135.0, 20000)
    lat = rng.uniform(18.0, 53.0, 20000)
    g_lon, g_lat = wgs84_to_gcj02_array(lon, lat)
    assert np.max(np.hypot(g_lon - lon, g_lat - lat)) > 1e-3  # an offset was applied
    w_lon, w_lat = gcj02_to_wgs84_array(g_lon, g_lat)
    assert np.max(np.abs(w_lon - lon)) < 1e-7
    assert np.max(np.abs(w_lat - lat)) < 1e-7


def test_round_trip_in_the_demo_sub_district():
    for wgs in [(120.02, 30.37), (119.98, 30.40), (120.05, 30.35)]:
        assert gcj02_to_wgs84(*wgs84_to_gcj02(*wgs)) == pytest.approx(wgs, abs=1e-7)


@pytest.mark.parametrize("point", [(2.3522, 48.8566), (-74.0060, 40.7128), (151.2093, -33.8688), (139.80, 35.70)])
def test_outside_china_nothing_changes(point):
    assert wgs84_to_gcj02(*point) == point
    assert gcj02_to_wgs84(*point) == point


def test_arrays_mix_points_inside_and_outside():
    lon = np.array([116.481499, 2.3522, 120.0])
    lat = np.array([39.990475, 48.8566, 40.0])
    g_lon, g_lat = wgs84_to_gcj02_array(lon, lat)
    assert g_lon.shape == (3,)
    assert (g_lon[1], g_lat[1]) == (2.3522, 48.8566)
    assert g_lon[0] == pytest.approx(116.487586, abs=5e-7)
    assert g_lon[2] == pytest.approx(120.00567568355486, abs=1e-12)
    w_lon, w_lat = gcj02_to_wgs84_array(g_lon, g_lat)
    assert np.allclose(w_lon, lon, atol=1e-7) and np.allclose(w_lat, lat, atol=1e-7)
    # inputs are not changed in place
    assert lon[0] == 116.481499
