"""Formatting of the ranking, compliance and assessment pages: the numbers come as the API's JSON
(a published board is stored so), the page shows them as the Excel file does."""

from django import template

from reports import compliance, ranking

register = template.Library()


@register.filter
def pct(value) -> str:
    """A rate (fraction 0–1) as a percentage to one decimal: 0.8667 → 86.7%; none: —."""
    return ranking.percent(value)


@register.filter
def score(value) -> str:
    return "—" if value is None else f"{value:.1f}"


@register.filter
def signed(value, digits: int = 0) -> str:
    """A change with its sign: +3, −2, ±0 (digits: decimals); none: —."""
    if value is None:
        return "—"
    text = f"{abs(value):.{int(digits)}f}"
    if value > 0:
        return f"+{text}"
    if value < 0:
        return f"−{text}"
    return f"±{text}"


@register.filter
def kind_label(value: str) -> str:
    return ranking.kind_label(value or "")


@register.filter
def community_kind_label(value: str) -> str:
    return ranking.community_kind_label(value or "")


@register.filter
def indicator_label(value: str) -> str:
    return ranking.indicator_label(value or "")


@register.filter
def state_label(value: str) -> str:
    """A not-arrived order's state in words."""
    from dispatch.models import DispatchOrder

    return str(DispatchOrder.State(value).label) if value in DispatchOrder.State.values else value


@register.filter
def flags_text(row: dict) -> str:
    return compliance.flags_text(row)


@register.filter
def get_item(mapping: dict, key: str):
    return (mapping or {}).get(key)
