"""Travel times on the road network, by the member's mode (foot, e-bike, car).

The road table of a sub-district becomes a sparse graph held in process (scipy's compressed
sparse rows): one single-source Dijkstra on the *reversed* graph from the incident's nearest
junction gives every junction's travel time *to* the incident in well under a millisecond. The
graph is derived from the database and rebuilt when the road table changes (a fingerprint of
count, max id and total length, looked at no more than every GRAPH_CHECK_SECONDS), so several
server processes each hold their own copy and never need to agree on anything. pgRouting gives
the same answers in SQL (`pgr_dijkstraCost`); `make bench` measures both, and the in-process graph
is the faster one on this network (see the README).

Positions reach the network by a straight access leg to the nearest junction, walked or ridden at
the mode's speed with a detour factor. Distances are metres in EPSG:4549, never degrees.
"""

import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np
from django.contrib.gis.geos import Point
from django.db import connection
from pyproj import Transformer
from scipy.sparse import csr_matrix
from scipy.sparse.csgraph import dijkstra
from scipy.spatial import cKDTree

from dispatch.models import TravelMode

_TO_LOCAL = Transformer.from_crs("EPSG:4326", "EPSG:4549", always_xy=True)
_TO_WGS84 = Transformer.from_crs("EPSG:4549", "EPSG:4326", always_xy=True)
# pyproj sets up a PROJ context per thread on first use (about 40 ms), and under ASGI every
# request runs in a new thread: so every transformation runs in one long-lived thread instead.
_PROJ_THREAD = ThreadPoolExecutor(max_workers=1, thread_name_prefix="gridlink-proj")


