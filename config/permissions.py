"""Role checks of the APIs and pages, on top of config.roles (a role is a Django group).

DRF views name the roles they admit in `allowed_roles` and list `HasRole` in their permission
classes; Django views use the `role_required` decorator. Row-level scoping (a responder sees only
themselves) is the selectors' business, so that a refused row is a 404, not a 403.
"""

from collections.abc import Callable, Iterable
from functools import wraps

from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from rest_framework.permissions import BasePermission

from config.roles import STAFF_ROLES, UserRole, has_role

# Who may open the members layer: staff see every member, a responder only themselves.
MEMBER_MAP_ROLES = frozenset(STAFF_ROLES | {UserRole.RESPONDER})


def is_staff_role(user) -> bool:
    """True for the roles that see the whole sub-district's forces (names, contacts, positions)."""
    return has_role(user, *STAFF_ROLES)


class HasRole(BasePermission):
    """Admits an authenticated user holding one of the view's `allowed_roles`.

    A view without `allowed_roles` admits every authenticated user."""

    def has_permission(self, request, view) -> bool:
        if not (request.user and request.user.is_authenticated):
            return False
        roles: Iterable[str] | None = getattr(view, "allowed_roles", None)
        if roles is None:
            return True
        return has_role(request.user, *roles)


def role_required(*roles: str) -> Callable:
    """Decorator of Django views: anonymous users go to the login page, users without one of
    `roles` get 403. Without roles, any logged-in user passes."""

    def decorator(view_func: Callable) -> Callable:
        @wraps(view_func)
        def wrapper(request, *args, **kwargs):
            if not request.user.is_authenticated:
                return redirect_to_login(request.get_full_path())
            if roles and not has_role(request.user, *roles):
                raise PermissionDenied
            return view_func(request, *args, **kwargs)

        return wrapper

    return decorator
