"""The admin's users, roles and tenancies, scoped by tenant (geo.admin.TenantUserAdmin,
TenancyScopeMixin, TenantAuditEventsAdmin; audit.admin.AuditedGroupAdmin; geo.tenancy.tenant_users_q).

T1's admin (staff, not a superuser, the command room's role, the permissions on users and tenancies)
against T2 (the shared `other_world`): T1's users are listed and edited, T2's, a user of both, a user
of nowhere and a superuser are not (as if deleted); a tenancy is given in T1 only, never a whole
district's; no role, permission or superuser status beyond the admin's own; the autocomplete, a
member's login and the trail show T1's users only; the roles are view only."""

import pytest
from django.contrib import admin
from django.contrib.auth.models import Group, Permission, User
from django.test import RequestFactory
from django.utils import timezone

from audit.models import AuditEvent
from config.roles import UserRole
from dispatch.models import Member
from geo.models import Subdistrict, Tenancy
from geo.tenancy import tenant_users_q
from tests.factories import make_user

DISTRICT = "测试区"
B_MARK = "Zq7Wv"  # in the names of T2's users


def _perms(*codenames: str) -> list[Permission]:
    found = [Permission.objects.get(content_type__app_label=app, codename=codename)
             for app, codename in (c.split(".") for c in codenames)]
    assert len(found) == len(codenames)
    return found


ADMIN_PERMS = ("auth.view_user", "auth.change_user", "auth.add_user", "auth.delete_user", "auth.view_group",
               "auth.change_group", "geo.view_tenancy", "geo.add_tenancy", "geo.change_tenancy",
               "geo.delete_tenancy", "dispatch.view_member", "dispatch.change_member", "audit.view_auditevent")


def _staff(user: User, *perms: str) -> User:
    user.is_staff = True
    user.save(update_fields=["is_staff"])
    user.user_permissions.set(_perms(*perms))
    return User.objects.get(pk=user.pk)  # no cached permissions


@pytest.fixture
def ctx(world, other_world, users):
    """T1's admin and users, T2's users, and the users who are nobody's but the superusers'."""
    t1, t2 = world["subdistrict"], other_world["subdistrict"]
    Subdistrict.objects.filter(pk__in=[t1.pk, t2.pk]).update(district=DISTRICT)
    a_admin = _staff(make_user("a-admin", UserRole.COMMAND_ROOM, tenants=[t1]), *ADMIN_PERMS)
    b_user = make_user("b-only", UserRole.COMMAND_ROOM, tenants=[t2])
    b_user.first_name = f"乙{B_MARK}"
    b_user.save(update_fields=["first_name"])
    return {
        **world, "t1": t1, "t2": t2, "other": other_world, "a_admin": a_admin,
        "a_mate": make_user("a-mate", UserRole.COMMAND_ROOM, tenants=[t1]),  # within the admin's own
        "a_disp": make_user("a-disp", UserRole.DISPATCHER, tenants=[t1]),  # a role the admin does not hold
        "a_resp": users.responder,  # T1's member's login (and a tenancy of T1)
        "b_user": b_user,
        "both": make_user("ab-both", UserRole.COMMAND_ROOM, tenants=[t1, t2]),
        "nowhere": make_user("no-where", UserRole.COMMAND_ROOM, tenants=()),
        "root": User.objects.create_superuser("root-1", password=None),
        "centre": make_user("centre-1", UserRole.COMMAND_ROOM, tenants=()),
    }


def _district_row(user: User) -> Tenancy:
    return Tenancy.objects.create(user=user, district=DISTRICT)


def _user_post(user: User, *, add_subdistricts=(), **changes) -> dict:
    """The change form of `user` as a non-superuser's page posts it, with `changes` and tenancies of
    `add_subdistricts` added."""
    joined = timezone.localtime(user.date_joined)
    data: dict = {
        "username": user.username, "first_name": user.first_name, "last_name": user.last_name,
        "email": user.email, "groups": [g.pk for g in user.groups.all()],
        "user_permissions": [p.pk for p in user.user_permissions.all()],
        "date_joined_0": joined.date().isoformat(), "date_joined_1": joined.strftime("%H:%M:%S"),
        "last_login_0": "", "last_login_1": "", "_save": "Save",
    }
    for flag in ("is_active", "is_staff", "is_superuser"):
        if getattr(user, flag):
            data[flag] = "on"
    rows = list(Tenancy.objects.filter(user=user, subdistrict__isnull=False).order_by("pk"))
    data.update(_inline(user, rows, add_subdistricts))
    for key, value in changes.items():
        if value is None:
            data.pop(key, None)
        else:
            data[key] = value
    return data


