"""Grid files in and out (geo/interchange.py) and `manage.py geo_import_grids`: the demo's grids go out
as GeoJSON, GeoPackage and zipped Shapefile, in lon/lat and in metres (CGCS2000 Gauss-Kruger, Web
Mercator), and come back the same; a file GridLink cannot read exactly is refused with a message
naming what is wrong, and nothing is written.

Bad files are made with geopandas in tmp_path, the way a planner's desktop GIS would write them."""

import io
import tempfile
import zipfile
from pathlib import Path

import geopandas as gpd
import pytest
import shapely
from django.core.management import CommandError, call_command, execute_from_command_line
from django.db import connections
from django.utils import translation
from shapely.geometry import LineString, Point, box

from fixtures.demo import DEMO_CODE
from geo import interchange
from geo import models as geo
from geo.coverage import DraftGrid
from geo.interchange import ImportRefused, grids_of_version, read_grids, read_grids_path, write_grids
from geo.selectors import boundary_version_in_force

X0, Y0 = 120.0, 30.3  # clear of the demo sub-district; only the reading is tested with these


@pytest.fixture
def english():
    with translation.override("en"):
        yield


@pytest.fixture
def in_force(demo):
    """The demo's published version: 52 grids of 13 communities, Chinese names, real vertices."""
    sub = geo.Subdistrict.objects.get(code=DEMO_CODE)
    return boundary_version_in_force(subdistrict=sub)


def assert_same_grids(got: list[DraftGrid], expected: list[DraftGrid]) -> None:
    assert [(g.code, g.name, g.community) for g in got] == [(g.code, g.name, g.community) for g in expected]
    for a, b in zip(got, expected, strict=True):
        assert a.boundary.geom_type == "MultiPolygon"
        assert shapely.get_num_coordinates(a.boundary) == shapely.get_num_coordinates(b.boundary), a.code
        assert shapely.hausdorff_distance(a.boundary, b.boundary) < 1e-7, a.code  # degrees: about 1 cm


def frame(rows: list[dict], crs=4326) -> gpd.GeoDataFrame:
    """A layer as a desktop GIS would write it: rows of attributes and a `geometry`."""
    return gpd.GeoDataFrame([{k: v for k, v in row.items() if k != "geometry"} for row in rows],
                            geometry=[row["geometry"] for row in rows], crs=crs)


def two_grids(**override) -> list[dict]:
    rows = [{"code": "G1", "name": "第一网格", "community": "C1", "geometry": box(X0, Y0, X0 + 0.01, Y0 + 0.01)},
            {"code": "G2", "name": "第二网格", "community": "C1", "geometry": box(X0 + 0.01, Y0, X0 + 0.02, Y0 + 0.01)}]
    for row in rows:
        row.update(override)
    return rows


def shapefile_zip(layer: gpd.GeoDataFrame, tmp_path, *, leave_out: tuple[str, ...] = (), **kw) -> bytes:
    folder = tmp_path / "shp"
    folder.mkdir(exist_ok=True)
    layer.to_file(folder / "网格.shp", engine="pyogrio", **kw)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for part in sorted(folder.iterdir()):
            if part.suffix not in leave_out:
                archive.write(part, arcname=f"导出/{part.name}")  # in a folder, as zips from Windows often are
    return buffer.getvalue()


def as_file(layer: gpd.GeoDataFrame, fmt: str, tmp_path) -> tuple[bytes, str]:
    """The layer as a file of `fmt` (shp: zipped), in a folder of its own under tmp_path."""
    folder = Path(tempfile.mkdtemp(dir=tmp_path))
    if fmt == "shp":
        return shapefile_zip(layer, folder), "grids.zip"
    path = folder / f"grids.{fmt}"
    layer.to_file(path, engine="pyogrio", driver={"geojson": "GeoJSON", "gpkg": "GPKG"}[fmt])
    return path.read_bytes(), path.name


def refusal(data: bytes, filename: str) -> str:
    with pytest.raises(ImportRefused) as refused:
        read_grids(data, filename)
    assert refused.value.code == "import" and refused.value.http_status == 400
    return str(refused.value.message)


