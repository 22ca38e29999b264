"""Who reads the governance reports, and for which sub-district.

The sub-district's leaders and the command room read every report and act on them (publish a
month's ranking, record an interview, record the meeting's decisions); dispatchers read them.
Everything is scoped to one sub-district (`?subdistrict=<code>`, as the other APIs); another
sub-district's record answers 404.

The compliance report (reports/compliance.py) is also read by a unit's office, for its own unit
only (`compliance_own_unit`): the plan has the units check their own people's arrivals.
"""

from config.roles import MEMBER_ROLES, AnyUser, UserRole, has_role
from dispatch.models import Member, Role, Unit

# Read the reports (pages, APIs, Excel).
REPORT_ROLES = (UserRole.COMMAND_ROOM, UserRole.LEADER, UserRole.DISPATCHER)
# Act on them: publish a month's ranking, record and close interviews, record the meeting's decisions.
GOVERNANCE_ROLES = (UserRole.COMMAND_ROOM, UserRole.LEADER)

# Who reads the compliance of their own unit only: the unit's office — the same people the unit's
# news and overdue alarms go to (dispatch.unit_notify.office_recipients, dispatch.sla): a login
# with the `department` role (a unit's office staff), or a member holding the role `unit_leader`
# (队长, 所长, 站长, 负责人; their login is a member's, `responder` or `department`). Both must be
# linked to an active member, whose unit it is. Left out: `shift_leader` (told of an alarm only as a
# stand-in when no unit leader is on duty, not the unit's management), `grid_leader` and
# `security_director` (they lead grids, not a unit; the monthly ranking is theirs), and a plain
# responder. The sub-district's `leader` role is a report role already (every unit).
UNIT_COMPLIANCE_USER_ROLES = (UserRole.DEPARTMENT,)
UNIT_COMPLIANCE_MEMBER_ROLES = (Role.UNIT_LEADER,)

_OWN_UNIT_ATTR = "_gridlink_compliance_unit"


def compliance_own_unit(user: AnyUser) -> Unit | None:
    """The unit whose compliance `user` reads as its office (UNIT_COMPLIANCE_*_ROLES), with its
    sub-district; None for the report roles (they read every unit), for anonymous users and for
    anybody else. One query per request at most (kept on the user, as their roles are)."""
    if not user.is_authenticated or has_role(user, *REPORT_ROLES) or not has_role(user, *MEMBER_ROLES):
        return None
    if hasattr(user, _OWN_UNIT_ATTR):
        cached: Unit | None = getattr(user, _OWN_UNIT_ATTR)
        return cached
    member = (Member.objects.filter(user=user, active=True).select_related("unit__subdistrict")
              .defer("unit__subdistrict__boundary").first())
    unit = None
    if member is not None and (has_role(user, *UNIT_COMPLIANCE_USER_ROLES)
                               or set(member.roles or ()) & set(UNIT_COMPLIANCE_MEMBER_ROLES)):
        unit = member.unit
    setattr(user, _OWN_UNIT_ATTR, unit)
    return unit


def may_read_compliance(user: AnyUser) -> bool:
    """The report roles (every unit) and a unit's office (its own unit)."""
    return has_role(user, *REPORT_ROLES) or compliance_own_unit(user) is not None