def _inline(user: User | None, rows, add_subdistricts) -> dict:
    data = {"tenancies-TOTAL_FORMS": str(len(rows) + len(add_subdistricts)), "tenancies-INITIAL_FORMS": str(len(rows)),
            "tenancies-MIN_NUM_FORMS": "0", "tenancies-MAX_NUM_FORMS": "1000"}
    for i, row in enumerate(rows):
        data.update({f"tenancies-{i}-id": row.pk, f"tenancies-{i}-subdistrict": row.subdistrict_id})
        if user is not None:
            data[f"tenancies-{i}-user"] = user.pk
    for i, sub in enumerate(add_subdistricts, start=len(rows)):
        data[f"tenancies-{i}-subdistrict"] = sub.pk
        if user is not None:
            data[f"tenancies-{i}-user"] = user.pk
    return data


def _refused(response) -> set[str]:
    """The codes of the errors of an admin page's form and inlines (the page answered 200)."""
    assert response.status_code == 200, (response.status_code, response.content[:300])
    codes = set()
    form = response.context["adminform"].form
    for errors in form.errors.as_data().values():
        codes |= {e.code for e in errors}
    for inline in response.context.get("inline_admin_formsets", []):
        formset = inline.formset
        codes |= {e.code for e in formset.non_form_errors().as_data()}
        for errors in formset.errors:
            codes |= {e.code for field in errors.as_data().values() for e in field}
    return codes


def _change(pk: int) -> str:
    return f"/admin/auth/user/{pk}/change/"


def test_the_list_shows_the_admin_their_own_users_only(ctx, page_as):
    page = page_as(ctx["a_admin"]).get("/admin/auth/user/")
    assert page.status_code == 200
    for mine in ("a-admin", "a-mate", "a-disp", ctx["a_resp"].username):
        assert f">{mine}<" in page.text, mine
    for theirs in ("b-only", "ab-both", "no-where", "root-1", "centre-1", B_MARK):
        assert theirs not in page.text, theirs
    searched = page_as(ctx["a_admin"]).get("/admin/auth/user/", {"q": "b-"})
    assert "b-only" not in searched.text and "ab-both" not in searched.text
    every = page_as(ctx["root"]).get("/admin/auth/user/?all=")
    assert all(name in every.text for name in ("a-mate", "b-only", "ab-both", "no-where"))


def test_the_rule_who_is_whose(ctx):
    """tenant_users_q: every sub-district of the user is the admin's; a district's row counts as all
    its sub-districts; a member's login as its member's sub-district."""
    def of(who: User) -> set[str]:
        return set(User.objects.filter(tenant_users_q(who)).values_list("username", flat=True))

    a_names = {"a-admin", "a-mate", "a-disp", ctx["a_resp"].username}
    assert of(ctx["a_admin"]) == a_names
    _district_row(ctx["centre"])  # the district centre: T1 and T2
    assert of(ctx["centre"]) == a_names | {"b-only", "ab-both", "centre-1"}
    assert "centre-1" not in of(ctx["a_admin"])  # a district's row names T2 too
    # A member of T2 linked to a user of T1: not T1's alone.
    Member.objects.filter(pk=ctx["other"]["member"].pk).update(user=ctx["a_mate"])
    assert "a-mate" not in of(ctx["a_admin"])
    assert of(ctx["root"]) >= a_names | {"b-only", "no-where", "root-1"}