# --- round trips ---------------------------------------------------------------------------------

@pytest.mark.django_db
@pytest.mark.parametrize("crs", [4326, 4490, 4549, 3857])
@pytest.mark.parametrize("fmt", ["geojson", "gpkg", "shp"])
def test_the_demo_grids_go_out_and_come_back_the_same(in_force, fmt, crs):
    grids = grids_of_version(in_force)
    assert len(grids) == 52 and all(g.community for g in grids)
    data, filename, content_type = write_grids(grids, fmt, crs, name=f"{DEMO_CODE}-v{in_force.number}")
    assert filename == f"{DEMO_CODE}-v{in_force.number}" + {"geojson": ".geojson", "gpkg": ".gpkg", "shp": ".zip"}[fmt]
    assert content_type == interchange.FORMATS[fmt][2]
    read = interchange.read_grid_file(data, filename)
    assert read.source_crs == crs
    assert_same_grids(read.grids, grids)


@pytest.mark.django_db
def test_a_zipped_shapefile_holds_its_parts_with_short_field_names_and_utf8(in_force):
    data, _name, _type = write_grids(grids_of_version(in_force), "shp", 4549)
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        assert sorted(n.rsplit(".", 1)[1] for n in archive.namelist()) == ["cpg", "dbf", "prj", "shp", "shx"]
    layer = gpd.read_file(io.BytesIO(data), engine="pyogrio")
    assert list(layer.columns) == ["code", "name", "community", "geometry"]  # each at most 10 characters
    assert layer.crs.to_epsg() == 4549 and layer.total_bounds[0] > 400_000  # easting first, in metres


@pytest.mark.django_db
def test_a_draft_exports_its_draft_grids(in_force):
    draft = geo.BoundaryVersion.objects.create(subdistrict=in_force.subdistrict, number=99)
    first = in_force.grids.order_by("code").first()
    geo.DraftGrid.objects.create(version=draft, code="Z9", name="草稿网格", community=None, boundary=first.boundary)
    [grid] = grids_of_version(draft)
    assert (grid.code, grid.name, grid.community) == ("Z9", "草稿网格", None)
    data, filename, _type = write_grids([grid], "geojson", 4326)
    assert_same_grids(read_grids(data, filename), [grid])


def test_gauss_kruger_coordinates_are_read_easting_first(tmp_path):
    # EPSG:4549 defines northing first; GDAL hands over x = easting. On the central meridian (120°E)
    # the easting is the false easting, 500 000 m; 30.3°N lies 3 353 369.89 m north on CGCS2000.
    north = 3_353_369.89
    layer = frame([{"code": "G1", "name": "中央经线", "geometry": box(500_000, north, 501_000, north + 1_000)}], crs=4549)
    for fmt in ("geojson", "gpkg", "shp"):
        [grid] = read_grids(*as_file(layer, fmt, tmp_path))
        corners = shapely.get_coordinates(grid.boundary)
        assert min(abs(x - 120.0) + abs(y - 30.3) for x, y in corners) < 1e-7  # the south-west corner
        west, _south, east, _north = grid.boundary.bounds
        assert west == pytest.approx(120.0, abs=1e-9)
        assert east == pytest.approx(120.0 + 1_000 / (111_320 * 0.8634), abs=1e-4)  # 1 km east at 30.3°N


ARCGIS_4549 = (  # the .prj ArcGIS writes for EPSG:4549 (ESRI WKT: no EPSG code in it)
    'PROJCS["CGCS2000_3_Degree_GK_CM_120E",GEOGCS["GCS_China_Geodetic_Coordinate_System_2000",'
    'DATUM["D_China_2000",SPHEROID["CGCS2000",6378137.0,298.257222101]],PRIMEM["Greenwich",0.0],'
    'UNIT["Degree",0.0174532925199433]],PROJECTION["Gauss_Kruger"],PARAMETER["False_Easting",500000.0],'
    'PARAMETER["False_Northing",0.0],PARAMETER["Central_Meridian",120.0],PARAMETER["Scale_Factor",1.0],'
    'PARAMETER["Latitude_Of_Origin",0.0],UNIT["Meter",1.0]]')


