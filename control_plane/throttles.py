from django.conf import settings
from rest_framework.throttling import SimpleRateThrottle


class SignupThrottle(SimpleRateThrottle):
    """Per-IP limit on signups (page and API). SIGNUP_THROTTLE_RATE="" turns it off."""

    scope = "signup"

    def get_rate(self):
        return settings.SIGNUP_THROTTLE_RATE or None

    def get_cache_key(self, request, view):
        return self.cache_format % {"scope": self.scope, "ident": self.get_ident(request)}