def test_another_tenants_user_is_as_if_deleted(ctx, page_as):
    page = page_as(ctx["a_admin"])
    for theirs in ("b_user", "both", "nowhere", "root"):
        pk = ctx[theirs].pk
        opened = page.get(_change(pk))
        assert opened.status_code == 302 and opened.url == "/admin/", theirs
        assert page.get(f"/admin/auth/user/{pk}/password/").status_code == 404, theirs
        assert page.get(f"/admin/auth/user/{pk}/delete/").status_code == 302, theirs
        assert page.get(f"/admin/auth/user/{pk}/history/").status_code == 302, theirs
        posted = page.post(_change(pk), _user_post(ctx[theirs], first_name="改"))
        assert posted.status_code == 302 and posted.url == "/admin/", theirs
        assert page.post(f"/admin/auth/user/{pk}/password/",
                         {"password1": "Sneaky-pass-123", "password2": "Sneaky-pass-123"}).status_code == 404
    b = User.objects.get(pk=ctx["b_user"].pk)
    assert b.first_name == f"乙{B_MARK}" and b.check_password("pw-b-only")
    deleted = page.post("/admin/auth/user/", {"action": "delete_selected", "_selected_action": [ctx["b_user"].pk],
                                              "post": "yes"})
    assert deleted.status_code in (200, 302) and User.objects.filter(pk=ctx["b_user"].pk).exists()
    assert page.get(_change(ctx["a_mate"].pk)).status_code == 200


def test_a_tenancy_is_given_in_the_admins_own_sub_districts_only(ctx, page_as):
    page = page_as(ctx["a_admin"])
    mate, t1, t2 = ctx["a_mate"], ctx["t1"], ctx["t2"]
    refused = page.post(_change(mate.pk), _user_post(mate, add_subdistricts=[t2]))
    assert _refused(refused) == {"invalid_choice"}
    assert not Tenancy.objects.filter(user=mate, subdistrict=t2).exists()
    # A whole district's row: not a field of the page (posted all the same, ignored).
    posted = _user_post(mate, add_subdistricts=[t1])
    posted.update({"tenancies-1-subdistrict": "", "tenancies-1-district": DISTRICT})
    saved = page.post(_change(mate.pk), posted)
    assert saved.status_code == 302 and not Tenancy.objects.filter(user=mate, district=DISTRICT).exists()
    # Taking away the last one: refused (the user would be the administrators' only).
    last = _user_post(mate)
    last["tenancies-0-DELETE"] = "on"
    refused = page.post(_change(mate.pk), last)
    assert _refused(refused) == {"no_tenancy"}
    assert Tenancy.objects.filter(user=mate, subdistrict=t1).exists()
    # Geo › Tenancies: T2, or a whole district, refused too.
    for body in ({"user": mate.pk, "subdistrict": t2.pk}, {"user": mate.pk, "district": DISTRICT},
                 {"user": ctx["b_user"].pk, "subdistrict": t1.pk}):
        assert _refused(page.post("/admin/geo/tenancy/add/", body)) == (
            {"required"} if "district" in body else {"invalid_choice"}), body
    assert not Tenancy.objects.filter(district=DISTRICT).exists()
    assert not Tenancy.objects.filter(user=ctx["b_user"], subdistrict=t1).exists()
    assert list(Tenancy.objects.filter(user=mate).values_list("subdistrict__code", flat=True)) == [t1.code]


def test_a_new_user_gets_one_of_the_admins_sub_districts(ctx, page_as):
    page = page_as(ctx["a_admin"])
    form = {"username": "a-new", "password1": "Long-enough-pass-1", "password2": "Long-enough-pass-1",
            "usable_password": "true", "_save": "Save"}
    refused = page.post("/admin/auth/user/add/", {**form, **_inline(None, [], [])})
    assert _refused(refused) == {"no_tenancy"} and not User.objects.filter(username="a-new").exists()
    refused = page.post("/admin/auth/user/add/", {**form, **_inline(None, [], [ctx["t2"]])})
    assert _refused(refused) == {"invalid_choice"} and not User.objects.filter(username="a-new").exists()
    added = page.post("/admin/auth/user/add/", {**form, **_inline(None, [], [ctx["t1"]])})
    assert added.status_code == 302, added.content[:500]
    new = User.objects.get(username="a-new")
    assert list(new.tenancies.values_list("subdistrict__code", flat=True)) == [ctx["t1"].code]
    assert page.get(added.url).status_code == 200  # theirs: the page opens
    # Without the permission to give a tenancy, no user is added.
    ctx["a_admin"].user_permissions.remove(*_perms("geo.add_tenancy"))
    assert page_as(User.objects.get(pk=ctx["a_admin"].pk)).get("/admin/auth/user/add/").status_code == 403