def test_an_arcgis_prj_is_recognised(tmp_path):
    layer = frame(two_grids())
    folder = tmp_path / "arcgis"
    folder.mkdir()
    layer.to_crs(4549).to_file(folder / "grids.shp", engine="pyogrio", encoding="UTF-8")
    (folder / "grids.prj").write_text(ARCGIS_4549)
    read = interchange.read_grid_file_path(folder / "grids.shp")
    assert read.source_crs == 4549 and read.format == "Shapefile"
    assert_same_grids(read.grids, [DraftGrid(r["code"], r["name"], r["community"], shapely.MultiPolygon([r["geometry"]]))
                                   for r in two_grids()])


def test_polygons_become_multipolygons_and_attribute_names_may_be_upper_case(tmp_path):
    layer = frame([{"CODE": 101, "NAME": "一号网格", "Community": None, "geometry": box(X0, Y0, X0 + 0.01, Y0 + 0.01)}])
    [grid] = read_grids(*as_file(layer, "gpkg", tmp_path))
    assert (grid.code, grid.name, grid.community) == ("101", "一号网格", None)
    assert grid.boundary.geom_type == "MultiPolygon"


def test_a_shapefile_is_read_from_its_path_or_folder_and_a_gbk_one_without_cpg_keeps_its_chinese(tmp_path):
    layer = frame(two_grids())
    folder = tmp_path / "gbk"
    folder.mkdir()
    layer.to_file(folder / "grids.shp", engine="pyogrio", encoding="GBK")
    (folder / "grids.cpg").unlink()  # as older desktop tools leave them
    for path in (folder / "grids.shp", folder):
        assert [g.name for g in read_grids_path(path)] == ["第一网格", "第二网格"]
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for part in folder.iterdir():
            archive.write(part, arcname=part.name)
    assert [g.name for g in read_grids(buffer.getvalue(), "grids.zip")] == ["第一网格", "第二网格"]


# --- refusals ------------------------------------------------------------------------------------

@pytest.mark.parametrize("filename", ["grids.geojson", "grids.gpkg", "grids.zip"])
def test_broken_bytes_are_refused(english, filename):
    assert refusal(b"\x00\x01 not a grid file", filename).startswith("The file is not a readable")


def test_a_truncated_geopackage_and_a_csv_named_geojson_are_refused(english, tmp_path):
    data, _name = as_file(frame(two_grids()), "gpkg", tmp_path)
    assert refusal(data[:4096], "grids.gpkg") == "The file is not a readable GeoPackage file."
    assert refusal(b"code,name\nG1,x\n", "grids.geojson") == "The file is not a readable GeoJSON file."


def test_a_file_of_another_kind_and_a_bare_shp_are_refused(english):
    assert "not “grids.kml”" in refusal(b"<kml/>", "grids.kml")
    assert "in one .zip" in refusal(b"anything", "grids.shp")


@pytest.mark.filterwarnings("ignore:'crs' was not provided")
def test_a_file_without_crs_is_refused(english, tmp_path):
    no_crs = frame(two_grids(), crs=None)
    assert "has no .prj file" in refusal(shapefile_zip(no_crs, tmp_path), "grids.zip")
    data, name = as_file(no_crs, "gpkg", tmp_path)
    assert refusal(data, name).startswith("The file has no coordinate system")


def test_a_file_in_another_crs_is_refused(english, tmp_path):
    utm = frame(two_grids()).to_crs(32650)
    for fmt in ("geojson", "gpkg", "shp"):
        message = refusal(*as_file(utm, fmt, tmp_path))
        assert "EPSG:32650" in message and "EPSG:4549" in message


def test_metres_labelled_as_degrees_are_refused(english, tmp_path):
    wrong = frame(two_grids()).to_crs(4549).set_crs(4326, allow_override=True)
    message = refusal(*as_file(wrong, "gpkg", tmp_path))
    assert message.startswith("Feature 1 (code G1) lies at 500000.0,") and "EPSG:4326" in message


