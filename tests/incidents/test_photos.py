"""On-site photos with the report from the scene (issue 10), on real PostGIS and a real MEDIA_ROOT
(a temporary directory): multipart upload to the transitions endpoint, the checks that refuse the
whole report (too many, not an image, too large, too many pixels, with another action) leaving
nothing behind, EXIF location and time, the renditions, the idempotent replay of a multipart
request, who may fetch which size, and where the photos show (detail API, incident page, the
phone's work API, the wall card)."""

import hashlib
import os
import time
from datetime import datetime, timedelta
from io import BytesIO, StringIO

import pytest
from django.contrib.gis.geos import Point
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.db import transaction
from django.test.client import encode_multipart
from django.urls import reverse
from django.utils import timezone
from PIL import Image
from PIL.TiffImagePlugin import IFDRational
from rest_framework.test import APIClient

from config.roles import UserRole
from dispatch.management.commands.run_sla_clock import ClockTick
from dispatch.models import DispatchOrder, Force, Member, Role, TravelMode
from dispatch.services import incident_transition
from incidents import photos as photos_module
from incidents.models import Incident, IncidentEvent, IncidentPhoto, Party, Status
from incidents.services import incident_intake, party_register
from tests.factories import SHANGHAI, S, W, add_grid_worker, api_client, make_user, put_on_duty

pytestmark = [pytest.mark.django_db, pytest.mark.world(code="PH", other_code="PX", on_duty=True)]

SCENE = Point(W + 0.002, S + 0.004, srid=4326)  # 120.492, 30.494
PHOTO_LON, PHOTO_LAT = 120.495, 30.495  # 120°29'42"E 30°29'42"N: about 310 m north-east of the scene
REPLAYED = "Idempotent-Replayed"


# --- test images (made here with Pillow) ---------------------------------------------------------------

def _dms(value: float) -> tuple:
    degrees = int(value)
    minutes = int((value - degrees) * 60)
    seconds = round(((value - degrees) * 60 - minutes) * 60, 4)
    return IFDRational(degrees), IFDRational(minutes), IFDRational(seconds)


def jpeg(size=(400, 200), colour=(200, 30, 30), *, gps=None, taken="2026:11:30 14:05:06", orientation=None) -> bytes:
    """A JPEG; with `gps` = (lon, lat) an EXIF GPS directory, with `orientation` the EXIF tag."""
    exif = Image.Exif()
    if orientation:
        exif[0x0112] = orientation
    if gps is not None:
        lon, lat = gps
        exif[0x8825] = {0: b"\x02\x02\x00\x00", 1: "N" if lat >= 0 else "S", 2: _dms(abs(lat)),
                        3: "E" if lon >= 0 else "W", 4: _dms(abs(lon))}
    if taken:
        exif[0x8769] = {0x9003: taken}
    out = BytesIO()
    Image.new("RGB", size, colour).save(out, "JPEG", exif=exif.tobytes())
    return out.getvalue()


def png(size=(64, 48)) -> bytes:
    out = BytesIO()
    Image.new("RGBA", size, (0, 128, 255, 128)).save(out, "PNG")
    return out.getvalue()


def upload(name: str, data: bytes, content_type: str = "image/jpeg") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, data, content_type=content_type)


# --- the world ---------------------------------------------------------------------------------------

@pytest.fixture
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings.MEDIA_ROOT


def stored_files(media) -> list:
    """The photos' files (not the directory's mark of the database that writes there)."""
    if not media.exists():
        return []
    return sorted(p for p in media.rglob("*") if p.is_file() and not p.name.startswith(photos_module.OWNER_MARK))


@pytest.fixture
def ctx(media, world, users, other_world):
    """The shared world (PH) on duty, a second grid worker, the desks' users, an office user of
    another sub-district (PX), and a case with the world's member on the scene."""
    other = add_grid_worker(world)
    put_on_duty(other)
    world.update(
        responder=users.responder, other_responder=make_user("ph-resp2", UserRole.RESPONDER, member=other),
        command=users.command_room, dispatcher=users.dispatcher, calltaker=users.call_taker, leader=users.leader,
        foreign=make_user("px-office", UserRole.DEPARTMENT, UserRole.RESPONDER, member=other_world["member"]),
    )
    on_scene(world, "小区门口两人因停车发生争执")
    return world


