from django.urls import path

from frontend import views

app_name = "frontend"
urlpatterns = [
    path("", views.map_view, name="map"),
    path("choose/", views.choose_subdistrict_view, name="choose"),
]
