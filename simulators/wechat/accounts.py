"""Who exists in the simulated WeChat: the service provider's apps, the sub-merchants
with their own apps, and a handful of test users.

App ids, app secrets, openids and unionids are derived from the state directory's secret
seed with HMAC, so they are the same after a restart and need no storage, and a
sub-merchant added again gets back the ids it had."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from dataclasses import asdict, dataclass
from pathlib import Path

from .errors import param_error
from .keys import (
    APIV3_KEY_FILE,
    CREDENTIALS_FILE,
    SP_CERT_SERIAL_FILE,
    SP_PRIVATE_KEY_FILE,
    WECHATPAY_PUBLIC_KEY_FILE,
    WECHATPAY_PUBLIC_KEY_ID_FILE,
    Credentials,
)

OFFICIAL_ACCOUNT = "official_account"
MINIPROGRAM = "miniprogram"
DEFAULT_MAX_RATIO = 3000


@dataclass(frozen=True)
class SubMerchantSpec:
    """A sub-merchant as configured: its id, its profit-sharing cap in basis points."""

    sub_mchid: str
    max_ratio: int = DEFAULT_MAX_RATIO
    name: str = ""


@dataclass(frozen=True)
class App:
    appid: str
    secret: str
    kind: str
    owner_mchid: str


@dataclass(frozen=True)
class SubMerchant:
    sub_mchid: str
    name: str
    max_ratio: int
    sub_appid: str
    sub_miniprogram_appid: str


@dataclass(frozen=True)
class SimUser:
    key: str
    nickname: str
    sex: int
    province: str
    city: str


SIM_USERS = (
    SimUser("alice", "Alice 爱丽丝", 2, "广东", "深圳"),
    SimUser("bob", "Bob 鲍勃", 1, "北京", "北京"),
    SimUser("carol", "Carol 卡萝", 2, "上海", "上海"),
    SimUser("dave", "Dave 大卫", 1, "浙江", "杭州"),
)


class Directory:
    """The registry of apps, sub-merchants and users. Mutated only under the state lock."""

    def __init__(self, credentials: Credentials, specs: list[SubMerchantSpec]):
        self.credentials = credentials
        self.sp_appid = self._derive_appid("sp", OFFICIAL_ACCOUNT)
        self.sp_miniprogram_appid = self._derive_appid("sp", MINIPROGRAM)
        self.apps: dict[str, App] = {}
        self.sub_merchants: dict[str, SubMerchant] = {}
        self.users = {user.key: user for user in SIM_USERS}
        self._openids: dict[tuple[str, str], str] = {}
        self._register_app(self.sp_appid, OFFICIAL_ACCOUNT, credentials.sp_mchid)
        self._register_app(self.sp_miniprogram_appid, MINIPROGRAM, credentials.sp_mchid)
        for spec in specs:
            self.add_sub_merchant(spec)

    def add_sub_merchant(self, spec: SubMerchantSpec) -> SubMerchant:
        merchant = SubMerchant(
            sub_mchid=spec.sub_mchid,
            name=spec.name or f"特约商户{spec.sub_mchid}",
            max_ratio=spec.max_ratio,
            sub_appid=self._derive_appid(spec.sub_mchid, OFFICIAL_ACCOUNT),
            sub_miniprogram_appid=self._derive_appid(spec.sub_mchid, MINIPROGRAM),
        )
        self.sub_merchants[spec.sub_mchid] = merchant
        self._register_app(merchant.sub_appid, OFFICIAL_ACCOUNT, spec.sub_mchid)
        self._register_app(merchant.sub_miniprogram_appid, MINIPROGRAM, spec.sub_mchid)
        return merchant

    def app(self, appid: str | None) -> App | None:
        return self.apps.get(appid or "")

    def require_sp_mchid(self, value: str, location: str = "body") -> None:
        if value != self.credentials.sp_mchid:
            raise param_error("/sp_mchid", "sp_mchid 与发起请求的商户号不一致", location)

    def require_sub_merchant(self, sub_mchid: str, location: str = "body") -> SubMerchant:
        merchant = self.sub_merchants.get(sub_mchid)
        if merchant is None:
            raise param_error("/sub_mchid", "特约商户与服务商不存在受理关系", location)
        return merchant

    def require_sp_app(self, appid: str, field: str = "/sp_appid") -> App:
        app = self.apps.get(appid)
        if app is None or app.owner_mchid != self.credentials.sp_mchid:
            raise param_error(field, "appid 与服务商商户号不匹配")
        return app

    def require_sub_app(self, merchant: SubMerchant, appid: str, field: str = "/sub_appid") -> App:
        app = self.apps.get(appid)
        if app is None or app.owner_mchid != merchant.sub_mchid:
            raise param_error(field, "sub_appid 与 sub_mchid 不匹配")
        return app

    def require_user(self, appid: str, openid: str, field: str) -> SimUser:
        """The test user an openid belongs to; WeChat refuses an openid of another app."""
        user = self.user_by_openid(appid, openid)
        if user is None:
            raise param_error(field, "openid 与 appid 不匹配")
        return user

    def openid(self, appid: str, user: SimUser) -> str:
        key = (appid, user.key)
        if key not in self._openids:
            self._openids[key] = "o" + self._digest(f"openid:{appid}:{user.key}")[:27]
        return self._openids[key]

    def unionid(self, user: SimUser) -> str:
        return "o" + self._digest(f"unionid:{user.key}")[:27]

    def user_by_openid(self, appid: str, openid: str | None) -> SimUser | None:
        return next((u for u in self.users.values() if self.openid(appid, u) == openid), None)

    def describe_sub_merchant(self, merchant: SubMerchant) -> dict:
        """A sub-merchant with its apps' secrets, as the platform needs to configure it."""
        return {
            **asdict(merchant),
            "sub_app_secret": self.apps[merchant.sub_appid].secret,
            "sub_miniprogram_secret": self.apps[merchant.sub_miniprogram_appid].secret,
        }

    def describe_users(self, appid: str | None, base_url: str) -> list[dict]:
        users = []
        for user in self.users.values():
            entry = {
                "key": user.key,
                "nickname": user.nickname,
                "headimgurl": avatar_url(base_url, user),
                "unionid": self.unionid(user),
            }
            if appid:
                entry["openid"] = self.openid(appid, user)
            users.append(entry)
        return users

    def _register_app(self, appid: str, kind: str, owner_mchid: str) -> None:
        secret = hmac.new(self._seed, f"secret:{appid}".encode(), hashlib.sha256).hexdigest()
        self.apps[appid] = App(appid, secret[:32], kind, owner_mchid)

    def _derive_appid(self, owner: str, kind: str) -> str:
        return (
            "wx"
            + hmac.new(self._seed, f"appid:{owner}:{kind}".encode(), hashlib.sha256).hexdigest()[
                :16
            ]
        )

    def _digest(self, label: str) -> str:
        digest = hmac.new(self._seed, label.encode(), hashlib.sha256).digest()
        return base64.urlsafe_b64encode(digest).decode().rstrip("=")

    @property
    def _seed(self) -> bytes:
        return bytes.fromhex(self.credentials.secret_seed)