def on_scene(world: dict, description: str) -> None:
    """A case at SCENE with the world's member arrived on it: `incident`, `order`, `url` (its
    transitions). The order as the dispatch and the arrival leave it, written directly (dispatching
    needs the demo's roads)."""
    incident = incident_intake(channel=world["channel"], category=world["category"], actor=world["calltaker"],
                               description=description, location=SCENE).incident
    now = timezone.now()
    world["order"] = DispatchOrder.objects.create(
        incident=incident, member=world["member"], method=DispatchOrder.Method.APP, dispatched_at=now,
        dispatched_by=world["dispatcher"], arrive_by=now + timedelta(minutes=30), state=DispatchOrder.State.ARRIVED,
        accepted_at=now, arrived_at=now)
    Incident.objects.filter(pk=incident.pk).update(status=Status.ARRIVED)
    world["incident"] = incident
    world["url"] = reverse("incidents:incident-transition", args=[incident.pk])


def report(ctx, files, *, action="report_on_site", text="双方已劝离，现场秩序正常", key=None, user=None):
    headers = {"Idempotency-Key": key} if key else {}
    return api_client(user or ctx["responder"]).post(
        ctx["url"], {"action": action, "text": text, "photos": files}, format="multipart", headers=headers)


def assert_nothing_saved(ctx, media, status=Status.ARRIVED):
    incident = Incident.objects.get(pk=ctx["incident"].pk)
    assert incident.status == status
    assert not IncidentPhoto.objects.exists()
    assert not incident.events.filter(data__action="report_on_site").exists()
    assert stored_files(media) == []


def photo_url(photo_id, size="thumb") -> str:
    return f"{reverse('incidents:photo', args=[photo_id])}?size={size}"


# --- the upload -----------------------------------------------------------------------------------------

def test_a_report_with_two_photos_keeps_them_with_their_exif_and_renditions(ctx, media):
    first = jpeg(gps=(PHOTO_LON, PHOTO_LAT), orientation=6)
    second = png()
    response = report(ctx, [upload("IMG_0001.jpg", first), upload("scene.png", second, "image/png")])
    assert response.status_code == 200, response.content

    incident = Incident.objects.get(pk=ctx["incident"].pk)
    assert incident.status == Status.REPORTED
    event = incident.events.get(kind=IncidentEvent.Kind.STATUS_CHANGED, to_status=Status.REPORTED)
    photos = list(IncidentPhoto.objects.order_by("position"))
    assert [p.pk for p in photos] == event.data["photos"] and len(photos) == 2
    a, b = photos
    assert (a.event, a.incident, a.uploaded_by, a.member) == (event, incident, ctx["responder"], ctx["member"])
    assert (a.content_type, a.width, a.height, a.byte_size) == ("image/jpeg", 400, 200, len(first))
    assert a.sha256 == hashlib.sha256(first).hexdigest()
    assert a.exif_location.x == pytest.approx(PHOTO_LON, abs=1e-6)
    assert a.exif_location.y == pytest.approx(PHOTO_LAT, abs=1e-6)
    assert a.taken_at == datetime(2026, 11, 30, 14, 5, 6, tzinfo=SHANGHAI)  # no offset: local time
    assert (b.content_type, b.exif_location, b.taken_at) == ("image/png", None, None)

    # Random names, never the client's; the original as uploaded; the renditions upright JPEGs
    # without any metadata.
    for p in photos:
        for field in (p.original, p.large, p.thumb):
            assert field.name.startswith("photos/") and "IMG_0001" not in field.name and "scene" not in field.name
            assert (media / field.name).is_file()
    assert (media / a.original.name).read_bytes() == first
    large = Image.open(media / a.large.name)
    thumb = Image.open(media / a.thumb.name)
    assert large.format == thumb.format == "JPEG"
    assert large.size == (200, 400)  # EXIF orientation 6: turned upright
    assert max(thumb.size) <= 320 and max(Image.open(media / b.large.name).size) <= 1600
    assert not large.getexif() and not thumb.getexif() and "icc_profile" not in large.info

    # The detail lists them; where the photo was taken only for the command roles.
    mine = api_client(ctx["responder"]).get(reverse("incidents:incident-detail", args=[incident.pk])).json()
    assert [p["id"] for p in mine["photos"]] == [a.pk, b.pk]
    assert mine["photos"][0] | {"taken_at": None} == {
        "id": a.pk, "url": photo_url(a.pk, "large"), "thumb_url": photo_url(a.pk), "taken_at": None,
        "exif_location": None, "distance_m": None, "uploaded_by_name": "张伟", "event": event.pk,
        "width": 400, "height": 200}
    theirs = api_client(ctx["command"]).get(reverse("incidents:incident-detail", args=[incident.pk])).json()
    assert theirs["photos"][0]["exif_location"] == [PHOTO_LON, PHOTO_LAT]
    assert 280 < theirs["photos"][0]["distance_m"] < 340
    assert theirs["photos"][1]["exif_location"] is None and theirs["photos"][1]["distance_m"] is None


