"""A tenancy taken away reaches the wall maps open under it: the wall socket checks who may watch a
sub-district when it connects (wall/consumers.py), and a wall left open must not go on showing a
sub-district its user no longer works in.

When a Tenancy row is deleted, or changed to name another place, the sub-districts it named are
sent `{"type": "access.changed", "users": [<user id>]}` after commit (config.live, kind
`access`, through PostgreSQL from a worker): each wall socket of that user checks its access again
and closes with the code a new connection would get (4404: another tenant's sub-district) — the page
then shows that it lost its connection. Walls of other users ignore it; the department queue's
socket, on the same stream, passes on only events."""

from __future__ import annotations

from django.db.models.signals import post_delete, post_save, pre_save

from config import live
from geo.models import Subdistrict, Tenancy

KIND = "access"


def _codes(tenancy: Tenancy) -> list[str]:
    """The codes of the sub-districts a tenancy row names (one, or a whole district's)."""
    if tenancy.subdistrict_id is not None:
        return list(Subdistrict.objects.filter(pk=tenancy.subdistrict_id).values_list("code", flat=True))
    return list(Subdistrict.objects.filter(district=tenancy.district).values_list("code", flat=True))


def _publish(codes: list[str], user_id: int) -> None:
    for code in codes:
        live.publish_on_commit(live.subdistrict_group(code), KIND, [user_id])


def messages(user_ids: list[int]) -> list[live.Message]:
    return [{"type": "access.changed", "users": list(user_ids)}]


def _before(sender, instance: Tenancy, **kwargs) -> None:
    if instance.pk is None:
        return
    old = Tenancy.objects.filter(pk=instance.pk).values("subdistrict_id", "district", "user_id").first()
    instance._access_before = old  # type: ignore[attr-defined]


def _saved(sender, instance: Tenancy, created: bool, **kwargs) -> None:
    old = getattr(instance, "_access_before", None)
    if created or old is None:
        return
    if (old["subdistrict_id"], old["district"], old["user_id"]) != (
            instance.subdistrict_id, instance.district, instance.user_id):
        _publish(_codes(Tenancy(subdistrict_id=old["subdistrict_id"], district=old["district"])), old["user_id"])


def _deleted(sender, instance: Tenancy, **kwargs) -> None:
    _publish(_codes(instance), instance.user_id)


def register() -> None:
    live.register(KIND, messages)
    pre_save.connect(_before, sender=Tenancy, dispatch_uid="wall.access.before")
    post_save.connect(_saved, sender=Tenancy, dispatch_uid="wall.access.saved")
    post_delete.connect(_deleted, sender=Tenancy, dispatch_uid="wall.access.deleted")
