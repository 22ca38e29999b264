from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class DispatchConfig(AppConfig):
    name = "dispatch"
    verbose_name = _("Forces and dispatch")

    def ready(self):
        # Offices named on an assignment form at intake are told of their parts (incidents cannot
        # import dispatch: it registers the hook).
        from dispatch.unit_notify import offices_tell_new_parts
        from incidents.services import on_handovers_created

        on_handovers_created(offices_tell_new_parts)

        # A member's message published by id from a worker without Redis is built in the server
        # process by this (config.live).
        from config import live
        from dispatch.live import LIVE_KIND, messages_by_id

        live.register(LIVE_KIND, messages_by_id)

        # A member's delete waits for the position batches holding the member, and they for it,
        # in one order (dispatch.positions.lock_member_before_delete).
        from django.db.models.signals import pre_delete

        from dispatch.models import Member
        from dispatch.positions import lock_member_before_delete

        pre_delete.connect(lock_member_before_delete, sender=Member, dispatch_uid="dispatch.member_delete_lock")