def test_a_second_report_of_a_reported_case_keeps_its_photos_with_its_note(ctx, media):
    assert report(ctx, []).status_code == 200  # no photos: a plain JSON-less report is fine too
    response = report(ctx, [upload("a.jpg", jpeg())], text="补充现场照片")
    assert response.status_code == 200, response.content
    note = ctx["incident"].events.get(kind=IncidentEvent.Kind.NOTE, data__action="report_on_site")
    assert note.data["photos"] == [IncidentPhoto.objects.get().pk]


def test_four_photos_are_refused_and_nothing_is_saved(ctx, media):
    response = report(ctx, [upload(f"{n}.jpg", jpeg()) for n in range(4)])
    assert response.status_code == 400
    assert response.json()["code"] == "photos" and "At most 3 photos" in response.json()["detail"]
    assert_nothing_saved(ctx, media)


def test_a_text_file_named_jpg_is_refused_and_no_file_is_left(ctx, media):
    response = report(ctx, [upload("good.jpg", jpeg()), upload("notes.jpg", b"just some text, not a photo")])
    assert response.status_code == 400
    body = response.json()
    assert body["code"] == "photo_invalid"
    assert body["detail"] == "Photo 2 (notes.jpg) is not a JPEG, PNG or WebP image."
    assert_nothing_saved(ctx, media)


def test_an_image_of_another_format_is_refused(ctx, media):
    gif = BytesIO()
    Image.new("RGB", (10, 10)).save(gif, "GIF")
    response = report(ctx, [upload("x.jpg", gif.getvalue())])
    assert response.status_code == 400 and response.json()["code"] == "photo_invalid"
    assert_nothing_saved(ctx, media)


def test_a_photo_over_the_size_limit_is_refused(ctx, media, settings):
    settings.PHOTO_MAX_BYTES = 2000
    big = jpeg(size=(800, 800), colour=(10, 200, 10))
    big += b"\0" * (2001 - len(big)) if len(big) < 2001 else b""
    response = report(ctx, [upload("small.jpg", jpeg(size=(8, 8))), upload("big.jpg", big)])
    assert response.status_code == 400
    assert response.json()["code"] == "photo_too_large" and "Photo 2 (big.jpg)" in response.json()["detail"]
    assert_nothing_saved(ctx, media)


def test_a_decompression_bomb_is_refused(ctx, media, settings):
    settings.PHOTO_MAX_PIXELS = 100 * 100
    response = report(ctx, [upload("wide.png", png(size=(101, 100)), "image/png")])
    assert response.status_code == 400 and response.json()["code"] == "photo_too_large"
    assert_nothing_saved(ctx, media)


def test_photos_go_with_the_report_only(ctx, media):
    assert report(ctx, []).status_code == 200  # reported: now `resolve` is possible
    response = report(ctx, [upload("a.jpg", jpeg())], action="resolve", text="调解成功")
    assert response.status_code == 400 and response.json()["code"] == "photos"
    assert Incident.objects.get(pk=ctx["incident"].pk).status == Status.REPORTED
    assert not IncidentPhoto.objects.exists() and stored_files(media) == []


