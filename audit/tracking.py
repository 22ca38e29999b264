"""The audit trail's one rule, shared by every app that puts a model on record.

Every change of the configuration — members, units, shifts, responsibility rules, categories,
channels, grid versions, users and roles — is written by a PostgreSQL trigger into the model's
event table (django-pghistory), so that no code path escapes: the admin, the API, a management
command, a bulk update and a raw `UPDATE` in psql alike. The web requests' user and page come from
`pghistory.middleware.HistoryMiddleware` (the context); a change made outside a request has no
context and is shown as made "in the database".

The records are append-only (PGHISTORY_APPEND_ONLY: a trigger refuses UPDATE and DELETE of an
event row). The triggers are statement-level: a COPY or bulk insert of thousands of rows (the demo
load, the roster top-up) costs one `INSERT ... SELECT` per statement, not one call per row.

The lifecycle records (incidents, orders, alarms, hand-overs) are not tracked here: their changes
are made by the services only, and each is an event of the case's timeline (incidents/events.py).
"""

import pghistory


def track_changes(*extra: pghistory.RowEvent, exclude: list[str] | None = None, **kwargs):
    """`pghistory.track` with the trail's trackers at statement level: insert, update (only when a
    recorded field changes) and delete, each with the row's values.
    `extra` adds trackers, such as "a secret changed" for a field that is not itself recorded."""
    return pghistory.track(
        pghistory.InsertEvent(), pghistory.UpdateEvent(), pghistory.DeleteEvent(), *extra,
        exclude=exclude, level=pghistory.Statement, **kwargs,
    )


def track_links(**kwargs):
    """For the through table of a many-to-many field (a proxy model): links added and removed."""
    return pghistory.track(
        pghistory.InsertEvent("add"), pghistory.DeleteEvent("remove"), level=pghistory.Statement, **kwargs,
    )


def track_secret(field: str) -> pghistory.RowEvent:
    """A tracker recording that a secret field changed, for a model that excludes the field itself
    from its records (the records keep the other fields' new values)."""
    return pghistory.UpdateEvent("secret_changed", condition=pghistory.AnyChange(field), row="NEW")
