"""Pages of the trends reports (filled by its module)."""

urlpatterns: list = []
