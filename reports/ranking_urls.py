"""Routes of the monthly ranking's API, the compliance's and the year-end assessment's."""

from django.urls import path

from reports import ranking_api

urlpatterns = [
    path("ranking/", ranking_api.RankingView.as_view(), name="ranking"),
    path("ranking/publish/", ranking_api.RankingPublishView.as_view(), name="ranking-publish"),
    path("compliance/", ranking_api.ComplianceView.as_view(), name="compliance"),
    path("assessment/", ranking_api.AssessmentView.as_view(), name="assessment"),
]
