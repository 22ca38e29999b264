"""Pages of the ranking reports (filled by its module)."""

urlpatterns: list = []
