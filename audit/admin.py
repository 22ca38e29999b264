"""The audit trail in the admin, and the admin's one way of changing a lifecycle record.

- `AuditEventsAdmin`: every change record (audit/tracking.py), filtered by record, model or kind;
  read only (the trail is append-only in the database too).
- `HistoryMixin`: a "change history" section on the change page of each tracked model, beside the
  record: when, what changed (the diff), who and from which page.
- `service_action`: an admin action that calls a service for each selected record, asking first for
  the reason or note the service needs (an intermediate page). The admin never writes a lifecycle
  field itself: incidents, orders, alarms, hand-overs and published grid versions are read only in
  the admin, and these actions are the moves it offers.
"""

from collections.abc import Callable, Iterable
from typing import cast

import pghistory.admin
import pghistory.admin.core
import pghistory.core
from django import forms
from django.apps import apps
from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.contrib.auth.admin import GroupAdmin, UserAdmin
from django.contrib.auth.models import Group, User
from django.core.exceptions import ValidationError
from django.http import Http404
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html, format_html_join
from django.utils.http import url_has_allowed_host_and_scheme, urlencode
from django.utils.safestring import mark_safe
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from audit.models import AuditEvent
from config.errors import DomainError

# The kinds of change (the trackers' labels, audit/tracking.py) as the admin names them.
LABELS = {
    "insert": _("created"),
    "update": _("changed"),
    "delete": _("deleted"),
    "add": _("link added"),
    "remove": _("link removed"),
    "password_changed": _("password changed"),
    "secret_changed": _("secret changed"),
}
HISTORY_ROWS = 30  # on a record's page; the full list is one click away
VALUE_MAX = 80  # characters of a value shown in a diff


def _field_labels(model_label: str) -> tuple[str, dict[str, str], set[str]]:
    """The tracked model's name, its columns' verbose names, and its columns that are geometry."""
    try:
        model = apps.get_model(model_label)
    except LookupError:
        return model_label, {}, set()
    names, geometry = {}, set()
    for field in model._meta.concrete_fields:
        names[field.column] = str(field.verbose_name)
        if getattr(field, "geom_type", None):
            geometry.add(field.column)
    return str(model._meta.verbose_name), names, geometry


def _value(v) -> str:
    if v is None or v == "":
        return "—"
    text = ", ".join(str(x) for x in v) if isinstance(v, list) else str(v)
    return text if len(text) <= VALUE_MAX else text[:VALUE_MAX] + "…"


def change_lines(event: AuditEvent) -> list[tuple[str, str, str]]:
    """(field, before, after) of one event: the diff against the record's previous event; for a
    record created, deleted or linked (no previous event to compare), its values."""
    _name, names, geometry = _field_labels(event.pgh_obj_model)
    lines = []
    if event.pgh_diff:
        for column, (before, after) in sorted(event.pgh_diff.items()):
            if column in geometry:
                before, after = "…", gettext("(geometry changed)")
            lines.append((names.get(column, column), _value(before), _value(after)))
    elif event.pgh_label != "update" and event.pgh_data:
        for column, v in event.pgh_data.items():
            if column in geometry or column == "id" or v in (None, "", []):
                continue
            lines.append((names.get(column, column), "", _value(v)))
    return lines


def _who(event: AuditEvent, usernames: dict[int, str]) -> str:
    if event.user_id is None:
        # No request's context: a management command, the SLA clock, or SQL typed into the database.
        return gettext("database (no user)")
    return usernames.get(event.user_id) or f"#{event.user_id}"


def _usernames(events: Iterable[AuditEvent]) -> dict[int, str]:
    ids = {e.user_id for e in events if e.user_id is not None}
    return dict(User.objects.filter(pk__in=ids).values_list("pk", "username")) if ids else {}


def _render_changes(event: AuditEvent):
    lines = change_lines(event)
    if not lines:
        return "—"
    return format_html_join(
        mark_safe("<br>"), "{}: {}{}",  # noqa: S308 (a constant)
        ((field, format_html("{} → ", before) if before else "", after) for field, before, after in lines),
    )


def _safe_back(request) -> str | None:
    back = request.GET.get("back")
    if back and url_has_allowed_host_and_scheme(back, allowed_hosts={request.get_host()},
                                                require_https=request.is_secure()) and back.startswith("/"):
        return back
    return None


class KindFilter(pghistory.admin.core.LabelFilter):
    title = cast(str, _("change"))  # lazy, translated when shown (pghistory types it as str)

    def lookups(self, request, model_admin):
        return [(label, LABELS.get(label, label)) for label, _shown in super().lookups(request, model_admin)]


class RecordTypeFilter(pghistory.admin.core.EventModelFilter):
    title = cast(str, _("record type"))  # as above

    def lookups(self, request, model_admin):
        shown = []
        for label, _shown in super().lookups(request, model_admin):
            tracked = apps.get_model(label).pgh_tracked_model
            shown.append((label, str(tracked._meta.verbose_name)))
        return sorted(shown, key=lambda pair: pair[1])


