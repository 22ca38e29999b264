"""Grid files in and out: a planner's grids as GeoJSON, GeoPackage or zipped Shapefile (geopandas and
pyogrio over GDAL), in the coordinate systems Chinese planning offices use.

The one import core (after MapIt's `add_areas_from_file/core.py`): the planner's page (through the
planner API) and `manage.py geo_import_grids` both read a file here, and both get the same grids or
the same refusal. Reading checks the *file*, not the drawing: a file GridLink cannot read exactly is
refused with one message that names the feature or attribute at fault (`ImportRefused`), and
nothing is written; grids that read well but do not tile the sub-district are a draft's business
(geo/coverage.py says where each problem lies, and the planner fixes it on the map).

What a file must hold: one layer of polygons with the attributes `code` and `name` (required) and
`community` (the community's code, optional), in one of

- EPSG:4326 (WGS 84, lon/lat) and EPSG:4490 (CGCS2000 geographic: the same to a few centimetres,
  so its coordinates are taken as they are);
- EPSG:4549 (CGCS2000 / 3-degree Gauss-Kruger CM 120E, metres) and EPSG:3857 (Web Mercator,
  metres), transformed to lon/lat. GDAL hands every layer over in the traditional GIS order
  (x = easting or longitude), whatever axis order the CRS definition states (EPSG:4549 defines
  northing first), and pyproj transforms with `always_xy`, so no axes are swapped here.

Anything else (no CRS at all, a shapefile without its .prj, UTM, a local grid) is refused rather than
guessed: grids placed a few hundred metres off would validate as "outside the sub-district" and
look like the planner's mistake.

Export writes the same three attributes, so an exported file imports again unchanged (the shapefile's
field names fit its 10-character limit; its text is UTF-8 with a .cpg saying so).
"""

from __future__ import annotations

import io
import math
import re
import tempfile
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import pyogrio.errors
import pyproj
import shapely
from django.utils.translation import gettext as _

from config.errors import DomainError
from geo.coverage import DraftGrid
from geo.models import BoundaryVersion

MAX_BYTES = 50 * 1024 * 1024  # a city's grids are a few MB; more is not a grid file
MAX_UNPACKED_BYTES = 200 * 1024 * 1024  # what a zip may unpack to (a zip bomb is refused unread)
MAX_FEATURES = 20_000  # twice a city's grids
MAX_CODE = 32  # geo.models.Grid.code
MAX_NAME = 64  # geo.models.Grid.name

GEOGRAPHIC = (4326, 4490)  # lon/lat, taken as they are
PROJECTED = (4549, 3857)  # metres, transformed to lon/lat
ACCEPTED_CRS = GEOGRAPHIC + PROJECTED
EXPORT_CRS = ACCEPTED_CRS

# format: (GDAL driver, file extension as downloaded, content type)
FORMATS = {
    "geojson": ("GeoJSON", ".geojson", "application/geo+json"),
    "gpkg": ("GPKG", ".gpkg", "application/geopackage+sqlite3"),
    "shp": ("ESRI Shapefile", ".zip", "application/zip"),
}
_DRIVER_OF_SUFFIX = {".geojson": "GeoJSON", ".json": "GeoJSON", ".gpkg": "GPKG", ".shp": "ESRI Shapefile"}
_FORMAT_NAMES = {"GeoJSON": "GeoJSON", "GPKG": "GeoPackage", "ESRI Shapefile": "Shapefile"}
_SHAPEFILE_PARTS = (".shp", ".shx", ".dbf", ".prj", ".cpg")
_POLYGON_TYPES = ("Polygon", "MultiPolygon")
_GDAL_ERRORS = (pyogrio.errors.DataSourceError, pyogrio.errors.DataLayerError, shapely.errors.GEOSException,
                ValueError, OSError)


class ImportRefused(DomainError):
    """A grid file GridLink will not read: broken, of another kind, in another CRS, or not holding
    exactly the grids' attributes and polygons. The message names the feature or attribute."""

    def __init__(self, message, *, code: str = "import", http_status: int | None = None):
        super().__init__(message, code=code, http_status=http_status)


@dataclass(frozen=True)
class GridFile:
    """What a file held: the grids (MultiPolygons in lon/lat, file order) and where they came from."""

    grids: list[DraftGrid]
    source_crs: int  # the EPSG code the file was in
    format: str  # "GeoJSON", "GeoPackage" or "Shapefile"
    layer: str


# --- reading ---------------------------------------------------------------------------------------

