"""Per-client-IP limit on sign-in code requests (pages and API), on top of the per-phone
limits of `login_code_request`: one address cannot make the mall text thousands of numbers.
SHOPPER_CODE_IP_RATE="" turns it off."""

from django.conf import settings
from rest_framework.throttling import SimpleRateThrottle


class LoginCodeIpThrottle(SimpleRateThrottle):
    scope = "shopper_code"

    def get_rate(self):
        return settings.SHOPPER_CODE_IP_RATE or None

    def get_cache_key(self, request, view):
        # The cache key function prefixes the schema: each mall counts on its own.
        return self.cache_format % {"scope": self.scope, "ident": self.get_ident(request)}

    def allow(self, request) -> bool:
        """For plain Django views (DRF calls allow_request itself)."""
        return self.allow_request(request, None)
