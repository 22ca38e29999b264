"""The department queue API (/api/v1/dept/): a unit's parts of cases (incidents/dept_api.py)."""

from django.urls import path

from incidents import dept_api

app_name = "dept_api"
urlpatterns = [
    path("queue/", dept_api.DeptQueueView.as_view(), name="queue"),
    path("parts/<int:pk>/", dept_api.DeptPartView.as_view(), name="part"),
]