def test_a_refused_report_keeps_no_photo(ctx, media):
    """The report itself refused (by the command room's check, after the photos were prepared)."""
    response = report(ctx, [upload("a.jpg", jpeg())], user=ctx["other_responder"])  # no order on the case
    assert response.status_code == 404
    Incident.objects.filter(pk=ctx["incident"].pk).update(status=Status.DISPATCHED)
    response = report(ctx, [upload("a.jpg", jpeg())])  # not arrived yet: the flow refuses
    assert response.status_code == 409
    assert_nothing_saved(ctx, media, status=Status.DISPATCHED)


def test_a_grid_leader_without_an_order_is_refused_before_any_photo_is_decoded(ctx, media):
    """The grid leader sees the case of their grid, but only a member sent to it reports from the
    scene: the refusal comes first, and the invalid photo is never looked at."""
    leader = Member.objects.create(
        subdistrict=ctx["subdistrict"], unit=ctx["unit"], code="PH-GL", name="王网格", force=Force.GRID_LEADER,
        roles=[Role.GRID_LEADER], phone="13800000009", travel_mode=TravelMode.FOOT,
        home=Point(W + 0.004, S + 0.004, srid=4326))
    leader.grids.add(*ctx["grids"])
    user = make_user("ph-gridlead", UserRole.RESPONDER, member=leader)
    assert api_client(user).get(reverse("incidents:incident-detail", args=[ctx["incident"].pk])).status_code == 200
    response = report(ctx, [upload("notes.jpg", b"not an image at all")], user=user)
    assert response.status_code == 403 and response.json()["code"] == "forbidden"
    assert_nothing_saved(ctx, media)
    # The member sent to the case gets the photo's own refusal.
    assert report(ctx, [upload("notes.jpg", b"not an image at all")]).json()["code"] == "photo_invalid"


def test_a_failure_while_writing_the_files_removes_those_written(ctx, media, monkeypatch):
    storage = photos_module.default_storage
    real_save, calls = storage.save, []

    def failing_save(name, content, *args, **kwargs):  # the disk fills up at the fifth file
        calls.append(name)
        if len(calls) == 5:
            raise OSError("No space left on device")
        return real_save(name, content, *args, **kwargs)

    monkeypatch.setattr(storage, "save", failing_save)
    with pytest.raises(OSError):
        report(ctx, [upload("a.jpg", jpeg()), upload("b.jpg", jpeg())])
    assert len(calls) == 5
    assert_nothing_saved(ctx, media)


# --- orphans: a report rolled back after its files were written ----------------------------------------

def age(media, hours: float) -> None:
    """Every file under media (the database's mark an hour older still) last modified `hours` ago."""
    for path in media.rglob("*"):
        if path.is_file():
            then = time.time() - hours * 3600 - (3600 if path.name.startswith(photos_module.OWNER_MARK) else 0)
            os.utime(path, (then, then))


def report_rolled_back(ctx) -> None:
    """A report whose transaction rolls back after its photos were written (as when the commit, or
    anything after the service, fails): its rows are gone, its files stay."""
    before = IncidentPhoto.objects.count()
    with pytest.raises(RuntimeError), transaction.atomic():
        incident_transition(incident_id=ctx["incident"].pk, action="report_on_site", actor=ctx["responder"],
                            text="现场照片", photos=[upload("lost.jpg", jpeg(colour=(0, 0, 200)))])
        assert IncidentPhoto.objects.count() == before + 1
        raise RuntimeError("the commit failed")
    assert IncidentPhoto.objects.count() == before


def test_the_files_of_a_rolled_back_report_are_swept_once_old_enough(ctx, media):
    assert report(ctx, [upload("kept.jpg", jpeg())]).status_code == 200
    kept = IncidentPhoto.objects.get()
    kept_files = sorted(media / name for name in (kept.original.name, kept.large.name, kept.thumb.name))
    report_rolled_back(ctx)
    assert IncidentPhoto.objects.count() == 1 and len(stored_files(media)) == 6

    assert photos_module.photos_orphans_sweep() == 0  # too young: a report may still be in flight
    age(media, hours=2)
    assert photos_module.photos_orphans_sweep(months=2) == 3
    assert stored_files(media) == kept_files  # the files a photo names are kept
    assert photos_module.photos_orphans_sweep() == 0
    assert api_client(ctx["command"]).get(photo_url(kept.pk, "original")).status_code == 200