def test_a_missing_attribute_is_refused_naming_it(english, tmp_path):
    rows = [{k: v for k, v in row.items() if k != "name"} for row in two_grids()]
    message = refusal(*as_file(frame(rows), "shp", tmp_path))
    assert message == "The layer “grids” has no attribute “name” (its attributes: code, community)."


def test_a_missing_value_is_refused_naming_the_feature(english, tmp_path):
    rows = two_grids()
    rows[1]["name"] = None
    assert refusal(*as_file(frame(rows), "geojson", tmp_path)) == "Feature 2 (code G2) has no name."
    rows = two_grids()
    rows[0]["code"] = " "
    assert refusal(*as_file(frame(rows), "geojson", tmp_path)) == "Feature 1 has no code."


def test_a_point_layer_and_a_line_among_polygons_are_refused(english, tmp_path):
    points = frame(two_grids(geometry=Point(X0, Y0)))
    assert refusal(*as_file(points, "gpkg", tmp_path)) == \
        "The layer “grids” holds Point geometries; grids must be polygons."
    mixed = two_grids()
    mixed[1]["geometry"] = LineString([(X0, Y0), (X0 + 0.01, Y0 + 0.01)])
    assert refusal(*as_file(frame(mixed), "geojson", tmp_path)) == \
        "Feature 2 (code G2) is a LineString; grids must be polygons."


def test_a_null_or_empty_geometry_is_refused(english, tmp_path):
    for missing in (None, shapely.Polygon()):
        rows = two_grids()
        rows[1]["geometry"] = missing
        assert refusal(*as_file(frame(rows), "gpkg", tmp_path)) == "Feature 2 (code G2) has no geometry."


def test_duplicate_codes_are_refused(english, tmp_path):
    rows = two_grids() + [{"code": "G1", "name": "又一个", "community": "C1",
                           "geometry": box(X0, Y0 + 0.01, X0 + 0.01, Y0 + 0.02)}]
    assert refusal(*as_file(frame(rows), "shp", tmp_path)) == "The code G1 is used by features 1 and 3."


def test_an_empty_layer_is_refused(english, tmp_path):
    empty = gpd.GeoDataFrame({"code": [], "name": []}, geometry=gpd.GeoSeries([], crs=4326), crs=4326)
    path = tmp_path / "empty.gpkg"
    empty.to_file(path, engine="pyogrio", layer="grids", geometry_type="Polygon")
    assert refusal(path.read_bytes(), "empty.gpkg") == "The layer “grids” holds no features."
    assert "holds no features" in refusal(b'{"type": "FeatureCollection", "features": []}', "empty.geojson")


def test_a_file_too_large_or_with_too_many_features_is_refused(english, tmp_path, monkeypatch):
    data, name = as_file(frame(two_grids()), "geojson", tmp_path)
    monkeypatch.setattr(interchange, "MAX_BYTES", len(data) - 1)
    assert refusal(data, name).startswith("The file is larger than")
    monkeypatch.undo()
    monkeypatch.setattr(interchange, "MAX_FEATURES", 1)
    assert refusal(data, name) == "The layer “grids” holds 2 features; at most 1 are read."


def test_a_zip_with_two_datasets_or_none_is_refused(english, tmp_path):
    data, _name = as_file(frame(two_grids()), "geojson", tmp_path)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("a.geojson", data)
        archive.writestr("b.geojson", data)
    assert refusal(buffer.getvalue(), "two.zip").endswith("it holds a.geojson, b.geojson.")
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("readme.txt", "nothing here")
    assert refusal(buffer.getvalue(), "none.zip").endswith("it holds none.")
    assert "lacks its .dbf" in refusal(shapefile_zip(frame(two_grids()), tmp_path, leave_out=(".dbf",)), "x.zip")


