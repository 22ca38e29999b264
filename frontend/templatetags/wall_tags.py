"""Template helpers of the wall map: whether the nav shows the link to it."""

from django import template

from config.permissions import is_staff_role

register = template.Library()


@register.filter
def may_see_wall(user) -> bool:
    """True for the staff roles the wall page admits (frontend.wall_views.wall_view)."""
    return bool(user and user.is_authenticated and is_staff_role(user))
