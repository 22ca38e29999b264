"""The responders' app API (/api/v1/m/): a member's own work (dispatch/member_api.py)."""

from django.urls import path

from dispatch import member_api

app_name = "member_app"
urlpatterns = [
    path("m/work/", member_api.MemberWorkView.as_view(), name="work"),
    path("m/orders/<int:pk>/", member_api.MemberOrderView.as_view(), name="order"),
]
