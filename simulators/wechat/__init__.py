"""A local WeChat for development and tests: web OAuth, official-account and mini-program
APIs, and WeChat Pay API v3 in partner (service provider) mode, with real signatures,
encryption and callbacks. Point wechatpayv3 and wechatpy at it (see README.md).
Production code never imports this package."""

from .accounts import SubMerchantSpec
from .app import WeChatSimulator
from .config import SimulatorConfig
from .keys import (
    APIV3_KEY_FILE,
    CREDENTIALS_FILE,
    SP_CERT_SERIAL_FILE,
    SP_PRIVATE_KEY_FILE,
    WECHATPAY_PUBLIC_KEY_FILE,
    WECHATPAY_PUBLIC_KEY_ID_FILE,
)
from .server import SimulatorServer, serve_in_thread

__all__ = [
    "APIV3_KEY_FILE",
    "CREDENTIALS_FILE",
    "SP_CERT_SERIAL_FILE",
    "SP_PRIVATE_KEY_FILE",
    "WECHATPAY_PUBLIC_KEY_FILE",
    "WECHATPAY_PUBLIC_KEY_ID_FILE",
    "SimulatorConfig",
    "SimulatorServer",
    "SubMerchantSpec",
    "WeChatSimulator",
    "serve_in_thread",
]