def test_no_superuser_status_role_or_permission_beyond_the_admins_own(ctx, page_as):
    page = page_as(ctx["a_admin"])
    me, mate = ctx["a_admin"], ctx["a_mate"]
    dispatcher = Group.objects.get(name=UserRole.DISPATCHER)
    for target in (me, mate):
        page.post(_change(target.pk), _user_post(target, is_superuser="on"))
        assert not User.objects.get(pk=target.pk).is_superuser
        refused = page.post(_change(target.pk), _user_post(
            target, groups=[*(g.pk for g in target.groups.all()), dispatcher.pk]))
        assert _refused(refused) == {"invalid_choice"}
        assert not target.groups.filter(pk=dispatcher.pk).exists()
        refused = page.post(_change(target.pk), _user_post(
            target, user_permissions=[*(p.pk for p in target.user_permissions.all()),
                                      *(p.pk for p in _perms("auth.add_group"))]))
        assert _refused(refused) == {"invalid_choice"}
        assert not User.objects.get(pk=target.pk).has_perm("auth.add_group")
    # Within their own: a change goes through (the page's own fields, a permission the admin has).
    done = page.post(_change(mate.pk), _user_post(mate, first_name="同事", is_staff="on",
                                                  user_permissions=[p.pk for p in _perms("geo.view_tenancy")]))
    assert done.status_code == 302, done.content[:500]
    mate = User.objects.get(pk=mate.pk)
    assert mate.first_name == "同事" and mate.is_staff and mate.has_perm("geo.view_tenancy")
    # A user who may do more (a role the admin does not hold): read only, password included.
    disp = ctx["a_disp"]
    assert page.get(_change(disp.pk)).status_code == 200
    assert page.post(_change(disp.pk), _user_post(disp, first_name="改")).status_code == 403
    assert page.post(f"/admin/auth/user/{disp.pk}/password/",
                     {"password1": "Sneaky-pass-123", "password2": "Sneaky-pass-123"}).status_code == 403
    assert page.post(f"/admin/auth/user/{disp.pk}/delete/", {"post": "yes"}).status_code == 403
    assert User.objects.get(pk=disp.pk).check_password("pw-a-disp")


def test_choices_and_autocomplete_of_a_user_show_the_admins_own(ctx, page_as):
    page = page_as(ctx["a_admin"])
    found = page.get("/admin/autocomplete/", {"app_label": "geo", "model_name": "tenancy", "field_name": "user",
                                              "term": ""})
    assert found.status_code == 200
    names = {r["text"] for r in found.json()["results"]}
    assert {"a-mate", "a-disp"} <= names and not names & {"b-only", "ab-both", "no-where", "root-1"}
    assert page.get("/admin/autocomplete/", {"app_label": "geo", "model_name": "tenancy", "field_name": "user",
                                             "term": "b-only"}).json()["results"] == []
    request = RequestFactory().get("/admin/dispatch/member/")
    request.user = ctx["a_admin"]
    for model, name in ((Member, "user"), (Tenancy, "user")):
        field = admin.site._registry[model].formfield_for_foreignkey(model._meta.get_field(name), request)
        choices = set(field.queryset.values_list("username", flat=True))
        assert "a-mate" in choices and not choices & {"b-only", "ab-both", "no-where", "root-1"}, model
    # A member of T1 linked to T2's user: refused.
    member = ctx["member"]
    popup = page.get("/admin/auth/user/", {"_to_field": "id", "_popup": "1"})
    assert "a-mate" in popup.text and "b-only" not in popup.text
    form_class = admin.site._registry[Member].get_form(request, member)
    assert not form_class(instance=member, data={"user": ctx["b_user"].pk}).fields["user"].queryset.filter(
        pk=ctx["b_user"].pk).exists()


