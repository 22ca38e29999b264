"""The audit trail's own records: the events of the models Django owns (users, groups — GridLink's
roles, config/roles.py — and who holds which role or permission), and `AuditEvent`, the view over
every event table that the admin lists (audit/admin.py). The apps' own models are tracked where
they are declared (`audit.tracking.track_changes`). See audit/tracking.py for the rules."""

import pghistory
import pghistory.models
from django.conf import settings
from django.contrib.auth.models import Group, User
from django.db import models
from django.utils.translation import gettext_lazy as _

from audit.tracking import track_changes, track_links


class AuditedUser(User):
    """A user, as the trail tracks it: a proxy, so that the triggers live in this app's migrations
    (not in Django's own)."""

    class Meta:
        proxy = True
        verbose_name = _("user")
        verbose_name_plural = _("users")


class AuditedGroup(Group):
    """A role (group), as the trail tracks it (a proxy, like `AuditedUser`)."""

    class Meta:
        proxy = True
        verbose_name = _("role")
        verbose_name_plural = _("roles")


# A user's password hash is never copied into the trail, nor the last login (every login would be
# a change): a password change is recorded as such, without the hash.
track_changes(
    pghistory.UpdateEvent("password_changed", condition=pghistory.AnyChange("password"), row="NEW"),
    exclude=["password", "last_login"], model_name="UserEvent",
)(AuditedUser)
track_changes(model_name="GroupEvent")(AuditedGroup)


class UserGroup(User.groups.through):  # type: ignore[name-defined]  # the stubs cannot name an auto link model
    """Who holds which role (group): a proxy of the user–group link so that it is on record."""

    class Meta:
        proxy = True
        verbose_name = _("role of a user")
        verbose_name_plural = _("roles of users")


class GroupPermission(Group.permissions.through):  # type: ignore[name-defined]  # (as UserGroup)
    """What a role may do in the admin: a proxy of the group–permission link."""

    class Meta:
        proxy = True
        verbose_name = _("permission of a role")
        verbose_name_plural = _("permissions of roles")


class UserPermission(User.user_permissions.through):  # type: ignore[name-defined]  # (as UserGroup)
    """A permission given to one user directly: a proxy of the user–permission link."""

    class Meta:
        proxy = True
        verbose_name = _("permission of a user")
        verbose_name_plural = _("permissions of users")


track_links(model_name="UserGroupEvent")(UserGroup)
track_links(model_name="GroupPermissionEvent")(GroupPermission)
track_links(model_name="UserPermissionEvent")(UserPermission)


class AuditEvent(pghistory.models.Events):
    """Every event table as one list: when, what record, which change (the diff against the
    record's previous event), and who from which page (the request's context)."""

    user = pghistory.ProxyField(
        "pgh_context__user",
        models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.DO_NOTHING, null=True, related_name="+",
                          verbose_name=_("by")),
    )
    url = pghistory.ProxyField("pgh_context__url", models.TextField(_("page"), null=True))

    class Meta:
        proxy = True
        verbose_name = _("change record")
        verbose_name_plural = _("change records")
