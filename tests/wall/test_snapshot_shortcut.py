"""The shared wall snapshot answered before Django (wall/snapshot_asgi.py): the same answer as
Django's — status, headers and bytes, in each language and encoding — and every request it may not
answer (no session, a role without the wall, a password changed since, a bad `after`, a token, an
event the shared snapshot does not hold yet) goes to Django, which refuses or builds.

Real parts: Django's ASGI application behind the shortcut, real sessions, real PostgreSQL; only a
counter between them, to tell which answered."""

import pytest
from django.core.asgi import get_asgi_application
from django.test import Client
from django.urls import reverse

from config import asgi
from config.admission import AdmissionGate
from config.roles import UserRole
from tests.factories import make_user, make_world, run_async
from wall.snapshot_asgi import SharedSnapshotShortcut

pytestmark = pytest.mark.django_db(transaction=True)

PER_RESPONSE = {"date", "server", "content-length", "set-cookie"}


class Counting:
    """Django's ASGI application, counting the requests that reach it."""

    def __init__(self):
        self.app, self.calls = get_asgi_application(), 0

    async def __call__(self, scope, receive, send):
        self.calls += 1
        await self.app(scope, receive, send)


def session_of(user) -> dict:
    client = Client()
    client.force_login(user)
    return {"sessionid": client.cookies["sessionid"].value}


def ask(shortcut, requests):
    """[(cookies, headers, params)] → the answers, one after the other."""
    import httpx

    async def scenario():
        transport = httpx.ASGITransport(app=shortcut)
        answers = []
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
            for cookies, headers, params in requests:
                client.cookies.clear()
                answers.append(await client.get(reverse("wall:state", args=["SC"]), cookies=cookies,
                                                headers=headers, params=params))
        return answers

    return run_async(scenario)


def headers_of(response) -> dict:
    return {k: v for k, v in response.headers.items() if k not in PER_RESPONSE}


@pytest.fixture
def walls(settings):
    settings.WALL_SNAPSHOT_SHARE_SECONDS = 60
    make_world("SC")
    return {"disp": session_of(make_user("sc-disp", UserRole.DISPATCHER)),
            "command": session_of(make_user("sc-cmd", UserRole.COMMAND_ROOM)),
            "responder": session_of(make_user("sc-resp", UserRole.RESPONDER))}


def test_the_application_takes_the_shortcut_before_the_gate():
    http = asgi.application.application_mapping["http"]
    assert isinstance(http, SharedSnapshotShortcut) and isinstance(http.app, AdmissionGate)


def test_the_shortcut_answers_as_django_does_in_each_language_and_encoding(walls):
    django = Counting()
    shortcut = SharedSnapshotShortcut(django)
    kinds = [{"Accept-Encoding": "gzip"}, {"Accept-Encoding": "identity"},
             {"Accept-Encoding": "gzip", "Accept-Language": "en"}]
    # The first of each kind goes through Django (it builds, the shortcut learns its headers); the
    # second, another user's, is answered without Django, with the same status, headers and bytes.
    answers = ask(shortcut, [(walls[who], kind, {}) for kind in kinds for who in ("disp", "command")])
    assert django.calls == 3  # the first of each kind only
    for through_django, shortcut_answer in zip(answers[::2], answers[1::2], strict=True):
        assert through_django.status_code == shortcut_answer.status_code == 200
        assert headers_of(shortcut_answer) == headers_of(through_django)
        assert shortcut_answer.content == through_django.content
    assert answers[0].headers["content-encoding"] == "gzip" and "content-encoding" not in answers[2].headers
    assert answers[0].json()["subdistrict"]["code"] == "SC"  # httpx decodes gzip
    assert answers[4].headers["content-language"] == "en" and answers[0].headers["content-language"] == "zh-hans"
    # `after` the snapshot holds: still the shortcut.
    last = answers[0].json()["last_event"]
    again = ask(shortcut, [(walls["disp"], kinds[0], {"after": str(last)})])[0]
    assert django.calls == 3 and again.content == answers[0].content


