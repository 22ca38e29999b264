"""What an OPTIONS request answers (REST_FRAMEWORK["DEFAULT_METADATA_CLASS"]).

DRF's SimpleMetadata describes the POST/PUT body by calling `view.get_serializer()` on every
generic view; our action views are generic views that validate with a serializer of their own and
have no `serializer_class`, so OPTIONS on them was a 500 (an AssertionError). Here the body is
described only where the view has a serializer to describe; the OpenAPI document
(/api/schema/) is the full description of every body in any case."""

from rest_framework.metadata import SimpleMetadata


def _has_serializer(view) -> bool:
    # Imported here: rest_framework.generics imports the views, whose APIView reads this setting.
    from rest_framework.generics import GenericAPIView

    if getattr(view, "serializer_class", None) is not None:
        return True
    get_class = getattr(type(view), "get_serializer_class", None)
    return get_class is not None and get_class is not GenericAPIView.get_serializer_class


class ActionMetadata(SimpleMetadata):
    def determine_actions(self, request, view):
        if not _has_serializer(view):
            return {}
        return super().determine_actions(request, view)
