"""The incident timeline is append-only: the database refuses UPDATE and DELETE of its rows."""

from django.db import migrations

SQL = """
CREATE OR REPLACE FUNCTION incidents_event_append_only() RETURNS trigger AS $$
BEGIN
  RAISE EXCEPTION 'the incident timeline is append-only (% refused)', TG_OP
    USING ERRCODE = 'restrict_violation';
END;
$$ LANGUAGE plpgsql;

CREATE TRIGGER incidents_incidentevent_append_only BEFORE UPDATE OR DELETE
  ON incidents_incidentevent FOR EACH ROW EXECUTE FUNCTION incidents_event_append_only();
"""

REVERSE = """
DROP TRIGGER IF EXISTS incidents_incidentevent_append_only ON incidents_incidentevent;
DROP FUNCTION IF EXISTS incidents_event_append_only();
"""


class Migration(migrations.Migration):
    dependencies = [("incidents", "0001_initial")]
    operations = [migrations.RunSQL(SQL, REVERSE)]
