"""The people who use GridLink, as Django groups. A user's role decides what they may see and do;
every view and API action checks it (`require_role`, `HasRole`)."""

from collections.abc import Iterable
from typing import TypeAlias

from django.contrib.auth.models import AnonymousUser, User
from django.db import models
from django.utils.translation import gettext_lazy as _

# Who acts in a service or a selector: a logged-in user (settings.AUTH_USER_MODEL is Django's). Each
# checks the actor's role first, and an anonymous request has none: it never gets further.
Actor: TypeAlias = User
# A request's user, logged in or not.
AnyUser: TypeAlias = User | AnonymousUser


class UserRole(models.TextChoices):
    COMMAND_ROOM = "command_room", _("command room")
    DISPATCHER = "dispatcher", _("dispatcher")
    CALL_TAKER = "call_taker", _("call-taker")
    PLANNER = "planner", _("planner")
    RESPONDER = "responder", _("responder")
    LEADER = "leader", _("leader")
    DEPARTMENT = "department", _("department")
    INTEGRATION = "integration", _("external system")


# Roles that see the whole sub-district's forces (names, phones, positions of the 692 members).
STAFF_ROLES = frozenset({UserRole.COMMAND_ROOM, UserRole.DISPATCHER, UserRole.CALL_TAKER, UserRole.LEADER})
# The command room's desk: dispatches, moves cases along their flows, answers orders on a member's
# behalf, stands members down, raises levels, handles alarms.
COMMAND_ROLES = (UserRole.COMMAND_ROOM, UserRole.DISPATCHER)
# Who takes reports in (the hotlines' call-takers, the command room, the district centre's system).
INTAKE_ROLES = (UserRole.CALL_TAKER, UserRole.DISPATCHER, UserRole.COMMAND_ROOM, UserRole.INTEGRATION)
# Who may reveal a person's full ID number (each reveal is in the timeline).
REVEAL_ROLES = (UserRole.COMMAND_ROOM, UserRole.LEADER)
# Who may reveal the names and phones of callers and parties (masked everywhere otherwise; each
# reveal is in the timeline): these roles, and a member holding a current order of the case (to
# call the caller from the road) — the rule is `incidents.selectors.contact_reveal_allowed`.
CONTACT_REVEAL_ROLES = (UserRole.COMMAND_ROOM, UserRole.DISPATCHER, UserRole.LEADER)
# The logins of members (responders, a unit's staff): whoever of them holds an order of a case sees
# the case and acts on their order, whatever their unit.
MEMBER_ROLES = (UserRole.RESPONDER, UserRole.DEPARTMENT)


# The user's roles, cached on the user object for the request.
_ROLES_ATTR = "_gridlink_roles"


def prime_roles(user: User, group_names: Iterable[str]) -> set[str]:
    """Give `user` its roles from group names already read (config.auth reads them with the user, in
    one query per request)."""
    roles = set(group_names)
    if user.is_superuser:
        roles |= set(UserRole.values)
    setattr(user, _ROLES_ATTR, roles)
    return roles


def user_roles(user: AnyUser) -> set[str]:
    if not user.is_authenticated:
        return set()
    roles: set[str] | None = getattr(user, _ROLES_ATTR, None)
    if roles is None:
        roles = prime_roles(user, user.groups.values_list("name", flat=True))
    return roles


def has_role(user: AnyUser, *roles: str) -> bool:
    return bool(user_roles(user) & set(roles))
