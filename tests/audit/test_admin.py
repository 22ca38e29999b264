"""Django admin: every model is registered, and its list and change pages render (map widgets
for geometry) on the demo data."""

import pghistory.models
import pytest
from django.apps import apps
from django.contrib import admin
from django.urls import reverse

pytestmark = pytest.mark.django_db

APPS = ("geo", "dispatch", "incidents")


def test_every_model_is_in_the_admin():
    # The change records (audit/) are listed by the audit trail's admin and on each record's page;
    # the member-grid link is edited on the member's page.
    missing = [m.__name__ for label in APPS for m in apps.get_app_config(label).get_models()
               if m not in admin.site._registry and not issubclass(m, pghistory.models.Event)
               and m._meta.model_name not in {"incidentcounter", "feedbackattempt", "membergrid"}]
    assert missing == []


@pytest.mark.parametrize("model_name", ["geo.grid", "geo.place", "geo.road", "dispatch.member", "incidents.incident"])
def test_admin_list_and_change_pages_render_with_a_map_widget(admin_client, demo, model_name):
    label, name = model_name.split(".")
    model = apps.get_model(label, name)
    changelist = admin_client.get(reverse(f"admin:{label}_{name}_changelist"))
    assert changelist.status_code == 200
    obj = model.objects.order_by("pk").first()
    change = admin_client.get(reverse(f"admin:{label}_{name}_change", args=[obj.pk]))
    assert change.status_code == 200
    assert b"leaflet" in change.content.lower()
