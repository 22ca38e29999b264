"""On-site photos: checked and prepared before the report is written, stored with it, served to
those who may see the case.

Up to settings.PHOTO_MAX_COUNT (3) photos go with one on-site report (`report_on_site`), as the
repeated multipart field `photos` of the transitions endpoint. Each is refused — and with it the
whole report: nothing is saved, no file is left — when it is larger than PHOTO_MAX_BYTES, is not
really a JPEG, PNG or WebP image (what Pillow decodes, never the name or the announced content
type), or decodes to more than PHOTO_MAX_PIXELS (a decompression bomb).

`photos_prepare` does the expensive part (verify, decode, read EXIF, render) *before* the incident
is locked; `incidents.services.photos_attach` then writes the rows and the files under the lock.
Kept per photo: the original as uploaded (EXIF and all, so where it was taken: served to the
command roles only), a `large` (≤ PHOTO_LARGE_PX) and a `thumb` (≤ PHOTO_THUMB_PX) JPEG rendition,
upright by the EXIF orientation and without any metadata. File names are random, never the
client's; MEDIA_ROOT is never served as static files.

The files are written inside the report's transaction, after its rows: when anything later fails
(the idempotency record, the offices' messages, the commit itself) the rows roll back and the
files stay. `photos_orphans_sweep` removes them: the files under photos/ of MEDIA_ROOT that no
IncidentPhoto names and that are older than an hour (no report in flight is that slow). The SLA
clock runs it at most once an hour over the latest two months' directories
(`manage.py run_sla_clock`); `manage.py photos_sweep` over every directory.

A photos directory may be shared by several databases on a developer's machine (the development
database, the tests' workers, the browser tests' server all use var/media): a file one of them wrote
is unknown to the others, and would be swept as an orphan. So each database that writes photos marks
the directory (`.database-<hash>`, before its first file: `photo_files_write`); the sweep only runs
in a directory marked by its own database and no other, and leaves every file older than the mark.
"""

import contextlib
import hashlib
import logging
import math
import os
import secrets
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from datetime import timezone as dt_timezone
from io import BytesIO
from typing import cast
from zoneinfo import ZoneInfo

from django.conf import settings
from django.contrib.gis.geos import Point
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import connection
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _
from PIL import Image, ImageOps

from config.errors import DomainError
from incidents.models import IncidentPhoto

log = logging.getLogger(__name__)

REPORT_ACTION = "report_on_site"
SIZES = ("thumb", "large", "original")
PHOTOS_DIR = "photos"  # under MEDIA_ROOT
OWNER_MARK = ".database-"  # + a hash of the database that writes there (see the module docstring)

# Pillow's format names → (content type, file extension). MPO is how Pillow names the multi-picture
# JPEG many phones write: a JPEG all the same.
FORMATS = {"JPEG": ("image/jpeg", ".jpg"), "MPO": ("image/jpeg", ".jpg"), "PNG": ("image/png", ".png"),
           "WEBP": ("image/webp", ".webp")}
DECODERS = ("JPEG", "PNG", "WEBP")  # the only decoders Pillow may try on an upload

EXIF_IFD, GPS_IFD = 0x8769, 0x8825
GPS_LAT_REF, GPS_LAT, GPS_LON_REF, GPS_LON = 1, 2, 3, 4
DATETIME_ORIGINAL, OFFSET_TIME_ORIGINAL = 0x9003, 0x9011
EARLIEST_TAKEN = datetime(2000, 1, 1, tzinfo=UTC)


@dataclass(frozen=True)
class PreparedPhoto:
    """One checked upload, decoded once: the original's bytes and facts, and the two renditions."""

    original: bytes
    sha256: str
    content_type: str
    extension: str
    width: int
    height: int
    exif_location: Point | None
    taken_at: datetime | None
    large: bytes
    thumb: bytes


def photos_prepare(*, files: Sequence, action: str) -> list[PreparedPhoto]:
    """Check and prepare the uploads of one transition. No uploads: []. Raises DomainError (400)
    naming the photo at fault; changes nothing, writes nothing."""
    files = list(files)
    if not files:
        return []
    if action != REPORT_ACTION:
        raise DomainError(_("Photos go only with a report from the scene."), code="photos")
    if len(files) > settings.PHOTO_MAX_COUNT:
        raise DomainError(_("At most %(max)s photos go with one report; %(count)s were sent.")
                          % {"max": settings.PHOTO_MAX_COUNT, "count": len(files)}, code="photos")
    return [_prepare(upload, n) for n, upload in enumerate(files, start=1)]


