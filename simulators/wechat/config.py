"""The simulator's configuration: credentials from the state directory plus the knobs
tests turn (time scale of callback retries, duplicate deliveries, processing delays)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from .accounts import Directory, SubMerchantSpec, write_credentials_file
from .keys import Credentials

DEFAULT_SUB_MCHIDS = ("1900000109", "1900000110", "1900000111")

# Settings that may be changed while the simulator runs (POST /_sim/settings).
RUNTIME_SETTINGS = (
    "time_scale",
    "duplicate_probability",
    "processing_delay",
    "callback_timeout",
    "profitsharing_notify_url",
)


@dataclass
class SimulatorConfig:
    """`time_scale` multiplies WeChat's callback retry schedule (15 s, 15 s, 30 s, 3 min …);
    `duplicate_probability` is the chance an acknowledged callback is delivered again;
    `processing_delay` is how long (seconds) refunds, profit sharing and transfer
    cancellation stay PROCESSING; `callback_timeout` is how long a merchant has to answer;
    `profitsharing_notify_url` plays the notify URL a real provider sets in the portal."""

    state_dir: Path
    credentials: Credentials
    sub_merchants: list[SubMerchantSpec] = field(default_factory=list)
    public_url: str | None = None
    time_scale: float = 1.0
    duplicate_probability: float = 0.1
    processing_delay: float = 1.0
    callback_timeout: float = 5.0
    profitsharing_notify_url: str | None = None

    @classmethod
    def load_or_create(
        cls,
        state_dir: str | Path,
        *,
        sub_merchants: list[SubMerchantSpec] | None = None,
        **settings,
    ) -> SimulatorConfig:
        """Load the credentials in `state_dir`, generating them on first use, and write
        the files the platform reads. `settings` are the dataclass's other fields."""
        state_dir = Path(state_dir)
        credentials = Credentials.load_or_create(state_dir)
        if sub_merchants is None:
            sub_merchants = [SubMerchantSpec(sub_mchid) for sub_mchid in DEFAULT_SUB_MCHIDS]
        config = cls(state_dir, credentials, list(sub_merchants), **settings)
        write_credentials_file(state_dir, Directory(credentials, config.sub_merchants))
        return config
