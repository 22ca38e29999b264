"""Websocket abuse (issue 11): the origin is checked exactly (scheme, host, port: config/ws_origin.py),
and a malformed frame — not JSON, binary, an out-of-range id, nested deep, a NUL character — gets one
error frame and a close code on every socket of ours (config/ws_frames.py), never a traceback;
resumes and frames are rate-limited per socket (close 4429)."""

import json
import logging

import pytest
from asgiref.sync import async_to_sync
from channels.testing import WebsocketCommunicator
from django.test import override_settings

from config import ws_frames
from config.asgi import application
from config.roles import UserRole
from config.ws_frames import (
    BIGINT_MAX,
    CLOSE_BAD_REQUEST,
    CLOSE_FORBIDDEN,
    CLOSE_NOT_FOUND,
    CLOSE_RATE_LIMITED,
    FrameRefused,
    TokenBucket,
    decode_frame,
    parse_event_id,
)
from config.ws_origin import origin_allowed
from tests.factories import make_user, make_world, run_async
from tests.wall.test_wall_socket import TIMEOUT, _fresh_channel_layer, closed_with, socket  # noqa: F401 - fixture

# --- the origin --------------------------------------------------------------------------------------


def scope(origin: str | None, host: str | None = "gridlink.example", scheme: str = "wss", **extra_headers) -> dict:
    headers = [(name.replace("_", "-").encode(), value.encode()) for name, value in extra_headers.items()]
    if origin is not None:
        headers.append((b"origin", origin.encode()))
    if host is not None:
        headers.append((b"host", host.encode()))
    return {"type": "websocket", "path": "/ws/wall/T1/", "scheme": scheme, "headers": headers}


HOSTS = override_settings(ALLOWED_HOSTS=["gridlink.example", "127.0.0.1"], CSRF_TRUSTED_ORIGINS=[],
                          SECURE_PROXY_SSL_HEADER=None, USE_X_FORWARDED_HOST=False)


@HOSTS
@pytest.mark.parametrize(("origin", "host", "scheme", "allowed"), [
    ("https://gridlink.example", "gridlink.example", "wss", True),  # exact
    ("https://gridlink.example:443", "gridlink.example", "wss", True),  # the default port, spelled out
    ("http://gridlink.example:8000", "gridlink.example:8000", "ws", True),
    ("https://GridLink.Example", "gridlink.example", "wss", True),  # host names are case-insensitive
    ("https://gridlink.example:8443", "gridlink.example", "wss", False),  # same host, another port
    ("http://gridlink.example:8000", "gridlink.example:8001", "ws", False),
    ("http://gridlink.example", "gridlink.example", "wss", False),  # a plain-HTTP page, a TLS socket
    ("https://gridlink.example", "gridlink.example", "ws", False),  # and the other way round
    ("https://evil.example", "gridlink.example", "wss", False),
    ("https://sub.gridlink.example", "gridlink.example", "wss", False),
    ("http://rebound.example", "rebound.example", "ws", False),  # its own origin, but not our host
    ("https://gridlink.example", None, "wss", False),  # no Host header
    (None, "gridlink.example", "wss", False),  # no Origin header
    ("null", "gridlink.example", "wss", False),  # a sandboxed frame or a file
    ("https://gridlink.example/path", "gridlink.example", "wss", False),
    ("https://user@gridlink.example", "gridlink.example", "wss", False),
    ("https://gridlink.example:99999", "gridlink.example", "wss", False),
    ("ftp://gridlink.example", "gridlink.example", "wss", False),
])
def test_the_origin_must_be_the_requests_own_scheme_host_and_port(origin, host, scheme, allowed):
    assert origin_allowed(scope(origin, host, scheme)) is allowed


@HOSTS
def test_two_origin_headers_are_refused():
    two = scope("https://gridlink.example")
    two["headers"].append((b"origin", b"https://gridlink.example"))
    assert not origin_allowed(two)


@HOSTS
def test_a_trusted_origin_is_accepted_exactly_and_by_wildcard():
    with override_settings(CSRF_TRUSTED_ORIGINS=["https://console.gridlink.example", "https://*.wall.example:8443"]):
        assert origin_allowed(scope("https://console.gridlink.example"))
        assert origin_allowed(scope("https://a.wall.example:8443"))
        assert origin_allowed(scope("https://wall.example:8443"))
        assert not origin_allowed(scope("http://console.gridlink.example"))  # the scheme counts
        assert not origin_allowed(scope("https://console.gridlink.example:444"))  # and the port
        assert not origin_allowed(scope("https://a.wall.example"))
        assert not origin_allowed(scope("https://evilwall.example:8443"))


