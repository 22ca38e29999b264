"""Pages of the agenda reports (filled by its module)."""

urlpatterns: list = []
