"""A dispatch order's life as one table, like the incident's flows in `incidents/flows.py`.

    dispatched ──accept──▶ accepted ──arrive──▶ arrived
        │  └──────────────────┴──arrive──────────▲
        ├─decline (reason)─▶ declined            (the member said no: the replacement is proposed)
        └─stand_down (reason)─▶ stood_down       (no longer needed: the case was resolved,
                                                  transferred, closed or merged, or the dispatcher
                                                  called this member off)

`LIVE_STATES` — on the way — are what the SLA clock watches and what a stand-down ends;
`CURRENT_STATES` (live + arrived) are what a member's load counts and what lets a responder act
on the case. Declined and stood-down orders are finished: they never raise an alarm again.
`DispatchOrder.objects.live()` / `.current()` are the query-set form of the same sets; the
services in `dispatch/services.py` are the only code that moves an order.
"""

from dataclasses import dataclass

from django.utils.translation import gettext_lazy as _

from dispatch.models import DispatchOrder

S = DispatchOrder.State

LIVE_STATES = DispatchOrder.LIVE_STATES  # (dispatched, accepted)
CURRENT_STATES = DispatchOrder.CURRENT_STATES  # live + arrived
ENDED_STATES = DispatchOrder.ENDED_STATES  # declined, stood down


@dataclass(frozen=True)
class OrderTransition:
    action: str
    label: object  # lazy translation
    sources: frozenset[str]
    target: str
    needs_reason: bool = False


ORDER_TRANSITIONS: dict[str, OrderTransition] = {t.action: t for t in [
    OrderTransition("accept", _("Accept"), frozenset({S.DISPATCHED}), S.ACCEPTED),
    OrderTransition("decline", _("Decline"), frozenset(LIVE_STATES), S.DECLINED, needs_reason=True),
    OrderTransition("arrive", _("Arrived on site"), frozenset(LIVE_STATES), S.ARRIVED),
    OrderTransition("stand_down", _("Stand down"), frozenset(LIVE_STATES), S.STOOD_DOWN, needs_reason=True),
]}


def order_may(action: str, state: str) -> bool:
    """Whether the table allows `action` on an order in `state`."""
    return state in ORDER_TRANSITIONS[action].sources
