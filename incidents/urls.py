from django.urls import path

from dispatch import api as dispatch_api  # the moves that write orders: see dispatch/api.py
from incidents import api

app_name = "incidents"
urlpatterns = [
    path("incidents/", api.IncidentListView.as_view(), name="incidents"),
    path("incidents/duplicates/", api.DuplicateCheckView.as_view(), name="duplicates"),
    path("incidents/<int:pk>/", api.IncidentDetailView.as_view(), name="incident-detail"),
    path("incidents/<int:pk>/transitions/", dispatch_api.IncidentTransitionView.as_view(), name="incident-transition"),
    path("incidents/<int:pk>/recommendations/", dispatch_api.IncidentRecommendationView.as_view(),
         name="incident-recommendations"),
    path("incidents/<int:pk>/merge/", dispatch_api.IncidentMergeView.as_view(), name="incident-merge"),
    path("incidents/<int:pk>/locate/", api.IncidentLocateView.as_view(), name="incident-locate"),
    path("incidents/<int:pk>/category/", api.IncidentCategoryView.as_view(), name="incident-category"),
    path("incidents/<int:pk>/parties/", api.IncidentPartyView.as_view(), name="incident-parties"),
    path("incidents/<int:pk>/reveal/", api.IncidentContactsRevealView.as_view(), name="incident-reveal"),
    path("parties/<int:pk>/reveal/", api.PartyRevealView.as_view(), name="party-reveal"),
    path("photos/<int:pk>/", api.PhotoView.as_view(), name="photo"),
    path("categories/", api.CategoryListView.as_view(), name="categories"),
    path("categories/suggest/", api.CategorySuggestView.as_view(), name="category-suggest"),
    path("channels/", api.ChannelListView.as_view(), name="channels"),
    path("units/", api.UnitListView.as_view(), name="units"),
    path("callbacks/", api.CallbackListView.as_view(), name="callbacks"),
    path("callbacks/<int:pk>/complete/", api.CallbackCompleteView.as_view(), name="callback-complete"),
    path("handovers/returns/", api.HandoverReturnsView.as_view(), name="handover-returns"),
    path("gazetteer/", api.GazetteerView.as_view(), name="gazetteer"),
    path("locate/", api.LocateView.as_view(), name="locate"),
]