def avatar_url(base_url: str, user: SimUser) -> str:
    return f"{base_url}/_sim/avatar/{user.key}.svg"


def write_credentials_file(
    state_dir: Path, directory: Directory, base_url: str | None = None
) -> dict:
    """`credentials.json`: every id and secret the platform needs, with the key files'
    names. Rewritten when the sub-merchants or the public URL change."""
    credentials = directory.credentials
    content = {
        "sp_mchid": credentials.sp_mchid,
        "sp_appid": directory.sp_appid,
        "sp_app_secret": directory.apps[directory.sp_appid].secret,
        "sp_miniprogram_appid": directory.sp_miniprogram_appid,
        "sp_miniprogram_secret": directory.apps[directory.sp_miniprogram_appid].secret,
        "sp_cert_serial": credentials.sp_cert_serial,
        "apiv3_key": credentials.apiv3_key,
        "wechatpay_public_key_id": credentials.wechatpay_public_key_id,
        "secret_seed": credentials.secret_seed,
        "base_url": base_url,
        "files": {
            "sp_private_key": SP_PRIVATE_KEY_FILE,
            "sp_cert_serial": SP_CERT_SERIAL_FILE,
            "apiv3_key": APIV3_KEY_FILE,
            "wechatpay_public_key": WECHATPAY_PUBLIC_KEY_FILE,
            "wechatpay_public_key_id": WECHATPAY_PUBLIC_KEY_ID_FILE,
        },
        "sub_merchants": [
            directory.describe_sub_merchant(merchant)
            for merchant in directory.sub_merchants.values()
        ],
    }
    path = state_dir / CREDENTIALS_FILE
    path.write_text(json.dumps(content, ensure_ascii=False, indent=2) + "\n")
    path.chmod(0o600)
    return content