def _label(n: int, name: str | None) -> str:
    name = (name or "").strip()
    if not name:
        return _("Photo %(n)s") % {"n": n}
    if len(name) > 60:
        name = name[:57] + "…"
    return _("Photo %(n)s (%(name)s)") % {"n": n, "name": name}


def _prepare(upload, n: int) -> PreparedPhoto:
    label = _label(n, getattr(upload, "name", ""))
    limit = settings.PHOTO_MAX_BYTES
    size = getattr(upload, "size", None)
    if size is not None and size > limit:
        raise DomainError(_("%(photo)s is larger than %(mb)s MB.") % {"photo": label, "mb": _mb(limit)},
                          code="photo_too_large")
    upload.seek(0)
    data = upload.read(limit + 1)
    upload.seek(0)
    if len(data) > limit:
        raise DomainError(_("%(photo)s is larger than %(mb)s MB.") % {"photo": label, "mb": _mb(limit)},
                          code="photo_too_large")
    if not data:
        raise DomainError(_("%(photo)s is empty.") % {"photo": label}, code="photo_invalid")
    not_an_image = DomainError(_("%(photo)s is not a JPEG, PNG or WebP image.") % {"photo": label},
                               code="photo_invalid")
    # Pillow warns of an image over Image.MAX_IMAGE_PIXELS and refuses one over twice as many: here
    # the warning refuses it too (the project decodes images nowhere else).
    Image.MAX_IMAGE_PIXELS = settings.PHOTO_MAX_PIXELS
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            probe = Image.open(BytesIO(data), formats=DECODERS)
        with probe:
            image_format, (width, height) = probe.format, probe.size
            _check_pixels(width, height, label)
            probe.verify()  # the structure and checksums, without decoding the pixels
        if image_format not in FORMATS:
            raise not_an_image
        with Image.open(BytesIO(data), formats=DECODERS) as image:
            if image.format in ("JPEG", "MPO"):  # decode at the scale the large rendition needs
                image.draft("RGB", (settings.PHOTO_LARGE_PX, settings.PHOTO_LARGE_PX))
            image.load()  # all the image data: a truncated or corrupt file fails here
            exif = image.getexif()
            location, taken_at = exif_location(exif), exif_taken_at(exif)
            upright = ImageOps.exif_transpose(image)
            large = _jpeg(upright, settings.PHOTO_LARGE_PX)
            thumb = _jpeg(upright, settings.PHOTO_THUMB_PX)
    except DomainError:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise _too_many_pixels(label) from None
    except Exception:  # whatever a decoder raises on a bad file, the answer is the same
        raise not_an_image from None
    content_type, extension = FORMATS[image_format]
    return PreparedPhoto(original=data, sha256=hashlib.sha256(data).hexdigest(), content_type=content_type,
                         extension=extension, width=width, height=height, exif_location=location,
                         taken_at=taken_at, large=large, thumb=thumb)


def _mb(n: int) -> str:
    return f"{n / (1024 * 1024):g}"


def _too_many_pixels(label: str) -> DomainError:
    return DomainError(_("%(photo)s has too many pixels (at most %(mp)s megapixels).")
                       % {"photo": label, "mp": f"{settings.PHOTO_MAX_PIXELS / 1_000_000:g}"}, code="photo_too_large")


def _check_pixels(width: int, height: int, label: str) -> None:
    if width <= 0 or height <= 0 or width * height > settings.PHOTO_MAX_PIXELS:
        raise _too_many_pixels(label)


def _jpeg(image: Image.Image, longest: int) -> bytes:
    """A JPEG of at most `longest` pixels a side, with no metadata (no EXIF, no ICC profile)."""
    frame = image.copy()
    frame.thumbnail((longest, longest), Image.Resampling.LANCZOS)
    if frame.mode in ("RGBA", "LA") or (frame.mode == "P" and "transparency" in frame.info):
        rgba = frame.convert("RGBA")
        flat = Image.new("RGB", rgba.size, (255, 255, 255))
        flat.paste(rgba, mask=rgba.getchannel("A"))
        frame = flat
    elif frame.mode != "RGB":
        frame = frame.convert("RGB")
    out = BytesIO()
    frame.save(out, format="JPEG", quality=85, optimize=True)
    return out.getvalue()


# --- EXIF ------------------------------------------------------------------------------------------

