"""Template helpers of the header: whether the nav offers the governance reports (/reports/) — only
to the roles those pages admit (reports.access.REPORT_ROLES) — or, to a unit's office, the compliance
of its own unit (/reports/compliance/, reports.access.compliance_own_unit)."""

from django import template

from config.roles import has_role
from reports.access import REPORT_ROLES, compliance_own_unit

register = template.Library()


@register.filter
def may_report(user) -> bool:
    return user is not None and has_role(user, *REPORT_ROLES)


@register.filter
def may_report_own_unit(user) -> bool:
    """A unit's office: it reads the compliance of its own unit, and no other report."""
    return user is not None and compliance_own_unit(user) is not None
