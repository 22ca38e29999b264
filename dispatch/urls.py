from django.urls import path

from dispatch import api

app_name = "dispatch"
urlpatterns = [
    path("members/", api.MemberListView.as_view(), name="members"),
    path("members/<int:pk>/", api.MemberDetailView.as_view(), name="member-detail"),
    # Orders, escalation level and the SLA clock's alarms (issue 4).
    path("orders/<int:pk>/accept/", api.OrderAcceptView.as_view(), name="order-accept"),
    path("orders/<int:pk>/decline/", api.OrderDeclineView.as_view(), name="order-decline"),
    path("orders/<int:pk>/stand-down/", api.OrderStandDownView.as_view(), name="order-stand-down"),
    path("orders/<int:pk>/remind/", api.OrderRemindView.as_view(), name="order-remind"),
    path("orders/<int:pk>/replace/", api.OrderReplaceView.as_view(), name="order-replace"),
    path("incidents/<int:pk>/", api.IncidentDispatchView.as_view(), name="incident-dispatch"),
    path("incidents/<int:pk>/level/", api.IncidentLevelView.as_view(), name="incident-level"),
    path("alarms/", api.AlarmListView.as_view(), name="alarms"),
    path("alarms/<int:pk>/acknowledge/", api.AlarmAcknowledgeView.as_view(), name="alarm-acknowledge"),
    path("alarms/<int:pk>/snooze/", api.AlarmSnoozeView.as_view(), name="alarm-snooze"),
]
