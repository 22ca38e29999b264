"""The department queue page (/dept/)."""

from django.urls import path

from frontend import dept_views

app_name = "dept"
urlpatterns = [
    path("", dept_views.dept_view, name="queue"),
]
