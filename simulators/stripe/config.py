"""The stand-in's configuration: the one secret key it accepts, the webhook endpoint
registered at start (so `make run` needs no API call), and the knobs tests turn."""

from __future__ import annotations

from dataclasses import dataclass

DEFAULT_API_KEY = "sk_test_mall_platform"
DEFAULT_WEBHOOK_SECRET = "whsec_mall_platform_local"

# Settings that may be changed while the stand-in runs (POST /_sim/settings).
RUNTIME_SETTINGS = (
    "time_scale",
    "duplicate_probability",
    "api_down",
    "decline_all",
    "webhook_timeout",
    "max_attempts",
)


@dataclass
class StripeSimConfig:
    """`time_scale` multiplies the webhook retry schedule (1 min, 5 min, 30 min, 2 h …);
    `duplicate_probability` is the chance an acknowledged event is delivered again;
    `api_down` makes every /v1 call answer 503; `decline_all` makes every charge fail;
    `max_attempts` bounds deliveries of one event to one endpoint."""

    api_key: str = DEFAULT_API_KEY
    webhook_url: str | None = None
    webhook_secret: str = DEFAULT_WEBHOOK_SECRET
    public_url: str | None = None
    business_name: str = "Mall Platform"
    time_scale: float = 1.0
    duplicate_probability: float = 0.0
    api_down: bool = False
    decline_all: bool = False
    webhook_timeout: float = 10.0
    max_attempts: int = 8
    # Where the state is kept across restarts (`make run`); None keeps it in memory only.
    state_file: str | None = None
