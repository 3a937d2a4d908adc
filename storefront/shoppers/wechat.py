"""WeChat web OAuth (网页授权) for shoppers, through wechatpy's `WeChatOAuth`.

The flow: `oauth_state_issue` keeps a random `state` in the browser's session and
`wechat_authorize_url` sends the browser to WeChat; WeChat sends it back to the mall's
callback with `code` and `state`; `oauth_state_consume` accepts each state once, from the
session it was issued to; `wechat_identity_fetch` exchanges the code (and, for
snsapi_userinfo, reads the profile). The base URLs come from settings, so development and
tests talk to the WeChat simulator and production to WeChat, by configuration alone.
"""

from __future__ import annotations

import logging
import secrets
import time
from collections.abc import MutableMapping
from dataclasses import dataclass

import requests
from django.conf import settings
from wechatpy.exceptions import WeChatOAuthException
from wechatpy.oauth import WeChatOAuth

from storefront.shoppers.errors import (
    WeChatSignInFailed,
    WeChatSignInUnavailable,
    WeChatStateInvalid,
    WeChatUnreachable,
)
from storefront.shoppers.legal import Consent

logger = logging.getLogger(__name__)

SCOPE_BASE = "snsapi_base"
SCOPE_USERINFO = "snsapi_userinfo"
SCOPES = (SCOPE_BASE, SCOPE_USERINFO)

STATE_SESSION_KEY = "wechat_oauth_states"
STATE_LIFETIME_SECONDS = 600
MAX_PENDING_STATES = 5


class _MallWeChatOAuth(WeChatOAuth):
    """wechatpy's client with the base URLs from settings and a timeout on every call
    (wechatpy sets none, so a hung WeChat would hang the request)."""

    def __init__(self, *args, open_base_url: str, api_base_url: str, timeout: float, **kwargs):
        super().__init__(*args, **kwargs)
        self.OAUTH_BASE_URL = open_base_url.rstrip("/") + "/connect/"
        self.API_BASE_URL = api_base_url.rstrip("/") + "/"
        self._timeout = timeout

    def _request(self, method, url_or_endpoint, **kwargs):
        kwargs.setdefault("timeout", self._timeout)
        return super()._request(method, url_or_endpoint, **kwargs)


REAL_OPEN_BASE_URL = "https://open.weixin.qq.com"


def wechat_oauth_configured() -> bool:
    return bool(settings.WECHAT_OAUTH_APP_ID and settings.WECHAT_OAUTH_APP_SECRET)


def wechat_oauth_offered(*, in_wechat: bool) -> bool:
    """Whether to show WeChat sign-in. WeChat's real authorize page works only inside the
    WeChat app (elsewhere it asks to open the link in WeChat), so outside WeChat the option
    shows only when the pages point at a stand-in such as the simulator."""
    if not wechat_oauth_configured():
        return False
    return in_wechat or not settings.WECHAT_OPEN_BASE_URL.startswith(REAL_OPEN_BASE_URL)


def _client(*, redirect_uri: str = "", scope: str = SCOPE_BASE, state: str = "") -> WeChatOAuth:
    if not wechat_oauth_configured():
        raise WeChatSignInUnavailable()
    return _MallWeChatOAuth(
        settings.WECHAT_OAUTH_APP_ID,
        settings.WECHAT_OAUTH_APP_SECRET,
        redirect_uri,
        scope=scope,
        state=state,
        open_base_url=settings.WECHAT_OPEN_BASE_URL,
        api_base_url=settings.WECHAT_API_BASE_URL,
        timeout=settings.WECHAT_HTTP_TIMEOUT,
    )


def wechat_authorize_url(*, redirect_uri: str, scope: str, state: str) -> str:
    """The URL of WeChat's authorization page (silent for snsapi_base inside WeChat)."""
    if scope not in SCOPES:
        raise ValueError(f"unknown WeChat OAuth scope {scope!r}")
    return _client(redirect_uri=redirect_uri, scope=scope, state=state).authorize_url


# The state: single use, bound to the session -----------------------------------------------


@dataclass(frozen=True)
class PendingOAuth:
    scope: str
    next_url: str
    consent: Consent | None = None


