"""Routes every host answers: health and the API schema of that host's own API."""

from django.urls import path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView
from rest_framework.renderers import JSONRenderer

from control_plane.health import healthz


class HostSchemaView(SpectacularAPIView):
    """The public host and the malls have different URLconfs; describe the one serving."""

    def get(self, request, *args, **kwargs):
        self.urlconf = getattr(request, "urlconf", None)
        return super().get(request, *args, **kwargs)


class DocsView(SpectacularSwaggerView):
    """Swagger UI. Its one renderer is an HTML template that only GET names, so OPTIONS
    answered 500; it answers the view's metadata as JSON, as every API view does."""

    def get_renderers(self):
        if self.request.method == "OPTIONS":
            return [JSONRenderer()]
        return super().get_renderers()


urlpatterns = [
    path("healthz", healthz, name="healthz"),
    path("api/schema/", HostSchemaView.as_view(), name="api-schema"),
    path("api/docs/", DocsView.as_view(url_name="api-schema"), name="api-docs"),
]
