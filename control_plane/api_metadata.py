"""What an API view answers to OPTIONS.

DRF's SimpleMetadata describes the POST/PUT fields by calling the view's `get_serializer()`;
most views here are GenericAPIViews only for pagination, with separate input and output
serializers per method and no `serializer_class`, so that call fails and OPTIONS answered
500. Fields are described only for a view that declares its `serializer_class`; every
operation's input and output are in the OpenAPI schema at /api/schema/.
"""

from __future__ import annotations

from rest_framework.metadata import SimpleMetadata


class ApiMetadata(SimpleMetadata):
    def determine_actions(self, request, view):
        if getattr(view, "serializer_class", None) is None:
            return {}
        return super().determine_actions(request, view)