def read_grids(data: bytes, filename: str) -> list[DraftGrid]:
    """The grids of an uploaded file (.geojson/.json, .gpkg, or a .zip holding one shapefile,
    GeoPackage or GeoJSON), in lon/lat; `ImportRefused` if it cannot be read exactly."""
    return read_grid_file(data, filename).grids


def read_grids_path(path: str | Path) -> list[DraftGrid]:
    """The grids of a file on disk: a .shp (beside its .shx/.dbf/.prj), a .geojson, a .gpkg, a
    .zip, or a directory holding one of them."""
    return read_grid_file_path(path).grids


def read_grid_file(data: bytes, filename: str) -> GridFile:
    """`read_grids` with the file's CRS, format and layer (what the command and a dry run show)."""
    if len(data) > MAX_BYTES:
        raise ImportRefused(_("The file is larger than %(limit)d MB.") % {"limit": MAX_BYTES // 2**20})
    suffix = PurePosixPath(filename or "").suffix.lower()
    if suffix == ".zip":
        return _read_zip(data)
    if suffix == ".shp":
        raise ImportRefused(_("A shapefile is several files: upload its .shp, .shx, .dbf and .prj together "
                              "in one .zip."))
    driver = _DRIVER_OF_SUFFIX.get(suffix)
    if driver is None:
        raise ImportRefused(_("GridLink reads GeoJSON (.geojson), GeoPackage (.gpkg) and zipped Shapefile "
                              "(.zip), not “%(name)s”.") % {"name": filename})
    return _read_bytes(data, suffix)


def read_grid_file_path(path: str | Path) -> GridFile:
    """`read_grids_path` with the file's CRS, format and layer."""
    path = Path(path)
    if path.is_dir():
        found = sorted(p for p in path.iterdir() if p.suffix.lower() in _DRIVER_OF_SUFFIX and p.is_file())
        if len(found) != 1:
            raise ImportRefused(_("The folder %(path)s should hold one shapefile, GeoPackage or GeoJSON file; "
                                  "it holds %(count)d.") % {"path": path, "count": len(found)})
        path = found[0]
    if not path.is_file():
        raise ImportRefused(_("There is no file %(path)s.") % {"path": path})
    suffix = path.suffix.lower()
    if suffix == ".shp":
        with tempfile.TemporaryDirectory(prefix="gridlink-import-") as tmp:
            parts = {p.suffix.lower(): p for p in path.parent.iterdir()
                     if p.stem == path.stem and p.suffix.lower() in _SHAPEFILE_PARTS}
            if sum(p.stat().st_size for p in parts.values()) > MAX_UNPACKED_BYTES:
                raise ImportRefused(_("The shapefile is larger than %(limit)d MB.")
                                    % {"limit": MAX_UNPACKED_BYTES // 2**20})
            return _read_shapefile({ext: p.read_bytes() for ext, p in parts.items()}, path.name, Path(tmp))
    if path.stat().st_size > MAX_BYTES:
        raise ImportRefused(_("The file is larger than %(limit)d MB.") % {"limit": MAX_BYTES // 2**20})
    return read_grid_file(path.read_bytes(), path.name)


def _read_zip(data: bytes) -> GridFile:
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
        members = [m for m in archive.infolist() if not m.is_dir() and not _is_clutter(m.filename)]
    except (zipfile.BadZipFile, OSError, ValueError) as exc:
        raise ImportRefused(_("The file is not a readable zip archive.")) from exc
    if sum(m.file_size for m in members) > MAX_UNPACKED_BYTES:
        raise ImportRefused(_("The zip unpacks to more than %(limit)d MB.") % {"limit": MAX_UNPACKED_BYTES // 2**20})
    datasets = [m for m in members if PurePosixPath(m.filename).suffix.lower() in _DRIVER_OF_SUFFIX]
    if len(datasets) != 1:
        names = ", ".join(m.filename for m in datasets)
        raise ImportRefused(
            _("The zip should hold one shapefile, GeoPackage or GeoJSON file; it holds none.") if not datasets
            else _("The zip should hold one shapefile, GeoPackage or GeoJSON file; it holds %(names)s.")
            % {"names": names})
    dataset = PurePosixPath(datasets[0].filename)
    try:
        if dataset.suffix.lower() != ".shp":
            return _read_bytes(archive.read(datasets[0]), dataset.suffix.lower())
        parts = {}
        for member in members:  # the shapefile's siblings: same folder, same name
            name = PurePosixPath(member.filename)
            if name.parent == dataset.parent and name.stem == dataset.stem and name.suffix.lower() in _SHAPEFILE_PARTS:
                parts[name.suffix.lower()] = archive.read(member)
    except (zipfile.BadZipFile, OSError, ValueError, EOFError) as exc:  # a damaged member (bad CRC, truncated)
        raise ImportRefused(_("The file is not a readable zip archive.")) from exc
    with tempfile.TemporaryDirectory(prefix="gridlink-import-") as tmp:
        return _read_shapefile(parts, dataset.name, Path(tmp))


def _read_bytes(data: bytes, suffix: str) -> GridFile:
    """A one-file dataset, written under a fixed name: GDAL then sees its extension, and its layer
    keeps one name from look to read (pyogrio's in-memory copies get a new name each time)."""
    with tempfile.TemporaryDirectory(prefix="gridlink-import-") as tmp:
        path = Path(tmp) / f"grids{suffix}"
        path.write_bytes(data)
        return _read_dataset(str(path), _DRIVER_OF_SUFFIX[suffix])


def _is_clutter(name: str) -> bool:
    """What macOS and Windows add to a zip: resource forks, thumbnails."""
    path = PurePosixPath(name)
    return "__MACOSX" in path.parts or path.name.startswith(".") or path.name.lower() == "thumbs.db"


def _read_shapefile(parts: dict[str, bytes], name: str, folder: Path) -> GridFile:
    """A shapefile from its parts (by extension), written under fixed names into `folder` (the names
    in a zip may be in any encoding; GDAL needs only the siblings to match)."""
    for needed in (".shx", ".dbf"):
        if needed not in parts:
            raise ImportRefused(_("The shapefile %(name)s lacks its %(part)s file.") % {"name": name, "part": needed})
    if ".prj" not in parts:
        raise ImportRefused(_("The shapefile %(name)s has no .prj file: its coordinate system is unknown.")
                            % {"name": name})
    if ".cpg" not in parts:
        parts = {**parts, ".cpg": _dbf_encoding(parts[".dbf"]).encode("ascii")}
    for ext, content in parts.items():
        (folder / f"grids{ext}").write_bytes(content)
    return _read_dataset(str(folder / "grids.shp"), "ESRI Shapefile")


def _dbf_encoding(dbf: bytes) -> str:
    """The text encoding of a .dbf that came without a .cpg. GDAL would then follow the header's
    language driver byte, which desktop tools mostly leave at 0 or "ANSI" (Latin-1 to GDAL: Chinese
    names garbled), so the records decide: UTF-8 if they decode as such (plain ASCII does), else
    GB18030, what Chinese Windows writes."""
    header_length = int.from_bytes(dbf[8:10], "little") if len(dbf) >= 10 else 0
    try:
        dbf[header_length:].decode("utf-8")
    except UnicodeDecodeError:
        return "GB18030"
    return "UTF-8"


def _read_dataset(source: str, driver: str) -> GridFile:
    """Reads the grid layer of a GeoJSON, GeoPackage or shapefile on disk and checks it."""
    format_name = _FORMAT_NAMES[driver]
    broken = _("The file is not a readable %(format)s file.") % {"format": format_name}
    try:
        layers = [(str(name), kind) for name, kind in pyogrio.list_layers(source)]
    except _GDAL_ERRORS as exc:
        raise ImportRefused(broken) from exc
    layer = _grid_layer(layers)
    try:
        info = pyogrio.read_info(source, layer=layer, force_feature_count=True)
    except _GDAL_ERRORS as exc:
        raise ImportRefused(broken) from exc
    if info["driver"] != driver:  # GDAL opens what it recognises: a CSV or a KML with a .geojson name
        raise ImportRefused(broken)

    count = info["features"]
    if count == 0:
        raise ImportRefused(_("The layer “%(layer)s” holds no features.") % {"layer": layer})
    if count > MAX_FEATURES:
        raise ImportRefused(_("The layer “%(layer)s” holds %(count)d features; at most %(limit)d are read.")
                            % {"layer": layer, "count": count, "limit": MAX_FEATURES})
    kind = info["geometry_type"]
    if kind is None:
        raise ImportRefused(_("The layer “%(layer)s” has no geometry.") % {"layer": layer})
    if kind.replace(" Z", "").replace(" M", "") not in _POLYGON_TYPES + ("Unknown", "Geometry"):
        raise ImportRefused(_("The layer “%(layer)s” holds %(kind)s geometries; grids must be polygons.")
                            % {"layer": layer, "kind": kind})
    epsg = _source_epsg(info["crs"])

    fields = {str(f).lower(): str(f) for f in info["fields"]}
    for required in ("code", "name"):
        if required not in fields:
            raise ImportRefused(_("The layer “%(layer)s” has no attribute “%(attribute)s” (its attributes: "
                                  "%(attributes)s).")
                                % {"layer": layer, "attribute": required,
                                   "attributes": ", ".join(map(str, info["fields"])) or "—"})
    columns = [fields[c] for c in ("code", "name", "community") if c in fields]
    try:
        frame = pyogrio.read_dataframe(source, layer=layer, columns=columns)
    except _GDAL_ERRORS as exc:
        raise ImportRefused(broken) from exc
    grids = _grids(frame, epsg, code=fields["code"], name=fields["name"], community=fields.get("community"))
    return GridFile(grids=grids, source_crs=epsg, format=format_name, layer=layer)


def _grid_layer(layers: list[tuple[str, str | None]]) -> str:
    """The one layer of the file; of several, the one named `grids`, else the only polygon layer."""
    if not layers:
        raise ImportRefused(_("The file holds no layer."))
    if len(layers) == 1:
        return layers[0][0]
    for name, _kind in layers:
        if name.lower() == "grids":
            return name
    polygons = [name for name, kind in layers if kind and kind.replace(" Z", "") in _POLYGON_TYPES]
    if len(polygons) == 1:
        return polygons[0]
    raise ImportRefused(_("The file holds several layers (%(layers)s): name the grids' layer “grids”.")
                        % {"layers": ", ".join(name for name, _kind in layers)})


def _source_epsg(crs: str | None) -> int:
    """The file's CRS as one of ACCEPTED_CRS, or a refusal naming what it is."""
    if not crs:
        raise ImportRefused(_("The file has no coordinate system: export it in EPSG:4326, EPSG:4490, "
                              "EPSG:4549 or EPSG:3857."))
    try:
        parsed = pyproj.CRS.from_user_input(crs)
    except pyproj.exceptions.CRSError as exc:
        raise ImportRefused(_("The file's coordinate system cannot be read.")) from exc
    epsg = parsed.to_epsg()
    if epsg in ACCEPTED_CRS:
        return epsg
    # an ESRI .prj or OGC:CRS84 may not carry the code: compare the definitions
    for code in ACCEPTED_CRS:
        if parsed.equals(pyproj.CRS.from_epsg(code), ignore_axis_order=True):
            return code
    raise ImportRefused(_("The file's coordinate system is %(crs)s; GridLink reads EPSG:4326, EPSG:4490 "
                          "(CGCS2000), EPSG:4549 (CGCS2000 Gauss-Kruger, 120°E) and EPSG:3857.")
                        % {"crs": f"EPSG:{epsg} ({parsed.name})" if epsg else parsed.name})


def _text(value) -> str:
    """An attribute as text: numbers as written (a code 101 stored as a real is "101"), NULL as ""."""
    if value is None or (not isinstance(value, str) and pd.isna(value)):
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


def _grids(frame: gpd.GeoDataFrame, epsg: int, *, code: str, name: str, community: str | None) -> list[DraftGrid]:
    rows = []
    first_row_of: dict[str, int] = {}
    for n, (code_value, name_value, community_value, geometry) in enumerate(zip(
            frame[code], frame[name], frame[community] if community else [None] * len(frame), frame.geometry,
            strict=True), start=1):
        grid_code = _text(code_value)
        label = _("Feature %(n)d") % {"n": n} if not grid_code else \
            _("Feature %(n)d (code %(code)s)") % {"n": n, "code": grid_code}
        if not grid_code:
            raise ImportRefused(_("%(feature)s has no code.") % {"feature": label})
        if len(grid_code) > MAX_CODE:
            raise ImportRefused(_("%(feature)s: the code is longer than %(max)d characters.")
                                % {"feature": label, "max": MAX_CODE})
        if grid_code in first_row_of:
            raise ImportRefused(_("The code %(code)s is used by features %(first)d and %(n)d.")
                                % {"code": grid_code, "first": first_row_of[grid_code], "n": n})
        first_row_of[grid_code] = n
        grid_name = _text(name_value)
        if not grid_name:
            raise ImportRefused(_("%(feature)s has no name.") % {"feature": label})
        if len(grid_name) > MAX_NAME:
            raise ImportRefused(_("%(feature)s: the name is longer than %(max)d characters.")
                                % {"feature": label, "max": MAX_NAME})
        community_code = _text(community_value) or None
        if community_code is not None and len(community_code) > MAX_CODE:
            raise ImportRefused(_("%(feature)s: the community code is longer than %(max)d characters.")
                                % {"feature": label, "max": MAX_CODE})
        if geometry is None or geometry.is_empty:
            raise ImportRefused(_("%(feature)s has no geometry.") % {"feature": label})
        if geometry.geom_type not in _POLYGON_TYPES:
            raise ImportRefused(_("%(feature)s is a %(kind)s; grids must be polygons.")
                                % {"feature": label, "kind": geometry.geom_type})
        rows.append((grid_code, grid_name, community_code, label, shapely.force_2d(geometry)))

    geometries = [row[4] for row in rows]
    if epsg in PROJECTED:
        # x = easting, y = northing as GDAL hands them over (see the module docstring)
        to_lonlat = pyproj.Transformer.from_crs(f"EPSG:{epsg}", "EPSG:4326", always_xy=True)
        geometries = [shapely.transform(g, lambda xy: _columns(to_lonlat.transform(xy[:, 0], xy[:, 1])))
                      for g in geometries]
    grids = []
    for (grid_code, grid_name, community_code, label, source), geometry in zip(rows, geometries, strict=True):
        west, south, east, north = geometry.bounds
        if not all(map(math.isfinite, (west, south, east, north))) or \
                not (-180 <= west <= east <= 180 and -90 <= south <= north <= 90):
            raise ImportRefused(_("%(feature)s lies at %(x).1f, %(y).1f, which is no longitude and latitude: "
                                  "is the file's coordinate system (EPSG:%(epsg)d) right?")
                                % {"feature": label, "x": source.bounds[0], "y": source.bounds[1], "epsg": epsg})
        if geometry.geom_type == "Polygon":
            geometry = shapely.MultiPolygon([geometry])
        grids.append(DraftGrid(code=grid_code, name=grid_name, community=community_code, boundary=geometry))
    return grids


def _columns(xy):
    return np.column_stack(xy)


# --- writing ---------------------------------------------------------------------------------------

def write_grids(grids: Sequence[DraftGrid], fmt: str, crs: int | str, *, name: str = "grids") -> tuple[bytes, str, str]:
    """The grids as a file: (content, filename, content type). `fmt` is "geojson", "gpkg" or "shp"
    (a zip of .shp, .shx, .dbf, .prj and .cpg); `crs` one of EXPORT_CRS; `name` the file's and
    layer's name (without extension)."""
    if fmt not in FORMATS:
        raise DomainError(_("Unknown export format “%(format)s”: geojson, gpkg or shp.") % {"format": fmt})
    try:
        epsg = int(crs)  # a query parameter's "4549" too
    except (TypeError, ValueError):
        epsg = None
    if epsg not in EXPORT_CRS:
        raise DomainError(_("GridLink exports in EPSG:4326, EPSG:4490, EPSG:4549 or EPSG:3857, not %(crs)s.")
                          % {"crs": crs})
    driver, extension, content_type = FORMATS[fmt]
    stem = re.sub(r"[^\w.-]+", "_", name).strip("._") or "grids"
    frame = gpd.GeoDataFrame(
        {"code": [g.code for g in grids], "name": [g.name for g in grids],
         "community": [g.community for g in grids]},
        geometry=gpd.GeoSeries([_multi(g.boundary) for g in grids], crs="EPSG:4326"), crs="EPSG:4326")
    if epsg == 4490:
        frame = frame.set_crs(4490, allow_override=True)  # the same coordinates (see the module docstring)
    elif epsg != 4326:
        frame = frame.to_crs(epsg)  # geopandas transforms in x = lon/easting order
    with tempfile.TemporaryDirectory(prefix="gridlink-export-") as tmp:
        folder = Path(tmp)
        target = folder / f"{stem}{'.shp' if fmt == 'shp' else extension}"
        options = {"encoding": "UTF-8"} if fmt == "shp" else {}
        pyogrio.write_dataframe(frame, target, layer=stem, driver=driver, geometry_type="MultiPolygon",
                                promote_to_multi=True, **options)
        if fmt != "shp":
            return target.read_bytes(), f"{stem}{extension}", content_type
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
            for part in sorted(folder.iterdir()):
                archive.write(part, arcname=part.name)
        return buffer.getvalue(), f"{stem}{extension}", content_type


def _multi(geometry):
    return shapely.MultiPolygon([geometry]) if geometry.geom_type == "Polygon" else geometry


def grids_of_version(version) -> list[DraftGrid]:
    """The grids a version holds, by code: its Grid rows once published, its DraftGrid rows while a
    draft. Boundaries as shapely geometries in lon/lat."""
    rows = version.grids if version.status == BoundaryVersion.Status.PUBLISHED else version.draft_grids
    return [DraftGrid(code=code, name=name, community=community, boundary=shapely.from_wkb(bytes(boundary.wkb)))
            for code, name, community, boundary
            in rows.order_by("code").values_list("code", "name", "community__code", "boundary")]
