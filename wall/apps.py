from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


def _frame_rows(incident_ids: list[int]) -> dict:
    """The board rows an event frame carries, in the site's language (the frame is built once for
    every wall, in whatever request published it; the page shows statuses in its own words)."""
    from django.conf import settings
    from django.utils import translation

    from wall.selectors import board_rows

    with translation.override(settings.LANGUAGE_CODE):
        return board_rows(incident_ids=incident_ids)


class WallConfig(AppConfig):
    name = "wall"
    verbose_name = _("Wall map")

    def ready(self) -> None:
        from incidents.events import register_board_rows

        register_board_rows(_frame_rows)  # event frames carry the board row (incidents.events)
