"""Which sub-districts a user works in (geo/tenancy.py), and which one a request is about: never
guessed for a user of several."""

import pytest
from django.db import IntegrityError, transaction

from config.errors import DomainError
from geo.models import Tenancy
from geo.tenancy import (
    SESSION_KEY,
    SubdistrictChoiceNeeded,
    choose,
    forget,
    is_tenant,
    subdistrict_for,
    tenant_ids,
    tenant_subdistricts,
)
from tests.factories import make_user, make_world


@pytest.fixture
def three(db):
    """Three sub-districts; T1 and T2 in the district 余杭区, T3 in another."""
    worlds = [make_world(code) for code in ("T1", "T2", "T3")]
    subs = [w["subdistrict"] for w in worlds]
    for sub, district in zip(subs, ("余杭区", "余杭区", "临平区"), strict=True):
        sub.district = district
        sub.save(update_fields=["district"])
    return {"worlds": worlds, "subs": subs}


def test_a_user_works_where_their_rows_say_and_nowhere_else(three):
    t1, t2, t3 = three["subs"]
    room = make_user("room-t1", "command_room", tenants=())
    assert tenant_ids(room) == frozenset()
    Tenancy.objects.create(user=room, subdistrict=t2)
    forget(room)
    assert tenant_ids(room) == {t2.pk}
    assert is_tenant(room, t2.pk) and not is_tenant(room, t1.pk) and not is_tenant(room, t3.pk)


def test_a_district_row_covers_every_sub_district_of_that_district(three):
    t1, t2, t3 = three["subs"]
    centre = make_user("centre", "leader", tenants=())
    Tenancy.objects.create(user=centre, district="余杭区")
    assert tenant_ids(centre) == {t1.pk, t2.pk}
    assert [s.code for s in tenant_subdistricts(centre)] == ["T1", "T2"]


def test_a_member_works_in_their_own_sub_district_while_active(three):
    member = three["worlds"][2]["member"]
    responder = make_user("resp-t3", "responder", member=member, tenants=())
    assert tenant_ids(responder) == {three["subs"][2].pk}
    member.active = False
    member.save(update_fields=["active"])
    forget(responder)
    assert tenant_ids(responder) == frozenset()


def test_a_superuser_works_everywhere_and_an_anonymous_user_nowhere(three):
    from django.contrib.auth.models import AnonymousUser, User

    admin = User.objects.create_superuser("root", password=None)
    assert tenant_ids(admin) is None
    assert tenant_subdistricts(admin).count() == 3
    assert tenant_ids(AnonymousUser()) == frozenset()


def test_the_sub_district_is_named_taken_when_only_or_chosen_never_guessed(three):
    t1, t2, _t3 = three["subs"]
    single = make_user("single", "dispatcher", tenants=(t2,))
    assert subdistrict_for(single) == t2  # the only one
    assert subdistrict_for(single, "T2") == t2
    assert subdistrict_for(single, "T1") is None  # not theirs: the caller answers 404
    assert subdistrict_for(single, "NOPE") is None

    several = make_user("several", "leader", tenants=(t1, t2))
    with pytest.raises(SubdistrictChoiceNeeded) as refused:
        subdistrict_for(several)
    assert refused.value.extra == {"choices": ["T1", "T2"]}
    assert isinstance(refused.value, DomainError) and refused.value.http_status == 400
    session: dict = {}
    assert choose(several, "T3", session) is None and session == {}  # not theirs: not kept
    assert choose(several, "T2", session) == t2 and session == {SESSION_KEY: "T2"}
    assert subdistrict_for(several, session=session) == t2
    assert subdistrict_for(several, "T1", session=session) == t1  # a named one wins

    nowhere = make_user("nowhere", "dispatcher", tenants=())
    assert subdistrict_for(nowhere) is None


def test_a_row_names_one_sub_district_or_one_district_once(three):
    t1 = three["subs"][0]
    user = make_user("u", "leader", tenants=())
    for bad in ({}, {"subdistrict": t1, "district": "余杭区"}):
        with pytest.raises(IntegrityError), transaction.atomic():
            Tenancy.objects.create(user=user, **bad)
    Tenancy.objects.create(user=user, subdistrict=t1)
    with pytest.raises(IntegrityError), transaction.atomic():
        Tenancy.objects.create(user=user, subdistrict=t1)
