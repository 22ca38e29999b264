from django.urls import path

from frontend import district_views, views

app_name = "frontend"
urlpatterns = [
    path("", views.map_view, name="map"),
    path("choose/", views.choose_subdistrict_view, name="choose"),
    path("district/", district_views.district_view, name="district"),  # the district map (vector tiles)
]