def _transform(transformer: Transformer, xs: np.ndarray, ys: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    return _PROJ_THREAD.submit(transformer.transform, xs, ys).result()

# Speeds in km/h. A car keeps to a share of the limit in town and obeys one-way streets; an
# e-bike is capped at the legal 25 km/h (20 in traffic) and also obeys them; walking ignores them.
CAR_SHARE_OF_LIMIT = 0.65
EBIKE_KMH = 20.0
FOOT_KMH = 5.0
ACCESS_KMH: dict[str, float] = {TravelMode.FOOT: FOOT_KMH, TravelMode.EBIKE: 12.0, TravelMode.CAR: 15.0}
ACCESS_DETOUR = 1.3  # straight-line access legs are longer on the ground
GRAPH_CHECK_SECONDS = 30.0


def to_local(lonlat: np.ndarray) -> np.ndarray:
    """WGS 84 (lon, lat) rows to EPSG:4549 metres."""
    x, y = _transform(_TO_LOCAL, lonlat[:, 0], lonlat[:, 1])
    return np.column_stack([x, y])


def to_wgs84(xy: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """EPSG:4549 metres rows to WGS 84 longitudes and latitudes."""
    return _transform(_TO_WGS84, xy[:, 0], xy[:, 1])


def _edge_speed_kmh(mode: str, limit: np.ndarray) -> np.ndarray:
    if mode == TravelMode.CAR:
        return limit * CAR_SHARE_OF_LIMIT
    if mode == TravelMode.EBIKE:
        return np.minimum(limit, EBIKE_KMH)
    return np.full_like(limit, FOOT_KMH)


@dataclass
class RoadGraph:
    """Junctions (index → coordinates in EPSG:4549 metres) and one reversed travel-time matrix
    per mode: `reverse[mode][v, u]` is the seconds from junction u to junction v."""

    xy: np.ndarray
    tree: cKDTree
    forward: dict[str, csr_matrix]
    reverse: dict[str, csr_matrix]

    @classmethod
    def from_rows(cls, rows: list[tuple]) -> "RoadGraph":
        """rows: (source, target, length_m, speed_kmh, one_way, x1, y1, x2, y2) with lon/lat ends."""
        if not rows:
            raise ValueError("the sub-district has no roads")
        arr = np.array([r[:5] for r in rows], dtype=float)
        ends = np.array([r[5:9] for r in rows], dtype=float)
        ids, inverse = np.unique(arr[:, :2].astype(np.int64), return_inverse=True)
        inverse = inverse.reshape(-1, 2)
        src, dst = inverse[:, 0], inverse[:, 1]
        xy = np.zeros((len(ids), 2))
        xy[src] = to_local(ends[:, 0:2])
        xy[dst] = to_local(ends[:, 2:4])
        length, limit, one_way = arr[:, 2], arr[:, 3], arr[:, 4].astype(bool)
        forward, reverse = {}, {}
        n = len(ids)
        for mode in TravelMode.values:
            seconds = length / (_edge_speed_kmh(mode, limit) / 3.6)
            both = ~one_way if mode != TravelMode.FOOT else np.ones_like(one_way)
            u = np.concatenate([src, dst[both]])
            v = np.concatenate([dst, src[both]])
            w = np.concatenate([seconds, seconds[both]])
            # Parallel edges: keep the fastest (a CSR matrix would add them up).
            order = np.lexsort((w, v, u))
            u, v, w = u[order], v[order], w[order]
            first = np.ones(len(u), dtype=bool)
            first[1:] = (u[1:] != u[:-1]) | (v[1:] != v[:-1])
            u, v, w = u[first], v[first], np.maximum(w[first], 1e-3)
            forward[mode] = csr_matrix((w, (u, v)), shape=(n, n))
            reverse[mode] = csr_matrix((w, (v, u)), shape=(n, n))
        return cls(xy=xy, tree=cKDTree(xy), forward=forward, reverse=reverse)

    def seconds_to(self, target_xy: np.ndarray, origins_xy: np.ndarray, modes: list[str]) -> np.ndarray:
        """Travel seconds from each origin (by its mode) to the target: access leg, network,
        access leg. Unreachable origins get inf."""
        out = np.full(len(origins_xy), np.inf)
        if len(origins_xy) == 0:
            return out
        t_dist, t_node = self.tree.query(target_xy)
        o_dist, o_node = self.tree.query(origins_xy)
        modes_arr = np.asarray(modes)
        for mode in set(modes):
            mask = modes_arr == mode
            network = dijkstra(self.reverse[mode], directed=True, indices=int(t_node))
            access = ACCESS_DETOUR * (o_dist[mask] + t_dist) / (ACCESS_KMH[mode] / 3.6)
            out[mask] = network[o_node[mask]] + access
        # Someone already at the scene needs no network at all.
        straight = np.hypot(*(origins_xy - target_xy).T)
        near = straight < (o_dist + t_dist)
        if near.any():
            walk = np.array([ACCESS_KMH[m] for m in modes_arr[near]]) / 3.6
            out[near] = np.minimum(out[near], ACCESS_DETOUR * straight[near] / walk)
        return out

    def routes_to(self, target_xy: np.ndarray, origins_xy: np.ndarray,
                  modes: list[str]) -> list[list[tuple[float, float]] | None]:
        """The fastest route from each origin (by its mode) to the target, as WGS 84 (lon, lat)
        points, origin and target included (None when unreachable): one Dijkstra per travel mode
        from the target on the reversed graph, whose predecessor tree holds every origin's next
        junction towards the target — not one search per origin."""
        if len(origins_xy) == 0:
            return []
        _t_dist, t_node = self.tree.query(target_xy)
        _o_dist, o_nodes = self.tree.query(origins_xy)
        pred_by_mode = {mode: dijkstra(self.reverse[mode], directed=True, indices=int(t_node),
                                       return_predecessors=True)[1] for mode in set(modes)}
        sizes, pieces = [], []
        for mode, o_node, o_xy in zip(modes, o_nodes.tolist(), origins_xy, strict=True):
            pred, nodes, k = pred_by_mode[mode], [o_node], o_node
            while k != t_node and k >= 0 and len(nodes) <= len(pred):
                k = int(pred[k])
                nodes.append(k)
            if k != t_node:
                sizes.append(0)
                continue
            pts = np.vstack([o_xy, self.xy[nodes], target_xy])
            sizes.append(len(pts))
            pieces.append(pts)
        if not pieces:
            return [None] * len(sizes)
        lon, lat = to_wgs84(np.vstack(pieces))  # one trip to the projection thread for all
        lon, lat = np.round(lon, 6).tolist(), np.round(lat, 6).tolist()
        out, at = [], 0
        for n in sizes:
            out.append(list(zip(lon[at:at + n], lat[at:at + n], strict=True)) if n else None)
            at += n
        return out

    def route(self, origin_xy: np.ndarray, target_xy: np.ndarray, mode: str) -> list[tuple[float, float]]:
        """The junctions of the fastest route as WGS 84 (lon, lat), origin and target included."""
        _, o_node = self.tree.query(origin_xy)
        _, t_node = self.tree.query(target_xy)
        _, pred = dijkstra(self.forward[mode], directed=True, indices=int(o_node), return_predecessors=True)
        nodes, k = [], int(t_node)
        while k >= 0 and k != o_node:
            nodes.append(k)
            k = int(pred[k])
        if k < 0:
            return []
        nodes.append(int(o_node))
        pts = np.vstack([origin_xy, self.xy[nodes[::-1]], target_xy])
        lon, lat = to_wgs84(pts)
        return [(round(float(a), 6), round(float(b), 6)) for a, b in zip(lon, lat, strict=True)]


_cache: dict[int, tuple[tuple, float, RoadGraph]] = {}
_lock = threading.Lock()

_ROWS_SQL = """
    SELECT source, target, length_m, speed_kmh, one_way::int,
           ST_X(ST_StartPoint(line)), ST_Y(ST_StartPoint(line)), ST_X(ST_EndPoint(line)), ST_Y(ST_EndPoint(line))
    FROM geo_road WHERE subdistrict_id = %s ORDER BY id
"""
_FINGERPRINT_SQL = "SELECT count(*), coalesce(max(id), 0), coalesce(sum(length_m), 0) FROM geo_road WHERE subdistrict_id = %s"


def graph_for(subdistrict_id: int) -> RoadGraph:
    """The road graph of a sub-district, built once per process and rebuilt when roads change."""
    now = time.monotonic()
    cached = _cache.get(subdistrict_id)
    if cached and now - cached[1] < GRAPH_CHECK_SECONDS:
        return cached[2]
    with connection.cursor() as cur:
        cur.execute(_FINGERPRINT_SQL, [subdistrict_id])
        fingerprint = tuple(cur.fetchone())
        if cached and cached[0] == fingerprint:
            _cache[subdistrict_id] = (fingerprint, now, cached[2])
            return cached[2]
        cur.execute(_ROWS_SQL, [subdistrict_id])
        graph = RoadGraph.from_rows(cur.fetchall())
    with _lock:
        _cache[subdistrict_id] = (fingerprint, now, graph)
    return graph


def points_xy(points: list[Point]) -> np.ndarray:
    if not points:
        return np.zeros((0, 2))
    return to_local(np.array([(p.x, p.y) for p in points], dtype=float))


def route(subdistrict_id: int, origin: Point, target: Point, mode: str) -> list[tuple[float, float]]:
    graph = graph_for(subdistrict_id)
    xy = points_xy([origin, target])
    return graph.route(xy[0], xy[1], mode)
