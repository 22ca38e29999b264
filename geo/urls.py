from django.urls import path

from geo import api

app_name = "geo"
urlpatterns = [
    path("subdistricts/", api.SubdistrictListView.as_view(), name="subdistricts"),
    path("communities/", api.CommunityListView.as_view(), name="communities"),
    path("grids/", api.GridListView.as_view(), name="grids"),
    path("roads/", api.RoadListView.as_view(), name="roads"),
    path("waters/", api.WaterListView.as_view(), name="waters"),
    path("places/", api.PlaceListView.as_view(), name="places"),
    path("addresses/", api.AddressListView.as_view(), name="addresses"),
]
