"""Template helpers of the header: whether the nav offers the forces' pages (the responders' app,
the department queue) — only to the users those pages admit (frontend.views.forces_pages)."""

from django import template

from frontend.views import forces_pages as _forces_pages

register = template.Library()


@register.filter
def forces_pages(user) -> dict[str, bool]:
    """{"app": bool, "dept": bool}: which of /m/ and /dept/ the user may open."""
    return _forces_pages(user) if user is not None else {"app": False, "dept": False}
