"""The configuration every page's scripts share (frontend/page_config.py, json_script
#gridlink-shared, read by frontend/static/gridlink/core/shared.js): the statuses and their groups
are the Python models' own, so the pages cannot drift from the services."""

import pytest
from django.conf import settings
from django.template import Context, Template
from django.urls import reverse
from django.utils import translation

from config.roles import UserRole
from dispatch.models import DispatchOrder
from frontend.page_config import CATEGORY_GLYPHS, SCOPE_GLYPHS, shared_page_config
from incidents import flows
from incidents.models import Category, Status
from reports.agenda import FINISHED_STATUSES
from tests.factories import make_user
from tests.frontend.test_console_pages import json_script


def test_the_statuses_and_their_groups_are_the_models():
    with translation.override("en"):
        config = shared_page_config()
        labels = {code: str(label) for code, label in Status.choices}
    assert config["timeZone"] == settings.TIME_ZONE
    assert config["statuses"] == labels
    assert list(config["statuses"]) == list(Status.values)
    groups = config["statusGroups"]
    assert set(groups["open"]) == set(flows.OPEN_STATUSES)
    assert set(groups["done"]) == set(FINISHED_STATUSES) & set(flows.OPEN_STATUSES)
    assert set(groups["done"]) <= set(groups["open"])
    assert groups["liveOrder"] == list(DispatchOrder.LIVE_STATES)
    assert set(groups["liveOrder"]) <= set(DispatchOrder.State.values)


def test_the_labels_follow_the_active_language():
    with translation.override("zh-hans"):
        zh = shared_page_config()["statuses"]
    with translation.override("en"):
        en = shared_page_config()["statuses"]
    assert en[Status.CLOSED] == "closed" and zh[Status.CLOSED] != en[Status.CLOSED]


def test_the_glyphs_name_real_scopes_and_are_single_characters():
    assert set(SCOPE_GLYPHS) <= set(Category.Scope.values)
    config = shared_page_config()
    assert config["categoryGlyphs"] == CATEGORY_GLYPHS and config["scopeGlyphs"] == SCOPE_GLYPHS
    assert all(len(glyph) == 1 for glyph in [*CATEGORY_GLYPHS.values(), *SCOPE_GLYPHS.values()])


def test_the_tag_renders_json_script():
    html = Template("{% load frontend_tags %}{% gridlink_shared %}").render(Context())
    assert html.startswith('<script id="gridlink-shared" type="application/json">')


@pytest.mark.django_db
def test_every_page_of_base_html_carries_it(client):
    client.force_login(make_user("cmd", UserRole.COMMAND_ROOM))
    response = client.get(reverse("frontend:map"))
    assert response.status_code == 200
    shared = json_script(response, "gridlink-shared")
    assert shared["statusGroups"]["open"] == [s for s in Status.values if s in flows.OPEN_STATUSES]
    # Before the page's scripts, so that core/shared.js finds it whenever a module runs.
    assert response.text.index('id="gridlink-shared"') < response.text.index("gridlink/map.js")