def test_the_sla_clock_sweeps_the_orphans_once_an_hour_and_so_does_the_command(ctx, media):
    report_rolled_back(ctx)
    age(media, hours=2)
    tick = ClockTick()  # one look of `manage.py run_sla_clock`
    tick()
    assert stored_files(media) == []
    report_rolled_back(ctx)
    age(media, hours=2)
    tick()  # swept less than an hour ago: not again
    assert len(stored_files(media)) == 3
    tick.swept_at -= 3600
    tick()
    assert stored_files(media) == []
    report_rolled_back(ctx)
    age(media, hours=2)
    out = StringIO()
    call_command("photos_sweep", "--older-than", "60", stdout=out)
    assert out.getvalue().startswith("3 ") and stored_files(media) == []


def test_the_sweep_leaves_a_directory_another_database_writes_to_and_files_older_than_the_mark(ctx, media):
    report_rolled_back(ctx)
    age(media, hours=2)
    other = media / photos_module.PHOTOS_DIR / f"{photos_module.OWNER_MARK}0123456789abcdef"
    other.write_text("another database\n")
    assert photos_module.photos_orphans_sweep() == 0  # shared: their photos are unknown here
    other.unlink()
    for path in media.rglob(f"{photos_module.OWNER_MARK}*"):
        os.utime(path, None)  # marked now: the files are older than the mark
    assert photos_module.photos_orphans_sweep() == 0
    assert len(stored_files(media)) == 3


# --- a phone's offline queue replays the multipart request ---------------------------------------------

def test_a_multipart_report_replayed_with_its_key_runs_once(ctx, media):
    photo = jpeg(gps=(PHOTO_LON, PHOTO_LAT))
    api = api_client(ctx["responder"])

    def send(boundary, name, data=photo):
        # A browser's FormData gets a new boundary at every send; the file's name may change too.
        body = encode_multipart(boundary, {"action": "report_on_site", "text": "现场已处置",
                                           "photos": [upload(name, data)]})
        return api.post(ctx["url"], body, content_type=f"multipart/form-data; boundary={boundary}",
                        headers={"Idempotency-Key": "queue-17"})

    first = send("----one", "IMG_1.jpg")
    assert first.status_code == 200, first.content
    again = send("----another-boundary", "image.jpg")
    assert again.status_code == 200 and again[REPLAYED] == "true"
    assert again.json() == first.json()
    assert IncidentPhoto.objects.count() == 1
    assert ctx["incident"].events.filter(data__action="report_on_site").count() == 1
    assert len(stored_files(media)) == 3  # original, large, thumb: once
    other = send("----three", "IMG_1.jpg", data=jpeg(colour=(0, 0, 0)))
    assert other.status_code == 422 and other.json()["code"] == "idempotency_key_reused"
    assert IncidentPhoto.objects.count() == 1


def test_a_refused_multipart_report_replays_as_refused(ctx, media):
    files = [upload("notes.jpg", b"not an image")]
    first = report(ctx, files, key="queue-18")
    assert first.status_code == 400
    again = report(ctx, [upload("notes.jpg", b"not an image")], key="queue-18")
    assert again.status_code == 400 and again[REPLAYED] == "true"
    assert_nothing_saved(ctx, media)


# --- who may see them -------------------------------------------------------------------------------------

@pytest.fixture
def sent(ctx, media):
    original = jpeg(gps=(PHOTO_LON, PHOTO_LAT))
    response = report(ctx, [upload("IMG_9.jpg", original)])
    assert response.status_code == 200, response.content
    return {"photo": IncidentPhoto.objects.get(), "original": original}


def fetch(user, photo_id, size="thumb"):
    return api_client(user).get(reverse("incidents:photo", args=[photo_id]), {"size": size})


