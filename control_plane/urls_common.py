"""Routes every host answers: health and the API schema of that host's own API."""

from django.urls import path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from control_plane.health import healthz


class HostSchemaView(SpectacularAPIView):
    """The public host and the malls have different URLconfs; describe the one serving."""

    def get(self, request, *args, **kwargs):
        self.urlconf = getattr(request, "urlconf", None)
        return super().get(request, *args, **kwargs)


urlpatterns = [
    path("healthz", healthz, name="healthz"),
    path("api/schema/", HostSchemaView.as_view(), name="api-schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="api-schema"), name="api-docs"),
]