def _text(value) -> str:
    if isinstance(value, bytes):
        value = value.decode("ascii", "replace")
    return str(value or "").strip("\x00 ").upper()


def _degrees(value) -> float | None:
    """Degrees, minutes, seconds (three rationals) → decimal degrees; None when malformed."""
    try:
        d, m, s = (float(part) for part in value)
    except (TypeError, ValueError, ZeroDivisionError):
        return None
    if not all(math.isfinite(x) for x in (d, m, s)) or d < 0 or not (0 <= m < 60) or not (0 <= s < 60):
        return None
    return d + m / 60 + s / 3600


def exif_location(exif) -> Point | None:
    """Where the photo was taken (EXIF GPS, WGS 84), or None: absent, malformed, out of range, or
    the 0°, 0° of a camera without a fix."""
    try:
        gps = exif.get_ifd(GPS_IFD)
    except Exception:  # a broken GPS directory is no location
        return None
    lat, lon = _degrees(gps.get(GPS_LAT)), _degrees(gps.get(GPS_LON))
    lat_ref, lon_ref = _text(gps.get(GPS_LAT_REF)), _text(gps.get(GPS_LON_REF))
    if lat is None or lon is None or lat_ref not in ("N", "S") or lon_ref not in ("E", "W"):
        return None
    lat, lon = (-lat if lat_ref == "S" else lat), (-lon if lon_ref == "W" else lon)
    if not (-90 <= lat <= 90 and -180 <= lon <= 180) or (abs(lat) < 1e-9 and abs(lon) < 1e-9):
        return None
    return Point(lon, lat, srid=4326)


def exif_taken_at(exif) -> datetime | None:
    """When the photo was taken (EXIF DateTimeOriginal, with its OffsetTimeOriginal; without one,
    the server's time zone, as phones write local time), or None: absent, malformed, before 2000 or
    more than a day ahead of the server's clock."""
    try:
        tags = exif.get_ifd(EXIF_IFD)
        raw = _text(tags.get(DATETIME_ORIGINAL))
        taken = datetime.strptime(raw, "%Y:%m:%d %H:%M:%S")  # noqa: DTZ007 - the zone is set below
        offset = _text(tags.get(OFFSET_TIME_ORIGINAL))
        zone = _offset_zone(offset) or ZoneInfo(settings.TIME_ZONE)
        taken = taken.replace(tzinfo=zone)
    except Exception:  # a malformed date is no date
        return None
    if taken < EARLIEST_TAKEN or taken > timezone.now() + timedelta(days=1):
        return None
    return taken


def _offset_zone(offset: str):
    """"+08:00" → a fixed zone; anything else → None."""
    if len(offset) != 6 or offset[0] not in "+-" or offset[3] != ":":
        return None
    hours, minutes = int(offset[1:3]), int(offset[4:6])
    if hours > 14 or minutes >= 60:
        return None
    delta = timedelta(hours=hours, minutes=minutes)
    return dt_timezone(-delta if offset[0] == "-" else delta)


# --- storage ---------------------------------------------------------------------------------------

def photo_ids_reserve(count: int) -> list[int]:
    """`count` new ids of IncidentPhoto, taken from its identity sequence: the report's timeline
    event (append-only) names its photos before their rows are written."""
    table = IncidentPhoto._meta.db_table
    with connection.cursor() as cur:
        cur.execute("SELECT nextval(pg_get_serial_sequence(%s, 'id')) FROM generate_series(1, %s)", [table, count])
        return [row[0] for row in cur.fetchall()]


def photo_names(photo: PreparedPhoto) -> tuple[str, str, str]:
    """Random storage names (original, large, thumb) under photos/YYYY/MM/ of MEDIA_ROOT."""
    base = f"{PHOTOS_DIR}/{timezone.localdate():%Y/%m}/{secrets.token_urlsafe(18)}"
    return f"{base}{photo.extension}", f"{base}-large.jpg", f"{base}-thumb.jpg"


def photo_files_write(files: Sequence[tuple[str, bytes]]) -> None:
    """Write (name, bytes) pairs to the storage; on any failure remove what was written and
    re-raise (the caller's transaction then rolls the rows back: no file is left behind)."""
    written: list[str] = []
    _owner_mark()
    try:
        for name, data in files:
            saved = default_storage.save(name, ContentFile(data))
            written.append(saved)
            if saved != name:  # never: the names are random; a renamed file would not be found
                raise OSError(f"storage renamed {name} to {saved}")
    except BaseException:
        photo_files_delete(written)
        raise


