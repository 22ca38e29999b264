"""Template helpers of the header: whether the nav offers the planners' page (/planner/) — only to
the roles that page admits (frontend.planner_views.PLANNER_ROLES)."""

from django import template

from config.roles import has_role
from frontend.planner_views import PLANNER_ROLES

register = template.Library()


@register.filter
def may_plan(user) -> bool:
    return user is not None and has_role(user, *PLANNER_ROLES)
