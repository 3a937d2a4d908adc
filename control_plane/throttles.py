"""Per-client-IP rate limits, for DRF views (`throttle_classes`) and plain Django views
(`allow_request(request, None)`). Each rate is a setting; an empty one turns it off."""

from django.conf import settings
from rest_framework.throttling import SimpleRateThrottle

from control_plane.client_ip import client_ip


class ClientIpThrottle(SimpleRateThrottle):
    """Counts requests per client IP under `scope`, at the rate the setting named by
    `rate_setting` gives (e.g. "30/hour")."""

    rate_setting: str

    def get_rate(self):
        return getattr(settings, self.rate_setting) or None

    def get_ident(self, request):
        # The socket's address unless trusted proxies are configured: a forged
        # X-Forwarded-For must not open a fresh bucket.
        return client_ip(request)

    def get_cache_key(self, request, view):
        # On a mall's host the cache key function prefixes the schema: each mall counts on
        # its own.
        return self.cache_format % {"scope": self.scope, "ident": self.get_ident(request)}


class SignupThrottle(ClientIpThrottle):
    """Signups (page and API). SIGNUP_THROTTLE_RATE="" turns it off."""

    scope = "signup"
    rate_setting = "SIGNUP_THROTTLE_RATE"


class LoginCodeIpThrottle(ClientIpThrottle):
    """Sign-in code requests (pages and API), on top of the per-phone limits of
    `login_code_request`: one address cannot make the mall text thousands of numbers.
    SHOPPER_CODE_IP_RATE="" turns it off."""

    scope = "shopper_code"
    rate_setting = "SHOPPER_CODE_IP_RATE"