def test_an_unknown_export_format_or_crs_is_a_domain_error(english):
    grid = DraftGrid("G1", "一", None, box(X0, Y0, X0 + 0.01, Y0 + 0.01))
    with pytest.raises(interchange.DomainError, match="Unknown export format"):
        write_grids([grid], "kml", 4326)
    with pytest.raises(interchange.DomainError, match="not 32650"):
        write_grids([grid], "gpkg", 32650)


# --- the command ---------------------------------------------------------------------------------

def _counts() -> tuple[int, int]:
    return geo.BoundaryVersion.objects.count(), geo.DraftGrid.objects.count()


@pytest.fixture
def demo_file(in_force, tmp_path):
    """The version in force as a planner gets it out of a desktop GIS: a shapefile in Gauss-Kruger."""
    data, _name, _type = write_grids(grids_of_version(in_force), "shp", 4549)
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        archive.extractall(tmp_path / "export")
    return tmp_path / "export" / "grids.shp"


def run(*args) -> str:
    out = io.StringIO()
    call_command("geo_import_grids", *map(str, args), stdout=out)
    return out.getvalue()


@pytest.mark.django_db
def test_a_dry_run_reports_what_it_read_and_writes_nothing(english, demo_file):
    before = _counts()
    output = run(demo_file)
    assert "Read 52 grids" in output and "EPSG:4549" in output and "converted to EPSG:4326" in output
    assert "No problems" in output and "Dry run: nothing written" in output
    assert _counts() == before
    assert "Dry run" in run(demo_file, "--dry-run", "--subdistrict", DEMO_CODE)


@pytest.mark.django_db
def test_a_dry_run_lists_each_problem_with_its_location(english, in_force, tmp_path):
    grids = grids_of_version(in_force)
    moved = grids[0].boundary
    grids[0] = DraftGrid(grids[0].code, grids[0].name, grids[0].community,
                         shapely.affinity.translate(moved, xoff=0.002))  # about 190 m east: overlaps and a gap
    data, filename, _type = write_grids(grids, "gpkg", 3857)
    (tmp_path / filename).write_bytes(data)
    output = run(tmp_path / filename)
    assert "EPSG:3857" in output
    lines = [line for line in output.splitlines() if line.startswith("  [")]
    assert any(line.startswith("  [overlap]") and grids[0].code in line for line in lines)
    assert any(line.startswith("  [gap]") for line in lines)
    assert all(" (at 1" in line for line in lines)  # lon, lat of each place
    assert geo.DraftGrid.objects.count() == 0


@pytest.mark.django_db
def test_commit_writes_one_draft_through_the_planner_service(english, in_force, demo_file):
    versions, _draft_grids = _counts()
    output = run(demo_file, "--commit", "--label", "导入测试")
    assert _counts()[0] == versions + 1
    draft = geo.BoundaryVersion.objects.order_by("-number").first()
    assert draft.status == geo.BoundaryVersion.Status.DRAFT and draft.label == "导入测试"
    assert f"Wrote draft version {draft.number} of {DEMO_CODE} with 52 grids." in output
    assert_same_grids(grids_of_version(draft), grids_of_version(in_force))


@pytest.mark.django_db
@pytest.mark.filterwarnings("ignore:'crs' was not provided")
def test_a_bad_file_exits_non_zero_and_writes_nothing(english, demo, tmp_path, capsys, monkeypatch):
    bad = tmp_path / "bad.zip"
    bad.write_bytes(shapefile_zip(frame(two_grids(), crs=None), tmp_path))
    before = _counts()
    with pytest.raises(CommandError, match=r"has no \.prj file"):
        run(bad, "--commit")
    # as from the shell (which closes the connections at the end: this test's transaction needs its own)
    monkeypatch.setattr(connections, "close_all", lambda: None)
    with pytest.raises(SystemExit) as exited:
        execute_from_command_line(["manage.py", "geo_import_grids", str(bad), "--commit", "--skip-checks"])
    assert exited.value.code == 1 and "has no .prj file" in capsys.readouterr().err
    with pytest.raises(CommandError, match="no sub-district XX"):
        run(bad, "--subdistrict", "XX")
    assert _counts() == before
