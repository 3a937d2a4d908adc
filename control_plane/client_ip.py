"""The client's IP address, the one rule every per-IP limit and WeChat's payer_client_ip use.

The socket's peer (REMOTE_ADDR) is the only address a client cannot choose. Behind
TRUSTED_PROXY_COUNT proxies (load balancer, ingress...), each of which appends the address it
received the request from to X-Forwarded-For, the client is the N-th address from the right:
everything to its left was written by the client and may be forged. DRF's NUM_PROXIES and
django-axes (AXES_CLIENT_IP_CALLABLE) are set to the same rule in settings.
"""

from __future__ import annotations

from django.conf import settings

# What a request without a peer address (a Unix-socket server) is counted as.
UNKNOWN_ADDRESS = "127.0.0.1"


def client_ip(request) -> str:
    """The client's address: REMOTE_ADDR, or with TRUSTED_PROXY_COUNT = N > 0 the N-th entry
    from the right of X-Forwarded-For (the left-most one when there are fewer, as DRF does)."""
    remote = request.META.get("REMOTE_ADDR") or UNKNOWN_ADDRESS
    proxies = settings.TRUSTED_PROXY_COUNT
    if proxies <= 0:
        return remote
    forwarded = [
        address.strip()
        for address in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")
        if address.strip()
    ]
    if not forwarded:
        return remote
    return forwarded[-min(proxies, len(forwarded))]
