from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class WallConfig(AppConfig):
    """The live situation: the wall's socket and the live stream's receiving half (consumers.py,
    relay.py), the frames of the timeline's events (frames.py) and of responders changed by staff
    (member_frames.py), the snapshot, the card and the replay."""

    name = "wall"
    verbose_name = _("Wall map")

    def ready(self) -> None:
        from wall import access_frames, frames, member_frames

        frames.register()  # the timeline's events go out with their board rows (config.live)
        member_frames.register()  # staff's changes to responders and rosters, as the snapshot's rows
        access_frames.register()  # a tenancy taken away closes its user's walls there
