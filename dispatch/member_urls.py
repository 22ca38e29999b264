"""The responders' app API (/api/v1/m/): a member's own work (dispatch/member_api.py) and a leader's
team (dispatch/leader_api.py)."""

from django.urls import path

from dispatch import leader_api, member_api

app_name = "member_app"
urlpatterns = [
    path("m/work/", member_api.MemberWorkView.as_view(), name="work"),
    path("m/orders/<int:pk>/", member_api.MemberOrderView.as_view(), name="order"),
    path("m/team/", leader_api.TeamView.as_view(), name="team"),
    path("m/alarms/<int:pk>/acknowledge/", leader_api.TeamAlarmAcknowledgeView.as_view(), name="alarm-acknowledge"),
]