@HOSTS
def test_behind_a_tls_proxy_the_scheme_comes_from_the_proxy_setting():
    # uvicorn behind nginx: the socket itself is plain ws, the page was https.
    proxied = scope("https://gridlink.example", scheme="ws", x_forwarded_proto="https")
    assert not origin_allowed(proxied)  # the header is not trusted unless the setting says so
    with override_settings(SECURE_PROXY_SSL_HEADER=("HTTP_X_FORWARDED_PROTO", "https")):
        assert origin_allowed(proxied)
        assert not origin_allowed(scope("http://gridlink.example", scheme="ws", x_forwarded_proto="https"))
        assert origin_allowed(scope("http://gridlink.example", scheme="ws"))  # no header: the connection's
    with override_settings(USE_X_FORWARDED_HOST=True):
        assert origin_allowed(scope("https://gridlink.example", host="10.0.0.5:8000",
                                    x_forwarded_host="gridlink.example"))


@HOSTS
@pytest.mark.parametrize("path", ["/ws/wall/T1/", "/ws/member/", "/ws/dept/", "/ws/nothing/"])
def test_every_socket_refuses_a_foreign_origin_at_the_handshake(path, caplog):
    """Refused before any consumer or session lookup (no database here): not even accepted."""
    def handshake(origin: bytes, host: bytes):
        communicator = WebsocketCommunicator(application, path, headers=[(b"origin", origin), (b"host", host)])

        async def go():
            connected, _ = await communicator.connect(timeout=TIMEOUT)
            await communicator.disconnect()
            return connected
        return run_async(go)

    assert not handshake(b"http://127.0.0.1:8001", b"127.0.0.1:8000")  # same host, another port
    assert not handshake(b"https://127.0.0.1:8000", b"127.0.0.1:8000")  # another scheme
    assert not handshake(b"http://evil.example", b"127.0.0.1:8000")
    assert "websocket origin refused" in caplog.text
    assert not [r for r in caplog.records if r.exc_info or r.levelno >= logging.ERROR]


# --- frames, without a socket -------------------------------------------------------------------------


@pytest.mark.parametrize(("text", "code"), [
    (None, "binary_frame"),
    ("", "not_json"),
    ("hello", "not_json"),
    ('{"type": "read", "message": NaN}', "not_json"),
    ('{"type": "read", "message": 1', "not_json"),
    ("[" * 2000 + "]" * 2000, "too_deep"),
    ('{"type": "read", "x": ' + '{"a": ' * 9 + "1" + "}" * 9 + "}", "too_deep"),
    ('{"type": "read", "message": 1, "x": "\x00"}', "nul_character"),
    ('{"type": "read", "message": 1, "x": "\\u0000"}', "nul_character"),
    ('{"type": "read", "message": 1, "\\u0000": 1}', "nul_character"),
    ('{"type": "read", "x": "\\ud800"}', "nul_character"),  # a lone surrogate
    ('{"type": "read", "x": "' + "a" * 5000 + '"}', "frame_too_large"),
    ('{"type": "read", "x": "' + "网" * 1400 + '"}', "frame_too_large"),  # 4200 bytes of UTF-8
    ("[1, 2]", "bad_frame"),
    ('{"message": 1}', "bad_frame"),
    ('{"type": 7}', "bad_frame"),
])
def test_a_malformed_frame_is_refused_with_its_code(text, code):
    with pytest.raises(FrameRefused) as refused:
        decode_frame(text, b"\x00" if text is None else None, max_bytes=4096)
    assert refused.value.code == code
    assert refused.value.close_code == CLOSE_BAD_REQUEST


def test_a_well_formed_frame_passes():
    assert decode_frame('{"type": "read", "message": 12, "x": "[{\\"网格\\"}]"}', None, max_bytes=4096) == {
        "type": "read", "message": 12, "x": '[{"网格"}]'}


@pytest.mark.parametrize(("value", "expected"), [
    (0, 0), (12, 12), ("12", 12), (BIGINT_MAX, BIGINT_MAX), (str(BIGINT_MAX), BIGINT_MAX),
    (BIGINT_MAX + 1, None), (str(BIGINT_MAX + 1), None), ("9" * 30, None), (-1, None), ("-1", None),
    (True, None), (1.0, None), (None, None), ("", None), (" 12", None), ("1_2", None), ("١٢", None),
    ("12\x00", None), ([1], None),
])
def test_ids_are_integers_within_bigint(value, expected):
    assert parse_event_id(value) == expected


