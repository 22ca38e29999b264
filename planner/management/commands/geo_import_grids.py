"""manage.py geo_import_grids FILE [--subdistrict CODE] [--label L] [--commit]: a grid file read by
the same core as the planner's page (geo/interchange.py), checked against the sub-district and its
communities (geo/coverage.py), and only with --commit written as a new draft version
(planner.services.draft_import). A dry run is the default, as MapIt's importers do: it writes
nothing, so it can be run on any file to see what it holds and where its problems lie."""

from django.core.management.base import BaseCommand, CommandError

from config.errors import DomainError
from geo import interchange
from geo.coverage import validate_grids
from geo.models import Subdistrict
from planner.services import draft_import, sub_shapes


class Command(BaseCommand):
    help = ("Read a grid file (GeoJSON, GeoPackage, or a Shapefile: its .shp, a folder or a .zip) in EPSG:4326, "
            "4490, 4549 or 3857 with the attributes code, name and community (code), and list the problems its "
            "grids would have as a version of the sub-district. Writes nothing unless --commit is given: then "
            "the grids become a new draft version, which planners fix and publish on the planner page.")

    def add_arguments(self, parser):
        parser.add_argument("file", help="a .geojson/.json, .gpkg, .shp (beside its .shx/.dbf/.prj), .zip or folder")
        parser.add_argument("--subdistrict", default=None,
                            help="the sub-district's code (default: the only sub-district)")
        parser.add_argument("--label", default="", help="the new draft's label (with --commit)")
        mode = parser.add_mutually_exclusive_group()
        mode.add_argument("--dry-run", action="store_true", help="read and check only (the default)")
        mode.add_argument("--commit", action="store_true", help="write the grids as a new draft version")

    def handle(self, *args, file: str, subdistrict: str | None, label: str, commit: bool, **options):
        sub = self._subdistrict(subdistrict)
        try:
            read = interchange.read_grid_file_path(file)
        except interchange.ImportRefused as exc:
            raise CommandError(str(exc.message)) from exc

        converted = {4326: "lon, lat as they are", 4490: "CGCS2000 lon, lat, taken as EPSG:4326"}.get(
            read.source_crs, "converted to EPSG:4326 (lon, lat)")
        self.stdout.write(f"Read {len(read.grids)} grids from {file} ({read.format}, layer “{read.layer}”) "
                          f"in EPSG:{read.source_crs}: {converted}.")
        if options["verbosity"] >= 2:
            for grid in read.grids:
                self.stdout.write(f"  {grid.code}\t{grid.name}\t{grid.community or '-'}")

        boundary, communities = sub_shapes(sub.pk)  # as the page's draft is checked
        problems = validate_grids(subdistrict=boundary, communities=communities, grids=read.grids)
        if problems:
            self.stdout.write(f"{len(problems)} problems as a version of {sub.code} ({sub.name}):")
            for problem in problems:
                where = ""
                if problem.where is not None and not problem.where.is_empty:
                    point = problem.where.representative_point()
                    where = f" (at {point.x:.6f}, {point.y:.6f})"
                self.stdout.write(f"  [{problem.kind}] {problem.message}{where}")
        else:
            self.stdout.write(f"No problems: the grids tile {sub.code} ({sub.name}) and its communities.")

        if not commit:
            self.stdout.write("Dry run: nothing written. Run again with --commit to write them as a new draft.")
            return
        try:
            version = draft_import(subdistrict=sub, grids=read.grids, actor=None, label=label)
        except DomainError as exc:
            raise CommandError(str(exc.message)) from exc
        self.stdout.write(self.style.SUCCESS(
            f"Wrote draft version {version.number} of {sub.code} with {len(read.grids)} grids"
            + ("; fix its problems on the planner page before publishing it." if problems else ".")))

    def _subdistrict(self, code: str | None) -> Subdistrict:
        codes = list(Subdistrict.objects.order_by("code").values_list("code", flat=True))
        if code is None:
            if len(codes) == 1:
                code = codes[0]
            else:
                raise CommandError("Name the sub-district with --subdistrict: "
                                   + (", ".join(codes) if codes else "there is none."))
        sub = Subdistrict.objects.filter(code=code).first()
        if sub is None:
            raise CommandError(f"There is no sub-district {code} (there are: {', '.join(codes) or 'none'}).")
        return sub