def photo_files_delete(names: Sequence[str]) -> None:
    for name in names:
        with contextlib.suppress(OSError):
            default_storage.delete(name)


def photo_file(photo: IncidentPhoto, size: str):
    """The stored file of one size ("thumb", "large", "original"), opened for reading, with its
    content type. Raises FileNotFoundError when it is missing."""
    field = {"thumb": photo.thumb, "large": photo.large, "original": photo.original}[size]
    content_type = photo.content_type if size == "original" else "image/jpeg"
    return default_storage.open(cast(str, field.name), "rb"), content_type  # every size is stored


def photo_get(*, photo_id: int) -> IncidentPhoto | None:
    return IncidentPhoto.objects.filter(pk=photo_id).first()


# --- orphans: files whose rows rolled back ---------------------------------------------------------

def _photos_root() -> str | None:
    """The photos' directory on disk; None for a storage without one (no mark, no sweep)."""
    try:
        return default_storage.path(PHOTOS_DIR)
    except NotImplementedError:
        return None


def _owner_name() -> str:
    """The mark of this database: its name, hashed (the web server and the clock name it alike)."""
    return OWNER_MARK + hashlib.sha256(str(connection.settings_dict["NAME"]).encode()).hexdigest()[:16]


def _owner_mark() -> None:
    """Mark the photos directory as written by this database (once; the name of the database inside,
    for whoever looks)."""
    root = _photos_root()
    if root is None:
        return
    mark = os.path.join(root, _owner_name())
    if not os.path.exists(mark):
        os.makedirs(root, exist_ok=True)
        with open(mark, "w", encoding="utf-8") as out:
            out.write(f"{connection.settings_dict['NAME']}\n")


def _month_dirs(root: str, months: int | None) -> list[str]:
    """The directories to look in: every one under `root`, or those of the latest `months` months
    (photos/YYYY/MM of the local date: a report's files are written in its month's directory)."""
    if months is None:
        return [root]
    today = timezone.localdate()
    year, month, dirs = today.year, today.month, []
    for _n in range(months):
        dirs.append(os.path.join(root, f"{year:04d}", f"{month:02d}"))
        year, month = (year - 1, 12) if month == 1 else (year, month - 1)
    return dirs


def photos_orphans_sweep(older_than: timedelta = timedelta(hours=1), *, months: int | None = None) -> int:
    """Delete the files under photos/ of MEDIA_ROOT that no IncidentPhoto names (original, large or
    thumb) and that were last modified more than `older_than` ago; with `months`, only in the
    directories of the latest `months` months. Returns how many were deleted. Does nothing in a
    directory not marked by this database alone, and leaves the files older than the mark (see the
    module docstring). Outside any transaction: a file written by a report still in flight is
    younger than `older_than`."""
    root = _photos_root()
    if root is None or not os.path.isdir(root):
        return 0
    owners = sorted(name for name in os.listdir(root) if name.startswith(OWNER_MARK))
    if owners != [_owner_name()]:
        if owners:
            log.warning("photos sweep: %s is shared with another database (%s): not swept", root, ", ".join(owners))
        return 0
    try:
        marked_at = os.stat(os.path.join(root, owners[0])).st_mtime
    except FileNotFoundError:
        return 0
    cutoff = (timezone.now() - older_than).timestamp()
    old: dict[str, list[str]] = {}  # directory (storage name) → the old files' storage names in it
    media = default_storage.path("")
    for top in _month_dirs(root, months):
        for folder, _subdirs, names in os.walk(top):
            prefix = "/".join(os.path.relpath(folder, media).split(os.sep))
            for name in names:
                if folder == root and name.startswith(OWNER_MARK):
                    continue
                with contextlib.suppress(FileNotFoundError):
                    if marked_at <= os.stat(os.path.join(folder, name)).st_mtime < cutoff:
                        old.setdefault(prefix, []).append(f"{prefix}/{name}")
    deleted = 0
    for prefix, names in old.items():
        named: set[str] = set()
        like = f"{prefix}/"
        for row in IncidentPhoto.objects.filter(
                Q(original__startswith=like) | Q(large__startswith=like) | Q(thumb__startswith=like)
        ).values_list("original", "large", "thumb"):
            named.update(row)
        for name in names:
            if name in named:
                continue
            with contextlib.suppress(FileNotFoundError):
                os.remove(default_storage.path(name))
                deleted += 1
    if deleted:
        log.info("photos sweep: %d orphan files deleted", deleted)
    return deleted
