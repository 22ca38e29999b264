"""Logins and sessions (issue 11): lockout by user and address (django-axes) with an unlock in the
admin, a cap per address, password hashing bounded per process, sessions of a shift ended on the
server."""

import os
import threading

import pytest
from asgiref.sync import async_to_sync
from axes.models import AccessAttempt
from django.contrib.auth.backends import ModelBackend
from django.contrib.auth.hashers import PBKDF2PasswordHasher, check_password, identify_hasher, make_password
from django.contrib.auth.models import User
from django.contrib.sessions.models import Session
from django.test import AsyncClient, Client, RequestFactory
from django.urls import reverse

from config.auth import (
    LOGIN_HASH_NICENESS,
    HashLimitedBackend,
    LoginBusy,
    NicePBKDF2PasswordHasher,
    client_ip,
    hash_slots,
    hashing_pool,
)
from config.roles import UserRole
from tests.factories import make_user

LOGIN = reverse("login")
HOME = reverse("frontend:map")
A, B = "10.1.0.1", "10.1.0.2"


@pytest.fixture(autouse=True)
def _small_limits(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    settings.AXES_FAILURE_LIMIT = 3
    settings.LOGIN_ADDRESS_FAILURE_LIMIT = 5


def post_login(client, username, password, address=A, **extra):
    return client.post(LOGIN, {"username": username, "password": password}, REMOTE_ADDR=address, **extra)


def assert_locked(response):
    assert response.status_code == 429
    assert int(response["Retry-After"]) > 0
    assert 'data-testid="login-locked"' in response.text
    assert response.context["lockout_message"]


@pytest.mark.django_db
def test_a_user_name_is_locked_after_the_limit_from_that_address_only(client):
    make_user("wang")
    for _ in range(2):
        assert post_login(client, "wang", "wrong").status_code == 200  # the form again, with its error
    assert_locked(post_login(client, "wang", "wrong"))
    # Locked: even the right password is refused (and never hashed) from this address.
    assert_locked(post_login(client, "wang", "pw-wang"))
    assert "_auth_user_id" not in client.session
    # The same name from the dispatcher's own desk still logs in.
    response = post_login(Client(), "wang", "pw-wang", address=B)
    assert response.status_code == 302 and response["Location"] == HOME


@pytest.mark.django_db
def test_the_lockout_is_answered_under_asgi_as_the_server_runs(settings):
    """uvicorn runs the middleware chain asynchronously: axes' async path calls the lockout answer
    with its arguments in another order (config.auth.lockout_response)."""
    make_user("feng")
    client = AsyncClient()
    post = async_to_sync(client.post)
    for _ in range(3):
        response = post(LOGIN, {"username": "feng", "password": "wrong"})
    assert_locked(response)
    assert_locked(post(LOGIN, {"username": "feng", "password": "pw-feng"}))


@pytest.mark.django_db
def test_an_address_is_capped_over_all_user_names(client):
    make_user("li")
    for name in ("a1", "a2", "a3", "a4", "a5"):  # one failure each: no single name reaches 3
        post_login(client, name, "guess")
    assert_locked(post_login(client, "li", "pw-li"))
    assert post_login(Client(), "li", "pw-li", address=B).status_code == 302


@pytest.mark.django_db
def test_an_api_client_is_answered_in_json(client):
    make_user("zhao")
    for _ in range(3):
        response = post_login(client, "zhao", "wrong", HTTP_X_REQUESTED_WITH="XMLHttpRequest")
    assert response.status_code == 429
    assert response.json()["code"] == "locked_out" and response.json()["detail"]


@pytest.mark.django_db
def test_a_superuser_unlocks_in_the_admin(client):
    make_user("qian")
    for _ in range(3):
        post_login(client, "qian", "wrong")
    attempt = AccessAttempt.objects.get(username="qian", ip_address=A)
    admin = Client()
    admin.force_login(User.objects.create_superuser("root", password="pw-root"))  # noqa: S106
    assert admin.get(reverse("admin:axes_accessattempt_changelist")).status_code == 200
    response = admin.post(reverse("admin:axes_accessattempt_delete", args=[attempt.pk]), {"post": "yes"})
    assert response.status_code == 302
    assert post_login(client, "qian", "pw-qian").status_code == 302


def test_the_client_address_behind_a_proxy(settings):
    request = RequestFactory().get("/", REMOTE_ADDR="10.9.9.9", HTTP_X_FORWARDED_FOR="6.6.6.6, 10.2.0.7")
    assert client_ip(request) == "10.9.9.9"  # direct by default: a sent header is not believed
    settings.TRUSTED_PROXY_COUNT = 1
    assert client_ip(request) == "10.2.0.7"  # what our proxy saw, not what the client wrote
    settings.TRUSTED_PROXY_COUNT = 3  # fewer entries than proxies: the peer
    assert client_ip(request) == "10.9.9.9"


# ---- password hashing bounded per process ---------------------------------------------------------


def test_password_checks_run_at_most_the_configured_number_at_once(settings, monkeypatch):
    settings.LOGIN_HASH_CONCURRENCY = 2
    settings.LOGIN_HASH_WAIT_SECONDS = 60  # everyone waits for a slot here; none is refused
    lock, inside_two, release = threading.Lock(), threading.Event(), threading.Event()
    state = {"inside": 0, "most": 0, "done": 0}

    def fake_check(self, request, username=None, password=None, **kwargs):
        with lock:
            state["inside"] += 1
            state["most"] = max(state["most"], state["inside"])
            if state["inside"] == 2:
                inside_two.set()
        release.wait(30)
        with lock:
            state["inside"] -= 1
            state["done"] += 1

    monkeypatch.setattr(ModelBackend, "authenticate", fake_check)
    backend = HashLimitedBackend()
    threads = [threading.Thread(target=backend.authenticate, args=(None,), kwargs={"username": f"u{i}", "password": "x"})
               for i in range(5)]
    for thread in threads:
        thread.start()
    assert inside_two.wait(30)
    with lock:
        assert state["inside"] == 2  # the other three wait at the semaphore, not in PBKDF2
    release.set()
    for thread in threads:
        thread.join(30)
    assert state == {"inside": 0, "most": 2, "done": 5}


@pytest.mark.django_db
def test_a_login_without_a_free_slot_is_answered_503_and_not_counted(client, settings):
    settings.LOGIN_HASH_CONCURRENCY = 1
    settings.LOGIN_HASH_WAIT_SECONDS = 0
    make_user("sun")
    slots = hash_slots()
    assert slots.acquire(timeout=5)  # another login is hashing
    try:
        with pytest.raises(LoginBusy):
            HashLimitedBackend().authenticate(None, username="sun", password="pw-sun")  # noqa: S106
        response = post_login(client, "sun", "pw-sun")
    finally:
        slots.release()
    assert response.status_code == 503 and int(response["Retry-After"]) > 0
    assert not AccessAttempt.objects.exists()  # not the user's failure
    assert post_login(client, "sun", "pw-sun").status_code == 302


# ---- sessions -------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_a_session_lasts_a_shift(client, settings):
    make_user("zhou")
    response = post_login(client, "zhou", "pw-zhou")
    assert response.cookies[settings.SESSION_COOKIE_NAME]["max-age"] == settings.SESSION_COOKIE_AGE
    assert settings.SESSION_COOKIE_AGE <= 24 * 3600


@pytest.mark.django_db
def test_logout_ends_the_session_on_the_server(client, settings):
    make_user("wu", UserRole.COMMAND_ROOM)
    post_login(client, "wu", "pw-wu")
    old_key = client.cookies[settings.SESSION_COOKIE_NAME].value
    assert client.get(HOME).status_code == 200
    response = client.post(reverse("logout"))
    assert response.status_code == 302
    assert not Session.objects.filter(session_key=old_key).exists()
    replay = Client()
    replay.cookies[settings.SESSION_COOKIE_NAME] = old_key  # a copied cookie no longer opens anything
    response = replay.get(HOME)
    assert response.status_code == 302 and response["Location"].startswith(LOGIN)


@pytest.mark.django_db
def test_a_password_change_ends_the_users_other_sessions(client):
    user = make_user("zheng", UserRole.COMMAND_ROOM)
    post_login(client, "zheng", "pw-zheng")
    assert client.get(HOME).status_code == 200
    user.set_password("a-new-password-2")
    user.save()
    response = client.get(HOME)
    assert response.status_code == 302 and response["Location"].startswith(LOGIN)


def test_passwords_hash_as_djangos_pbkdf2_on_a_thread_of_lower_priority(settings):
    """Stored hashes stay Django's PBKDF2-SHA256 (both ways), and the derivation runs on a hashing
    thread niced below the request threads (config/auth.py)."""
    settings.PASSWORD_HASHERS = ["config.auth.NicePBKDF2PasswordHasher"]
    ours = make_password("班前会口令", salt="fixedsalt1234567", hasher="pbkdf2_sha256")
    djangos = PBKDF2PasswordHasher().encode("班前会口令", "fixedsalt1234567")
    assert ours == djangos and check_password("班前会口令", djangos) and not check_password("口令", ours)
    assert isinstance(identify_hasher(ours), NicePBKDF2PasswordHasher)

    def priority() -> int:
        return os.getpriority(os.PRIO_PROCESS, threading.get_native_id())

    assert hashing_pool().submit(priority).result() == priority() + LOGIN_HASH_NICENESS