def test_the_member_and_the_command_room_see_the_photo(ctx, sent):
    photo = sent["photo"]
    for user in (ctx["responder"], ctx["command"], ctx["dispatcher"], ctx["leader"]):
        response = fetch(user, photo.pk)
        assert response.status_code == 200, user
        assert response["Content-Type"] == "image/jpeg" and response["Cache-Control"].startswith("private")
        assert b"".join(response.streaming_content) == photo.thumb.open("rb").read()
    large = fetch(ctx["responder"], photo.pk, "large")
    assert large.status_code == 200 and Image.open(BytesIO(b"".join(large.streaming_content))).size == (400, 200)


def test_the_original_with_its_exif_is_for_the_command_roles_only(ctx, sent):
    photo = sent["photo"]
    for user in (ctx["command"], ctx["dispatcher"]):
        response = fetch(user, photo.pk, "original")
        assert response.status_code == 200
        assert b"".join(response.streaming_content) == sent["original"]
    for user in (ctx["responder"], ctx["leader"]):
        assert fetch(user, photo.pk, "original").status_code == 403


def test_others_get_a_404(ctx, sent):
    photo = sent["photo"]
    for user in (ctx["other_responder"], ctx["foreign"]):
        for size in photos_module.SIZES:
            assert fetch(user, photo.pk, size).status_code == 404, (user, size)
    assert fetch(ctx["command"], photo.pk + 1000).status_code == 404
    assert fetch(ctx["command"], photo.pk, "huge").status_code == 400
    assert APIClient().get(reverse("incidents:photo", args=[photo.pk])).status_code == 403


def test_media_is_not_served_as_static_files(ctx, sent, client):
    client.force_login(ctx["command"])
    assert client.get(f"/media/{sent['photo'].thumb.name}").status_code == 404
    assert client.get(f"/media-not-served/{sent['photo'].thumb.name}").status_code == 404


# --- where they show ---------------------------------------------------------------------------------------

def test_the_incident_page_shows_the_photos_and_to_the_command_room_where_they_were_taken(ctx, sent, client):
    photo = sent["photo"]
    page_url = reverse("console:incident", args=[ctx["incident"].pk])
    client.cookies["django_language"] = "en"
    client.force_login(ctx["command"])
    html = client.get(page_url, HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert 'data-testid="photos"' in html
    assert html.count(photo_url(photo.pk)) == 2  # in the photos section and beside the report
    assert photo_url(photo.pk, "large") in html
    assert 'data-testid="photo-distance"' in html and "m from the case point" in html
    client.force_login(ctx["responder"])
    html = client.get(page_url, HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert photo_url(photo.pk) in html and 'data-testid="photo-distance"' not in html


def test_the_phone_lists_the_members_own_photos_and_the_people_masked(ctx, sent):
    party_register(incident_id=ctx["incident"].pk, actor=ctx["responder"], name="李明", phone="13912345678",
                   id_number="11010519491231002X", role=Party.Role.PARTY)
    items = api_client(ctx["responder"]).get(reverse("member_app:work")).json()["orders"]
    case = items[0]["incident"]
    photo = sent["photo"]
    assert case["photos"] == [{"id": photo.pk, "thumb_url": photo_url(photo.pk), "url": photo_url(photo.pk, "large")}]
    [person] = case["parties"]
    assert person["name"] == "李*" and person["role"] == "party" and person["role_display"]
    assert person["phone_masked"] == "139****5678" and person["id_number_masked"] == "110***********002X"
    assert "13912345678" not in str(items) and "11010519491231002X" not in str(items) and "李明" not in str(items)
    one = api_client(ctx["responder"]).get(reverse("member_app:order", args=[ctx["order"].pk])).json()
    assert one["item"]["incident"]["photos"] == case["photos"]


def test_the_wall_card_has_the_thumbnails(ctx, sent):
    photo = sent["photo"]
    card = api_client(ctx["dispatcher"]).get(reverse("wall:incident", args=["PH", ctx["incident"].pk])).json()
    assert card["photos"] == [{"id": photo.pk, "event": photo.event_id, "thumb_url": photo_url(photo.pk),
                               "url": photo_url(photo.pk, "large")}]
    report_event = next(e for e in card["timeline"] if e["id"] == photo.event_id)
    assert report_event["data"]["photos"] == [photo.pk]