def _consent_loads(value: object) -> Consent | None:
    if isinstance(value, list) and len(value) == 2 and all(isinstance(v, int) for v in value):
        return Consent(terms_version=value[0], privacy_version=value[1])
    return None


def oauth_state_issue(
    *, session: MutableMapping, scope: str, next_url: str, consent: Consent | None = None
) -> str:
    """A fresh random state, remembered in this browser's session with where to go after
    sign-in and the text versions the person agreed to before leaving for WeChat. A few may
    be pending at once (several tabs); the oldest are dropped."""
    if scope not in SCOPES:
        raise ValueError(f"unknown WeChat OAuth scope {scope!r}")
    now = int(time.time())
    pending = {
        key: value
        for key, value in (session.get(STATE_SESSION_KEY) or {}).items()
        if isinstance(value, dict) and now - value.get("at", 0) < STATE_LIFETIME_SECONDS
    }
    while len(pending) >= MAX_PENDING_STATES:
        pending.pop(min(pending, key=lambda key: pending[key]["at"]))
    state = secrets.token_urlsafe(24)
    pending[state] = {"scope": scope, "next": next_url, "at": now}
    if consent is not None:
        pending[state]["consent"] = [consent.terms_version, consent.privacy_version]
    session[STATE_SESSION_KEY] = pending
    return state


def oauth_state_consume(*, session: MutableMapping, state: object) -> PendingOAuth:
    """Accept `state` once: it must have been issued to this session, not used before and
    not older than ten minutes. Anything else is WeChatStateInvalid (403)."""
    pending = dict(session.get(STATE_SESSION_KEY) or {})
    entry = pending.pop(state, None) if isinstance(state, str) and state else None
    if entry is not None:
        session[STATE_SESSION_KEY] = pending  # spent, whatever happens next
    if not isinstance(entry, dict):
        raise WeChatStateInvalid()
    if int(time.time()) - entry.get("at", 0) >= STATE_LIFETIME_SECONDS:
        raise WeChatStateInvalid()
    return PendingOAuth(
        scope=entry.get("scope", SCOPE_BASE), next_url=entry.get("next", "/"),
        consent=_consent_loads(entry.get("consent")),
    )


# The exchange -------------------------------------------------------------------------------


@dataclass(frozen=True)
class WeChatIdentity:
    openid: str
    unionid: str
    scope: str
    nickname: str | None = None
    avatar_url: str | None = None


def wechat_identity_fetch(*, code: object) -> WeChatIdentity:
    """Exchange an authorization `code` for the user's openid; when the grant's scope is
    snsapi_userinfo, read nickname and avatar too. WeChat's refusals (40029 invalid code,
    40163 code used, …) raise WeChatSignInFailed; no answer raises WeChatUnreachable."""
    if not isinstance(code, str) or not code or len(code) > 256:
        raise WeChatSignInFailed()
    client = _client()
    try:
        token = client.fetch_access_token(code)
        openid = token.get("openid") or ""
        scopes = set((token.get("scope") or "").replace(" ", ",").split(","))
        nickname = avatar_url = None
        unionid = token.get("unionid") or ""
        if SCOPE_USERINFO in scopes:
            info = client.get_user_info(openid=openid, access_token=token["access_token"])
            nickname = (info.get("nickname") or "").strip() or None
            avatar_url = info.get("headimgurl") or ""
            if not avatar_url.startswith(("https://", "http://")):
                avatar_url = None
            unionid = info.get("unionid") or unionid
    except WeChatOAuthException as exc:
        logger.warning("WeChat OAuth refused: %s %s", exc.errcode, exc.errmsg)
        if exc.errcode is None:  # an HTTP error status, not a WeChat errcode
            raise WeChatUnreachable() from None
        raise WeChatSignInFailed(errcode=exc.errcode) from None
    except (requests.RequestException, ValueError, KeyError) as exc:
        logger.warning("WeChat OAuth failed: %r", exc)
        raise WeChatUnreachable() from None
    if not openid or len(openid) > 64:
        raise WeChatSignInFailed()
    scope = SCOPE_USERINFO if SCOPE_USERINFO in scopes else SCOPE_BASE
    return WeChatIdentity(
        openid=openid, unionid=unionid, scope=scope, nickname=nickname, avatar_url=avatar_url
    )
