"""`{% gridlink_shared %}`: the configuration every page's scripts share (frontend/page_config.py)
as json_script #gridlink-shared, read by frontend/static/gridlink/core/shared.js. Put it inside
<body>, before the page's scripts (base.html does; pages that do not extend it load this library)."""

from django import template
from django.utils.html import json_script
from django.utils.safestring import SafeString

from frontend.page_config import shared_page_config

register = template.Library()


@register.simple_tag
def gridlink_shared() -> SafeString:
    return json_script(shared_page_config(), "gridlink-shared")


@register.filter
def works_in_several(user) -> bool:
    """Whether the header offers the sub-district chooser (a user of several: geo/tenancy.py)."""
    from geo.tenancy import tenant_ids

    if user is None or not user.is_authenticated:
        return False
    ids = tenant_ids(user)
    return ids is None or len(ids) > 1