def test_what_the_shortcut_may_not_answer_goes_to_django(walls, django_user_model):
    django = Counting()
    shortcut = SharedSnapshotShortcut(django)
    gz = {"Accept-Encoding": "gzip"}
    first = ask(shortcut, [(walls["disp"], gz, {})])[0]
    assert first.status_code == 200 and django.calls == 1
    changed = make_user("sc-changed", UserRole.DISPATCHER)
    changed_session = session_of(changed)
    changed.set_password("a new one")
    changed.save()
    last = first.json()["last_event"]
    elsewhere = session_of(make_user("sc-elsewhere", UserRole.DISPATCHER, tenants=()))
    refused = ask(shortcut, [
        (elsewhere, gz, {}),  # staff of another sub-district (geo/tenancy.py): Django's 404, never the shared bytes
        ({}, gz, {}),  # no session
        (walls["responder"], gz, {}),  # a role without the wall
        (changed_session, gz, {}),  # the password changed since the login
        ({"sessionid": "no-such-session"}, gz, {}),
        (walls["disp"], gz, {"after": "abc"}),  # Django's 400
        (walls["disp"], gz, {"after": str(2**63)}),
        (walls["disp"], {**gz, "Authorization": "Token nonsense"}, {}),  # a token client: DRF judges, not the shortcut
    ])
    assert django.calls == 9
    # (with a session, DRF authenticates by the session first: the token is not even read)
    assert [r.status_code for r in refused] == [404, 403, 403, 403, 403, 400, 400, 200]
    # An event the shared snapshot does not hold: Django builds a new one (here: the same events).
    newer = ask(shortcut, [(walls["disp"], gz, {"after": str(last + 1)})])[0]
    assert newer.status_code == 200 and django.calls == 10


def test_no_request_teaches_the_shortcut_the_headers_of_another_kind_of_answer(walls):
    """Repeated headers are joined by Django: a wall asking `gzip;q=0` then `*` gets plain JSON from
    Django, and the shortcut must neither read that request as gzip nor file those headers under
    gzip — else every wall after it got compressed bytes labelled as plain (or the reverse)."""
    django = Counting()
    shortcut = SharedSnapshotShortcut(django)
    import httpx

    async def scenario():
        transport = httpx.ASGITransport(app=shortcut)
        url = reverse("wall:state", args=["SC"])
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
            client.cookies.update(walls["disp"])
            tricky = await client.send(client.build_request(
                "GET", url, headers=[("Accept-Encoding", "gzip;q=0"), ("Accept-Encoding", "*"),
                                     ("Accept-Language", "en"), ("Accept-Language", "zh-hans")]))
            client.cookies.clear()
            client.cookies.update(walls["command"])
            after_it = [await client.get(url, headers={"Accept-Encoding": enc}) for enc in ("gzip", "identity")]
            return tricky, after_it

    tricky, (gzipped, plain) = run_async(scenario)
    assert tricky.status_code == 200 and django.calls == 3  # nothing learnt from the tricky one
    assert gzipped.headers["content-encoding"] == "gzip" and gzipped.json()["subdistrict"]["code"] == "SC"
    assert "content-encoding" not in plain.headers and plain.json()["subdistrict"]["code"] == "SC"


def test_a_host_or_scheme_django_refuses_is_refused_by_django(walls, settings):
    django = Counting()
    shortcut = SharedSnapshotShortcut(django)
    gz = {"Accept-Encoding": "gzip"}
    assert ask(shortcut, [(walls["disp"], gz, {})])[0].status_code == 200
    foreign = ask(shortcut, [(walls["disp"], {**gz, "Host": "evil.example"}, {})])[0]
    assert foreign.status_code == 400 and django.calls == 2  # DisallowedHost, from Django
    settings.SECURE_SSL_REDIRECT = True  # read when Django's middleware is made: a new application
    django = Counting()
    shortcut = SharedSnapshotShortcut(django)
    plain_http = ask(shortcut, [(walls["disp"], gz, {})])[0]
    assert plain_http.status_code == 301 and plain_http.headers["location"].startswith("https://")
    assert django.calls == 1


def test_walls_asking_at_once_wait_for_one_build_through_django(walls):
    """After a restart every wall asks at once and nothing is shared yet: one request goes through
    Django and builds, the others wait for it outside Django and take its bytes."""
    import asyncio

    import httpx

    django = Counting()
    shortcut = SharedSnapshotShortcut(django)

    async def scenario():
        transport = httpx.ASGITransport(app=shortcut)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver",
                                     cookies=walls["disp"], headers={"Accept-Encoding": "gzip"}) as client:
            return await asyncio.gather(*(client.get(reverse("wall:state", args=["SC"])) for _ in range(10)))

    answers = run_async(scenario)
    assert [a.status_code for a in answers] == [200] * 10
    assert django.calls == 1
    assert len({a.content for a in answers}) == 1
