"""The recommendation's floor, shared by the benchmarks: bench_recommend.py runs it beside the
service and the API, bench_load.py in its own process and (through tests/bench/bench_server.py) in
the server under load."""

# The floor's two queries (bench_recommend.py runs the same floor beside the service and the API).
PIP_SQL = ("SELECT g.id FROM geo_grid g WHERE g.version_id = %(v)s AND "
           "ST_Covers(g.boundary, ST_SetSRID(ST_MakePoint(%(x)s, %(y)s), 4326)) ORDER BY g.code LIMIT 1")
KNN_SQL = ("SELECT m.id FROM dispatch_member m WHERE m.subdistrict_id = %(s)s AND m.active "
           "ORDER BY m.home <-> ST_SetSRID(ST_MakePoint(%(x)s, %(y)s), 4326) LIMIT 5")


def recommendation_floor(sub):
    """The recommendation's floor for a point of `sub`: the grid (point-in-polygon), the nearest 5
    members (KNN) and one single-source Dijkstra on the car graph. Sync: run in a thread."""
    from django.contrib.gis.geos import Point
    from django.db import connection
    from scipy.sparse.csgraph import dijkstra

    from dispatch import routing
    from dispatch.models import TravelMode
    from geo.selectors import boundary_version_in_force

    version = boundary_version_in_force(subdistrict=sub)
    graph = routing.graph_for(sub.pk)
    car = graph.reverse[TravelMode.CAR]

    def floor(x: float, y: float) -> None:
        params = {"v": version.pk, "s": sub.pk, "x": x, "y": y}
        with connection.cursor() as cur:
            cur.execute(PIP_SQL, params)
            cur.fetchall()
            cur.execute(KNN_SQL, params)
            cur.fetchall()
        _, node = graph.tree.query(routing.points_xy([Point(x, y, srid=4326)]))
        dijkstra(car, directed=True, indices=int(node[0]))

    return floor