def test_district_rows_the_district_centre_sees_read_only_a_sub_district_admin_never(ctx, page_as):
    centre = _staff(ctx["centre"], *ADMIN_PERMS)
    row = _district_row(centre)
    other_centre = make_user("centre-2", UserRole.COMMAND_ROOM, tenants=())
    their_row = _district_row(other_centre)
    a_list = page_as(ctx["a_admin"]).get("/admin/geo/tenancy/")
    assert a_list.status_code == 200 and DISTRICT not in a_list.text and "centre-" not in a_list.text
    assert page_as(ctx["a_admin"]).get(f"/admin/geo/tenancy/{their_row.pk}/change/").status_code == 302
    page = page_as(centre)
    c_list = page.get("/admin/geo/tenancy/")
    assert "centre-2" in c_list.text and "b-only" in c_list.text  # the district's rows, T1's and T2's
    assert page.get(f"/admin/geo/tenancy/{their_row.pk}/change/").status_code == 200  # shown, read only
    assert page.post(f"/admin/geo/tenancy/{their_row.pk}/change/",
                     {"user": other_centre.pk, "district": "别的区"}).status_code == 403
    assert page.post(f"/admin/geo/tenancy/{row.pk}/delete/", {"post": "yes"}).status_code == 403
    assert Tenancy.objects.filter(district=DISTRICT).count() == 2
    # The district centre edits the users of the district (theirs), never gives a district's row.
    assert page.get(_change(ctx["b_user"].pk)).status_code == 200
    posted = page.post("/admin/geo/tenancy/add/", {"user": ctx["b_user"].pk, "district": "别的区"})
    assert _refused(posted) == {"required"} and not Tenancy.objects.filter(district="别的区").exists()


def test_roles_are_view_only_for_a_non_superuser(ctx, page_as):
    page = page_as(ctx["a_admin"])
    group = Group.objects.get(name=UserRole.COMMAND_ROOM)
    assert page.get("/admin/auth/group/").status_code == 200
    assert page.get(f"/admin/auth/group/{group.pk}/change/").status_code == 200
    assert page.post(f"/admin/auth/group/{group.pk}/change/",
                     {"name": group.name, "permissions": [p.pk for p in _perms("auth.add_group")]}).status_code == 403
    assert page.get("/admin/auth/group/add/").status_code == 403
    assert page.post(f"/admin/auth/group/{group.pk}/delete/", {"post": "yes"}).status_code == 403
    assert not group.permissions.exists() and Group.objects.filter(pk=group.pk).exists()
    root = page_as(ctx["root"])
    assert root.post(f"/admin/auth/group/{group.pk}/change/", {"name": group.name}).status_code == 302


def test_the_trail_of_users_shows_the_admins_own(ctx, page_as):
    mate, b = ctx["a_mate"], ctx["b_user"]
    assert AuditEvent.objects.filter(pgh_obj_model="audit.AuditedUser", pgh_obj_id=str(b.pk)).exists()
    page = page_as(ctx["a_admin"])
    trail = page.get("/admin/audit/auditevent/", {"all": ""})
    assert trail.status_code == 200 and B_MARK not in trail.text and "b-only" not in trail.text
    assert "a-mate" in trail.text
    for named in (f"auth.User:{b.pk}", f"audit.AuditedUser:{b.pk}", f"dispatch.Member:{ctx['other']['member'].pk}",
                  "auth.User:999999", "auth.User:x", "nothing.Here:1"):
        shown = page.get("/admin/audit/auditevent/", {"obj": named, "method": "references"})
        assert shown.status_code == 404 and B_MARK not in shown.text and "b-only" not in shown.text, named
    shown = page.get("/admin/audit/auditevent/", {"obj": f"auth.User:{mate.pk}", "method": "references"})
    assert "a-mate" in shown.text
    assert B_MARK in page_as(ctx["root"]).get("/admin/audit/auditevent/", {"obj": f"auth.User:{b.pk}",
                                                                          "method": "references"}).text
