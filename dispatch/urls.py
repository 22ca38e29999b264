from django.urls import path

from dispatch import api

app_name = "dispatch"
urlpatterns = [
    path("members/", api.MemberListView.as_view(), name="members"),
    path("members/<int:pk>/", api.MemberDetailView.as_view(), name="member-detail"),
]