def test_the_token_bucket_allows_a_burst_then_refills_evenly():
    now = [0.0]
    bucket = TokenBucket(6, clock=lambda: now[0])
    assert [bucket.take() for _ in range(7)] == [True] * 6 + [False]
    now[0] += 9.0  # 0.1 a second: not yet one
    assert not bucket.take()
    now[0] += 1.0
    assert bucket.take()
    assert not bucket.take()


# --- frames, through the real ASGI stack, on each socket ----------------------------------------------

NOT_JSON = {"text": "hello"}
BINARY = {"bytes": b"\x00\x01binary"}
DEEP = {"text": "[" * 2000 + "]" * 2000}
NUL = {"text": '{"type": "read", "message": 1, "note": "a\\u0000b"}'}
RAW_NUL = {"text": '{"type": "resume", "last_event": 1}\x00'}
TOO_LARGE = {"text": '{"type": "read", "x": "' + "a" * 5000 + '"}'}

BAD_FRAMES = {
    "/ws/wall/T1/?last_event=0": [
        (NOT_JSON, "not_json"), (BINARY, "binary_frame"), (DEEP, "too_deep"), (NUL, "nul_character"),
        (RAW_NUL, "nul_character"), (TOO_LARGE, "frame_too_large"),
        ({"json": {"type": "resume", "last_event": BIGINT_MAX + 1}}, "bad_id"),
        ({"json": {"type": "resume", "last_event": 10**30}}, "bad_id"),
        ({"json": {"type": "resume", "last_event": -1}}, "bad_id"),
        ({"json": {"type": "resume", "last_event": "12"}}, "bad_id"),
        ({"json": {"type": "resume", "last_event": 1.5}}, "bad_id"),
        ({"json": {"type": "hello"}}, "unknown_type"),
    ],
    "/ws/member/": [
        (NOT_JSON, "not_json"), (BINARY, "binary_frame"), (DEEP, "too_deep"), (NUL, "nul_character"),
        (TOO_LARGE, "frame_too_large"),
        ({"json": {"type": "read", "message": BIGINT_MAX + 1}}, "bad_id"),
        ({"json": {"type": "read", "message": 0}}, "bad_id"),
        ({"json": {"type": "read", "message": True}}, "bad_id"),
        ({"json": {"type": "read"}}, "bad_id"),
        ({"json": {"type": "resume", "last_event": 1}}, "unknown_type"),
    ],
    "/ws/dept/": [
        (NOT_JSON, "not_json"), (BINARY, "binary_frame"), (DEEP, "too_deep"), (NUL, "nul_character"),
        ({"json": {"type": "read", "message": BIGINT_MAX + 1}}, "unknown_type"),  # it takes no frames
    ],
}


@pytest.fixture
def people(transactional_db):
    world = make_world()
    return {
        "wall": make_user("ws-disp", UserRole.DISPATCHER),
        # one member, on both member sockets: the responder's app and the department queue
        "member": make_user("ws-member", UserRole.RESPONDER, UserRole.DEPARTMENT, member=world["member"]),
    }


async def until_caught_up(communicator: WebsocketCommunicator) -> None:
    while (await communicator.receive_json_from(timeout=TIMEOUT))["type"] != "caught_up":
        pass


async def send(communicator: WebsocketCommunicator, frame: dict) -> None:
    if "json" in frame:
        await communicator.send_json_to(frame["json"])
    elif "bytes" in frame:
        await communicator.send_to(bytes_data=frame["bytes"])
    else:
        await communicator.send_input({"type": "websocket.receive", "text": frame["text"]})


async def answer_and_close(communicator: WebsocketCommunicator, *frames: dict) -> tuple[list[dict], int | None]:
    """Connect, wait for caught_up, send the frames; the error frame(s) received, then the close code.
    A consumer that raised would raise here (the communicator re-raises the application's error)."""
    connected, _ = await communicator.connect(timeout=TIMEOUT)
    assert connected
    await until_caught_up(communicator)
    for frame in frames:
        await send(communicator, frame)
    received = []
    while True:
        output = await communicator.receive_output(timeout=TIMEOUT)
        if output["type"] == "websocket.close":
            break
        received.append(output)
    # after the close the socket reads nothing: a further frame is ignored, not answered
    await send(communicator, NOT_JSON)
    assert await communicator.receive_nothing(timeout=0.05)
    await communicator.disconnect()
    return [json.loads(o["text"]) for o in received], output.get("code")


def no_tracebacks(caplog) -> list:
    return [r for r in caplog.records if r.exc_info or r.levelno >= logging.ERROR]


