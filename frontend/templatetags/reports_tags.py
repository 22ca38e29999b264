"""Template helper of the header: whether the nav offers the governance reports (/reports/) — only
to the roles those pages admit (reports.access.REPORT_ROLES)."""

from django import template

from config.roles import has_role
from reports.access import REPORT_ROLES

register = template.Library()


@register.filter
def may_report(user) -> bool:
    return user is not None and has_role(user, *REPORT_ROLES)