class AuditEventsAdmin(pghistory.admin.EventsAdmin):
    """Every change record of the configuration. Registered by `pghistory.admin` (settings:
    PGHISTORY_ADMIN_MODEL, PGHISTORY_ADMIN_CLASS)."""

    change_list_template = "admin/audit/auditevent/change_list.html"
    list_per_page = 50

    def get_list_display(self, request):
        return ["when", "record", "kind", "changes", "who", "page"]

    def get_list_filter(self, request):
        core = pghistory.admin.core
        filters = [KindFilter, RecordTypeFilter]
        if "obj" in request.GET:
            filters += [core.MethodFilter, core.ObjFilter, core.BackFilter]
        elif "model" in request.GET:
            filters += [core.ModelFilter, core.BackFilter]
        return filters

    def changelist_view(self, request, extra_context=None):
        named = request.GET.get("obj")
        if named and not self._may_name(request, named):
            # The page's title names the record (pghistory reads it): one the user may not see, or
            # none, is not found (as its own admin page answers).
            raise Http404(gettext("No such record."))
        extra_context = {**(extra_context or {}), "audit_back": _safe_back(request)}
        return super().changelist_view(request, extra_context=extra_context)

    def _may_name(self, request, named: str) -> bool:
        """Whether the record `model label:pk` exists and is one the user sees in its own admin
        (a superuser: any that exists)."""
        label, _sep, pk = named.partition(":")
        try:
            model = apps.get_model(label)
        except (LookupError, ValueError):
            return False
        model_admin = self.admin_site._registry.get(model)
        if request.user.is_superuser or model_admin is None:
            rows = model._default_manager.all() if request.user.is_superuser else model._default_manager.none()
        else:
            rows = model_admin.get_queryset(request)
        try:
            return rows.filter(pk=pk).exists()
        except (ValueError, TypeError, ValidationError):
            return False

    @admin.display(description=_("when"), ordering="pgh_created_at")
    def when(self, obj):
        return timezone.localtime(obj.pgh_created_at).strftime("%Y-%m-%d %H:%M:%S")

    @admin.display(description=_("record"))
    def record(self, obj):
        name, _names, _geometry = _field_labels(obj.pgh_obj_model)
        return f"{name} #{obj.pgh_obj_id}" if obj.pgh_obj_id else name

    @admin.display(description=_("change"))
    def kind(self, obj):
        return LABELS.get(obj.pgh_label, obj.pgh_label)

    @admin.display(description=_("what changed"))
    def changes(self, obj):
        return _render_changes(obj)

    @admin.display(description=_("by"))
    def who(self, obj):
        return _who(obj, getattr(obj, "audit_usernames", {}))

    @admin.display(description=_("page"))
    def page(self, obj):
        return obj.url or "—"

    def get_changelist(self, request, **kwargs):
        base = super().get_changelist(request, **kwargs)

        class AuditChangeList(base):
            def get_results(self, request):
                super().get_results(request)
                usernames = _usernames(self.result_list)  # one query for the page
                for event in self.result_list:
                    event.audit_usernames = usernames

        return AuditChangeList


class HistoryMixin:
    """A "change history" section at the end of a tracked model's change page: its latest change
    records, newest first, with a link to all of them. `history_across` names further event models
    whose rows point at the record (a member's shifts and grids), shown with its own."""

    history_across: tuple[str, ...] = ()

    def get_readonly_fields(self, request, obj=None):
        fields = list(super().get_readonly_fields(request, obj))
        return [*fields, "change_history"] if obj is not None else fields

    def get_fields(self, request, obj=None):
        return [f for f in super().get_fields(request, obj) if f != "change_history"]

    def get_fieldsets(self, request, obj=None):
        fieldsets = list(super().get_fieldsets(request, obj))
        if obj is not None:
            fieldsets.append((_("Change history"), {"fields": ["change_history"]}))
        return fieldsets

    def history_events(self, obj) -> list[AuditEvent]:
        events = AuditEvent.objects.all()
        if self.history_across:
            own = pghistory.core.event_models(tracks_model=type(obj))
            events = events.references(obj).across(*own, *self.history_across)
        else:
            events = events.tracks(obj)
        return list(events.order_by("-pgh_created_at", "-pgh_id")[:HISTORY_ROWS])

    @admin.display(description=_("change history"))
    def change_history(self, obj):
        if obj is None or obj.pk is None:
            return "—"
        events = self.history_events(obj)
        usernames = _usernames(events)
        link = format_html('<a href="{}?{}">{}</a>', reverse("admin:audit_auditevent_changelist"),
                           urlencode({"obj": f"{obj._meta.label}:{obj.pk}",
                                      "method": "references" if self.history_across else "tracks"}),
                           gettext("All change records of this record"))
        if not events:
            return format_html("{}<br>{}", gettext("No change on record yet."), link)
        rows = format_html_join(
            "", "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            ((timezone.localtime(e.pgh_created_at).strftime("%Y-%m-%d %H:%M:%S"),
              _field_labels(e.pgh_obj_model)[0], LABELS.get(e.pgh_label, e.pgh_label), _render_changes(e),
              _who(e, usernames)) for e in events),
        )
        head = format_html("<tr><th>{}</th><th>{}</th><th>{}</th><th>{}</th><th>{}</th></tr>",
                           gettext("when"), gettext("record"), gettext("change"), gettext("what changed"),
                           gettext("by"))
        return format_html('<table class="audit-history"><thead>{}</thead><tbody>{}</tbody></table>{}',
                           head, rows, link)


