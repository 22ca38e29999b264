"""The database refuses a community or a grid that its sub-district does not cover.

A cross-table invariant cannot be a CHECK constraint, so it is a trigger. The tolerance of
1e-7 degrees (about a centimetre) absorbs coordinate rounding of boundaries that share edges."""

from django.db import migrations

SQL = """
CREATE OR REPLACE FUNCTION geo_check_covered_by_subdistrict() RETURNS trigger AS $$
DECLARE
  outer_boundary geometry;
BEGIN
  SELECT boundary INTO outer_boundary FROM geo_subdistrict WHERE id = NEW.subdistrict_id;
  IF NOT ST_CoveredBy(NEW.boundary, ST_Buffer(outer_boundary, 1e-7)) THEN
    RAISE EXCEPTION '% "%" lies outside its sub-district', TG_TABLE_NAME, NEW.code
      USING ERRCODE = 'check_violation', CONSTRAINT = TG_TABLE_NAME || '_within_subdistrict';
  END IF;
  RETURN NEW;
END;
$$ LANGUAGE plpgsql;

CREATE TRIGGER geo_grid_within_subdistrict BEFORE INSERT OR UPDATE OF boundary, subdistrict_id
  ON geo_grid FOR EACH ROW EXECUTE FUNCTION geo_check_covered_by_subdistrict();
CREATE TRIGGER geo_community_within_subdistrict BEFORE INSERT OR UPDATE OF boundary, subdistrict_id
  ON geo_community FOR EACH ROW EXECUTE FUNCTION geo_check_covered_by_subdistrict();

CREATE OR REPLACE FUNCTION geo_check_grid_community_subdistrict() RETURNS trigger AS $$
BEGIN
  IF NOT EXISTS (SELECT 1 FROM geo_community c WHERE c.id = NEW.community_id
                 AND c.subdistrict_id = NEW.subdistrict_id) THEN
    RAISE EXCEPTION 'grid "%" and its community belong to different sub-districts', NEW.code
      USING ERRCODE = 'check_violation', CONSTRAINT = 'geo_grid_community_same_subdistrict';
  END IF;
  IF NOT EXISTS (SELECT 1 FROM geo_boundaryversion v WHERE v.id = NEW.version_id
                 AND v.subdistrict_id = NEW.subdistrict_id) THEN
    RAISE EXCEPTION 'grid "%" and its boundary version belong to different sub-districts', NEW.code
      USING ERRCODE = 'check_violation', CONSTRAINT = 'geo_grid_version_same_subdistrict';
  END IF;
  RETURN NEW;
END;
$$ LANGUAGE plpgsql;

CREATE TRIGGER geo_grid_same_subdistrict BEFORE INSERT OR UPDATE
  ON geo_grid FOR EACH ROW EXECUTE FUNCTION geo_check_grid_community_subdistrict();
"""

REVERSE = """
DROP TRIGGER IF EXISTS geo_grid_same_subdistrict ON geo_grid;
DROP FUNCTION IF EXISTS geo_check_grid_community_subdistrict();
DROP TRIGGER IF EXISTS geo_grid_within_subdistrict ON geo_grid;
DROP TRIGGER IF EXISTS geo_community_within_subdistrict ON geo_community;
DROP FUNCTION IF EXISTS geo_check_covered_by_subdistrict();
"""


class Migration(migrations.Migration):
    dependencies = [("geo", "0001_initial")]
    operations = [migrations.RunSQL(SQL, REVERSE)]
