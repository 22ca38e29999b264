from django.urls import path

from planner import api

app_name = "planner"
urlpatterns = [
    path("versions/", api.VersionListView.as_view(), name="versions"),
    path("versions/<int:number>/export/", api.ExportView.as_view(), name="export"),
    path("drafts/", api.DraftListView.as_view(), name="drafts"),
    path("drafts/<int:number>/", api.DraftDetailView.as_view(), name="draft"),
    path("drafts/<int:number>/save/", api.DraftSaveView.as_view(), name="draft-save"),
    path("drafts/<int:number>/split/", api.DraftSplitView.as_view(), name="draft-split"),
    path("drafts/<int:number>/merge/", api.DraftMergeView.as_view(), name="draft-merge"),
    path("drafts/<int:number>/presence/", api.DraftPresenceView.as_view(), name="draft-presence"),
    path("drafts/<int:number>/impact/", api.DraftImpactView.as_view(), name="draft-impact"),
    path("drafts/<int:number>/staff-moves/", api.DraftStaffMoveView.as_view(), name="draft-staff-moves"),
    path("drafts/<int:number>/publish/", api.DraftPublishView.as_view(), name="draft-publish"),
    path("compare/", api.CompareView.as_view(), name="compare"),
    path("assignments/", api.AssignmentView.as_view(), name="assignments"),
    path("import/", api.ImportView.as_view(), name="import"),
]