# --- actions that call a service ------------------------------------------------------------------

class TextForm(forms.Form):
    text = forms.CharField(widget=forms.Textarea(attrs={"rows": 3, "cols": 60}), max_length=2000)

    def __init__(self, *args, label, required: bool, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["text"].label = label
        self.fields["text"].required = required


def service_action(*, name: str, description, run: Callable[..., object], permission: str,
                   ask=None, required: bool = True, form: type[forms.Form] | None = None,
                   template: str = "admin/audit/action_form.html"):
    """An admin action calling `run(obj=..., actor=request.user, **data)` (a service call) for
    each selected record. With `ask` (the question: "Reason", "Note") a page first asks for the
    text, for every record at once, and `data` is `{"text": ...}`; with `form`, the page shows that
    form and `data` is its cleaned data. Each refusal of the service (DomainError) is shown as an
    error message naming the record; the others go ahead, each in its own transaction (the
    service's)."""

    def make_form(request):
        bound = request.POST if "confirm" in request.POST else None
        if form is not None:
            return form(bound)
        if ask is not None:
            return TextForm(bound, label=ask, required=required)
        return None

    def action(modeladmin, request, queryset):
        data = {}
        asked = make_form(request)
        if asked is not None:
            if not asked.is_bound or not asked.is_valid():
                context = {
                    **modeladmin.admin_site.each_context(request),
                    "title": description, "form": asked, "objects": list(queryset), "opts": modeladmin.model._meta,
                    "action_name": name, "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
                    "media": modeladmin.media + asked.media,
                }
                return TemplateResponse(request, template, context)
            data = asked.cleaned_data
        done = 0
        for obj in queryset:
            try:
                run(obj=obj, actor=request.user, **data)
            except DomainError as e:
                modeladmin.message_user(request, format_html("{}: {}", obj, e.message), messages.ERROR)
            else:
                done += 1
        if done:
            modeladmin.message_user(request, gettext("%(action)s: done for %(count)d record(s).")
                                    % {"action": description, "count": done}, messages.SUCCESS)
        return None

    action.__name__ = name
    return admin.action(description=description, permissions=[permission])(action)


class ReadOnlyAdminMixin:
    """A lifecycle record in the admin: shown, never added, changed or deleted here (its services
    change it, and the timeline says so); the actions are the moves offered."""

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


class ReadOnlyMapMixin:
    """For a `LeafletGeoAdmin` whose records may be shown read only (a lifecycle record, a published
    grid): there each geometry is drawn on a map that cannot be edited, not printed as coordinates."""

    def __init__(self, model, admin_site):
        super().__init__(model, admin_site)
        self._map_fields = {f.name: f for f in model._meta.concrete_fields if getattr(f, "geom_type", None)}
        for name, field in self._map_fields.items():
            setattr(self, f"{name}_map", self._map_display(field))

    def _map_display(self, db_field):
        widget_class = self._get_map_widget(db_field, self.widget)

        def show(obj):
            widget = widget_class()
            widget.modifiable = False
            return widget.render(f"{db_field.name}_map", getattr(obj, db_field.name),
                                 attrs={"id": f"id_{db_field.name}_map"})

        show.short_description = db_field.verbose_name
        return show

    def _as_map(self, name):
        if isinstance(name, (list, tuple)):
            return type(name)(self._as_map(n) for n in name)
        return f"{name}_map" if name in self._map_fields else name

    def get_fieldsets(self, request, obj=None):
        fieldsets = super().get_fieldsets(request, obj)
        if obj is None or self.has_change_permission(request, obj):
            return fieldsets
        return [(title, {**options, "fields": [self._as_map(f) for f in options["fields"]]})
                for title, options in fieldsets]

    @property
    def media(self):
        return super().media + self.widget().media


# --- users and roles: Django's admin, with the history beside the record ------------------------

admin.site.unregister(User)
admin.site.unregister(Group)


@admin.register(User)
class AuditedUserAdmin(HistoryMixin, UserAdmin):
    history_across = ("audit.UserGroupEvent", "audit.UserPermissionEvent")


@admin.register(Group)
class AuditedGroupAdmin(HistoryMixin, GroupAdmin):
    """The roles (config/roles.py) are the deployment's, one name for every sub-district: a staff
    user who is not a superuser only views them (with the permission to), since adding, renaming or
    deleting one, or changing what it may do, would change every sub-district's users. Who holds a
    role is given on the user's page (geo.admin.TenantUserAdmin)."""

    history_across = ("audit.GroupPermissionEvent",)

    def has_add_permission(self, request):
        return request.user.is_superuser and super().has_add_permission(request)

    def has_change_permission(self, request, obj=None):
        return request.user.is_superuser and super().has_change_permission(request, obj)

    def has_delete_permission(self, request, obj=None):
        return request.user.is_superuser and super().has_delete_permission(request, obj)
