"""What every page's scripts share and the server owns: the time zone, an incident's statuses with
their labels in the active language, the groups of statuses the pages colour and sort by, and the
glyph of each incident category. Rendered once per page as json_script #gridlink-shared by
`{% gridlink_shared %}` (frontend/templatetags/frontend_tags.py; base.html and the wall's page)
and read by frontend/static/gridlink/core/shared.js — so nothing of it is copied into JavaScript.

The groups are the Python sets themselves, so the pages cannot drift from the services:
  open       — `incidents.flows.OPEN_STATUSES`: not closed or merged; the case is on the map;
  done       — the open statuses in which the work is finished and the case only waits for the
               feed-back or the close (`reports.agenda.FINISHED_STATUSES` that are still open);
  liveOrder  — `DispatchOrder.LIVE_STATES`: the states of an order still on the way (an order's
               states, not an incident's: the wall draws who is on the way by them).
Lists are in the order of the `Status` choices, so that the JSON is stable."""

from typing import Any

from django.conf import settings

from dispatch.models import DispatchOrder
from incidents import flows
from incidents.models import Category, Status
from reports.agenda import FINISHED_STATUSES

Scope = Category.Scope

# A glyph per category code, as the wall's legend shows them; categories added later take their
# scope's glyph (SCOPE_GLYPHS), and those of a scope without one a dot (core/format.js glyphOf).
CATEGORY_GLYPHS: dict[str, str] = {
    "labour_dispute": "¥",
    "property_dispute": "⌂",
    "neighbour_dispute": "⇄",
    "other_dispute": "≈",
    "help_request": "✚",
    "mass_incident": "⚑",
    "major_sensitive": "⚠",
    "fire": "♨",
    "traffic_accident": "⇉",
    "work_safety": "⚒",
    "department_assist": "☎",
    "public_order": "★",
    "theft": "✂",
    "fight": "✖",
}
SCOPE_GLYPHS: dict[str, str] = {
    Scope.FIRE: "♨",
    Scope.TRAFFIC: "⇉",
    Scope.WORK_SAFETY: "⚒",
    Scope.POLICE: "★",
    Scope.DEPARTMENT_ASSIST: "☎",
}

DONE_STATUSES = frozenset(FINISHED_STATUSES) & flows.OPEN_STATUSES


def _in_choice_order(statuses: frozenset[str]) -> list[str]:
    return [code for code in Status.values if code in statuses]


def shared_page_config() -> dict[str, Any]:
    """The shared configuration, labels in the active language (call it per request)."""
    return {
        "timeZone": settings.TIME_ZONE,
        "statuses": {code: str(label) for code, label in Status.choices},
        "statusGroups": {
            "open": _in_choice_order(flows.OPEN_STATUSES),
            "done": _in_choice_order(DONE_STATUSES),
            "liveOrder": [str(state) for state in DispatchOrder.LIVE_STATES],
        },
        "categoryGlyphs": dict(CATEGORY_GLYPHS),
        "scopeGlyphs": {str(scope): glyph for scope, glyph in SCOPE_GLYPHS.items()},
    }