def test_a_malformed_frame_gets_an_error_frame_and_close_4400_on_every_socket(people, caplog):
    for path, cases in BAD_FRAMES.items():
        user = people["wall"] if path.startswith("/ws/wall/") else people["member"]
        sockets = [socket(path, user) for _ in cases]  # logging in touches the database: sync code
        for communicator, (frame, code) in zip(sockets, cases, strict=True):
            answers, close_code = async_to_sync(answer_and_close)(communicator, frame)
            assert answers == [{"type": "error", "code": code, "detail": answers[0]["detail"]}], (path, code)
            assert answers[0]["detail"]  # a message for people, in the user's language
            assert close_code == CLOSE_BAD_REQUEST, (path, code)
    assert not no_tracebacks(caplog)


def test_a_bad_query_or_path_closes_with_its_code_and_the_right_origin_reaches_the_consumer(people, caplog):
    """Out-of-range ids in the query: 4400; a NUL or an overlong code in the path, or a path no app
    routes: 4404; the test client's pages are http://127.0.0.1, a server on a port is its own origin."""
    for path, user in [(f"/ws/wall/T1/?last_event={BIGINT_MAX + 1}", people["wall"]),
                       (f"/ws/wall/T1/?last_event={'9' * 40}", people["wall"]),
                       ("/ws/wall/T1/?last_event=%00", people["wall"]),
                       (f"/ws/member/?last_message={BIGINT_MAX + 1}", people["member"]),
                       (f"/ws/dept/?last_message={'9' * 40}", people["member"])]:
        assert async_to_sync(closed_with)(socket(path, user)) == CLOSE_BAD_REQUEST, path
    for path in ["/ws/wall/%00/", "/ws/wall/" + "X" * 200 + "/", "/ws/nothing/", "/ws/wall/T1/extra/"]:
        assert async_to_sync(closed_with)(socket(path, people["wall"])) == CLOSE_NOT_FOUND, path
    communicator = WebsocketCommunicator(application, "/ws/wall/T1/", headers=[
        (b"origin", b"http://127.0.0.1:8000"), (b"host", b"127.0.0.1:8000")])
    assert async_to_sync(closed_with)(communicator) == 4401  # past the origin: anonymous
    planner = make_user("ws-planner", UserRole.PLANNER)
    assert async_to_sync(closed_with)(socket("/ws/wall/T1/", planner)) == CLOSE_FORBIDDEN
    assert not no_tracebacks(caplog)


def test_resumes_and_frames_are_rate_limited_per_socket(people, settings, caplog):
    """The wall's resume replays from the database: WS_RESUME_PER_MINUTE per socket, the one on connect
    included; the next gets an error frame and close 4429. Another socket has its own budget. The
    member's `read` touches the database too: WS_FRAMES_PER_MINUTE frames per socket, then 4429."""
    settings.WS_RESUME_PER_MINUTE = 3
    first, second = socket("/ws/wall/T1/?last_event=0", people["wall"]), socket("/ws/wall/T1/", people["wall"])
    resume = {"json": {"type": "resume", "last_event": 0}}

    async def scenario():
        answers, code = await answer_and_close(first, resume, resume, resume)
        connected, _ = await second.connect(timeout=TIMEOUT)
        assert connected
        await send(second, resume)
        fresh = await second.receive_json_from(timeout=TIMEOUT)
        await second.disconnect()
        return answers, code, fresh

    answers, code, fresh = async_to_sync(scenario)()
    assert [a["type"] for a in answers] == ["caught_up", "caught_up", "error"]
    assert answers[-1]["code"] == "resume_rate_limited"
    assert code == CLOSE_RATE_LIMITED
    assert fresh == {"type": "caught_up", "last_event": 0}

    settings.WS_FRAMES_PER_MINUTE = 2
    read = {"json": {"type": "read", "message": 1}}  # not the member's: answered, the socket stays
    answers, code = async_to_sync(answer_and_close)(socket("/ws/member/", people["member"]), read, read, read)
    assert [(a["type"], a.get("code")) for a in answers] == [("error", "not_found"), ("error", "not_found"),
                                                             ("error", "rate_limited")]
    assert code == CLOSE_RATE_LIMITED
    assert not no_tracebacks(caplog)


def test_the_close_codes_live_in_one_table():
    from dispatch import consumers as dispatch_consumers
    from wall import consumers as wall_consumers

    for module in (wall_consumers, dispatch_consumers):
        assert module.CLOSE_BAD_REQUEST == ws_frames.CLOSE_BAD_REQUEST == 4400
        assert module.CLOSE_FORBIDDEN == ws_frames.CLOSE_FORBIDDEN == 4403
