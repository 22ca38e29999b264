"""Headers and the API docs (issue 11): `check --deploy` clean with DEBUG off, a Content-Security-
Policy without inline scripts and a Permissions-Policy on every page, templates and scripts that
need no more, and the API docs served from a package to staff only."""

import os
import re
import secrets
import subprocess
import sys
from pathlib import Path

import pytest
from django.urls import reverse

from config.roles import UserRole
from tests.factories import make_user

REPO = Path(__file__).resolve().parents[2]
EXTERNAL = re.compile(r"cdn|jsdelivr|unpkg|cdnjs|https?://(?!testserver)", re.IGNORECASE)


def test_check_deploy_is_clean_with_debug_off():
    env = {key: value for key, value in os.environ.items()
           if not key.startswith(("SECURE_", "SESSION_", "CSRF_", "DJANGO_SETTINGS_MODULE"))}
    env |= {"DEBUG": "0", "SECRET_KEY": secrets.token_urlsafe(50), "DJANGO_SETTINGS_MODULE": "config.settings"}
    completed = subprocess.run(  # noqa: S603 - our own manage.py
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=REPO, env=env, capture_output=True, text=True, timeout=300, check=False)
    assert completed.returncode == 0, completed.stdout + completed.stderr


def directives(response) -> dict[str, list[str]]:
    policy = response["Content-Security-Policy"]
    return {part.split()[0]: part.split()[1:] for part in policy.split(";") if part.strip()}


@pytest.mark.django_db
def test_every_kind_of_page_carries_the_policies(client):
    from django.contrib.auth.models import User

    client.force_login(User.objects.create_superuser("hd-root", password="not-used"))  # noqa: S106
    for url in (reverse("login"), reverse("frontend:map"), reverse("mobile:sw"), "/admin/",
                reverse("incidents:categories")):
        response = client.get(url)
        assert response.status_code == 200, url
        csp = directives(response)
        assert csp["script-src"] == ["'self'"], url  # no 'unsafe-inline', no 'unsafe-eval'
        assert csp["default-src"] == ["'self'"] and csp["object-src"] == ["'none'"]
        assert csp["frame-ancestors"] == ["'none'"] and csp["base-uri"] == ["'self'"]
        assert csp["form-action"] == ["'self'"] and csp["worker-src"] == ["'self'"]
        assert "ws://testserver" in csp["connect-src"]
        policy = response["Permissions-Policy"]
        assert "geolocation=(self)" in policy and "camera=(self)" in policy and "microphone=()" in policy
        assert response["X-Frame-Options"] == "DENY"


def test_the_tile_server_is_allowed_for_images():
    from config.settings import _tile_source

    assert _tile_source("") == []
    assert _tile_source("https://tiles.example.internal/{z}/{x}/{y}.png") == ["https://tiles.example.internal"]
    assert _tile_source("http://t{s}.tianditu.gov.cn/vec_w/wmts?x={x}") == ["http://*.tianditu.gov.cn"]


TEMPLATES = sorted([*REPO.glob("*/templates/**/*.html")])
SCRIPTS = sorted(path for path in [*REPO.glob("frontend/static/**/*.js")])


def test_templates_have_no_inline_script():
    assert TEMPLATES
    for path in TEMPLATES:
        text = path.read_text(encoding="utf-8")
        for tag in re.findall(r"<script\b[^>]*>", text, flags=re.IGNORECASE):
            assert "src=" in tag, f"{path}: inline script {tag} (the CSP refuses it: use a static file)"
        assert not re.search(r"""\son[a-z]+\s*=\s*["']""", text, flags=re.IGNORECASE), f"{path}: an on*= handler"
        assert "javascript:" not in text.lower(), f"{path}: a javascript: URL"


def test_scripts_need_no_eval():
    assert SCRIPTS
    pattern = re.compile(r"\beval\s*\(|new\s+Function\s*\(|set(?:Timeout|Interval)\s*\(\s*[\"'`]")
    for path in SCRIPTS:
        assert not pattern.search(path.read_text(encoding="utf-8")), f"{path}: string evaluation (the CSP refuses it)"


# ---- the API docs -----------------------------------------------------------------------------------


@pytest.mark.django_db
def test_the_api_docs_and_schema_are_for_staff_only(client):
    docs, schema = reverse("api-docs"), reverse("schema")
    response = client.get(docs)
    assert response.status_code == 302 and response["Location"].startswith(reverse("login"))
    assert client.get(schema).status_code in (401, 403)

    client.force_login(make_user("hd-resp", UserRole.RESPONDER))
    assert client.get(docs).status_code == 403
    assert client.get(schema).status_code == 403

    client.force_login(make_user("hd-disp", UserRole.DISPATCHER))
    response = client.get(docs)
    assert response.status_code == 200
    html = response.content.decode()
    assert not EXTERNAL.search(html), EXTERNAL.search(html)
    assert "drf_spectacular_sidecar/swagger-ui-dist/swagger-ui-bundle.js" in html
    assert not re.search(r"<script>", html)  # the start script is a request of its own (CSP)
    script = client.get(docs, {"script": ""})
    assert script.status_code == 200 and script["Content-Type"].startswith("application/javascript")
    assert directives(response)["script-src"] == ["'self'"]
