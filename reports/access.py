"""Who reads the governance reports, and for which sub-district.

The sub-district's leaders and the command room read every report and act on them (publish a
month's ranking, record an interview, record the meeting's decisions); dispatchers read them.
Everything is scoped to one sub-district (`?subdistrict=<code>`, as the other APIs); another
sub-district's record answers 404.
"""

from config.roles import UserRole

# Read the reports (pages, APIs, Excel).
REPORT_ROLES = (UserRole.COMMAND_ROOM, UserRole.LEADER, UserRole.DISPATCHER)
# Act on them: publish a month's ranking, record and close interviews, record the meeting's decisions.
GOVERNANCE_ROLES = (UserRole.COMMAND_ROOM, UserRole.LEADER)
