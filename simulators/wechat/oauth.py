"""Web OAuth (open.weixin.qq.com + api.weixin.qq.com/sns), app access tokens, the JS-SDK
ticket and the mini-program login (`jscode2session`).

The consent page lists the test users; the user picked is remembered in a cookie, so a
later snsapi_base authorization redirects at once, as WeChat's silent authorization does.
Errors come back as WeChat's `{"errcode", "errmsg"}` with HTTP 200."""

from __future__ import annotations

from datetime import timedelta
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from . import ids
from .accounts import MINIPROGRAM, OFFICIAL_ACCOUNT, App, SimUser, avatar_url
from .clock import now
from .errors import WeChatApiError
from .state import OAuthGrant, SimulatorState

SCOPES = ("snsapi_base", "snsapi_userinfo")
CODE_LIFETIME = timedelta(minutes=5)
ACCESS_TOKEN_LIFETIME = timedelta(seconds=7200)
REFRESH_TOKEN_LIFETIME = timedelta(days=30)


class OAuthPageError(Exception):
    """A problem WeChat shows as an error page instead of redirecting back."""


def with_query(url: str, **params: str) -> str:
    parts = urlsplit(url)
    query = parse_qsl(parts.query, keep_blank_values=True) + list(params.items())
    return urlunsplit(parts._replace(query=urlencode(query)))


def require_app_token(state: SimulatorState, access_token: str | None) -> str:
    """The appid an app access token (cgi-bin/token) was issued to."""
    with state.lock:
        entry = state.app_access_tokens.get(access_token or "")
    if entry is None:
        raise WeChatApiError(40001, "invalid credential, access_token is invalid or not latest")
    appid, expires_at = entry
    if expires_at < now():
        raise WeChatApiError(42001, "access_token expired")
    return appid


class OAuthService:
    def __init__(self, state: SimulatorState):
        self.state = state

    # The consent page --------------------------------------------------------------------

    def check_authorize(self, args: dict) -> tuple[App, str, str, str]:
        """Validate /connect/oauth2/authorize's query; returns (app, redirect_uri, scope, state)."""
        with self.state.lock:
            app = self.state.directory.app(args.get("appid"))
        if app is None or app.kind != OFFICIAL_ACCOUNT:
            raise OAuthPageError("appid 参数错误")
        redirect_uri = args.get("redirect_uri", "")
        parts = urlsplit(redirect_uri)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise OAuthPageError("redirect_uri 参数错误")
        if args.get("response_type") != "code":
            raise OAuthPageError("response_type 参数错误")
        scope = args.get("scope", "")
        if scope not in SCOPES:
            raise OAuthPageError("scope 参数错误或没有 scope 权限")
        state = args.get("state", "")
        if len(state.encode()) > 128:
            raise OAuthPageError("state 参数过长")
        return app, redirect_uri, scope, state

    def consent_users(self, app: App, base_url: str) -> list[dict]:
        with self.state.lock:
            directory = self.state.directory
            return [
                {
                    "key": user.key,
                    "nickname": user.nickname,
                    "headimgurl": avatar_url(base_url, user),
                    "openid": directory.openid(app.appid, user),
                    "unionid": directory.unionid(user),
                }
                for user in directory.users.values()
            ]

    def user(self, user_key: str | None) -> SimUser | None:
        return self.state.directory.users.get(user_key or "")

    def grant(self, app: App, redirect_uri: str, scope: str, state: str, user: SimUser) -> str:
        """The user agreed: a single-use code, and the URL to send the browser back to."""
        code = ids.token(32)
        with self.state.lock:
            self.state.oauth_codes[code] = OAuthGrant(
                app.appid, user.key, scope, now() + CODE_LIFETIME
            )
        return with_query(redirect_uri, code=code, state=state)

    # sns APIs ------------------------------------------------------------------------------

    def access_token(self, args: dict) -> dict:
        """GET /sns/oauth2/access_token?appid&secret&code&grant_type=authorization_code."""
        app = self._authenticate(args, OFFICIAL_ACCOUNT)
        self._require_grant_type(args, "authorization_code")
        grant = self._redeem_code(self.state.oauth_codes, args.get("code"), app)
        return self._issue_tokens(grant)

    def refresh(self, args: dict) -> dict:
        """GET /sns/oauth2/refresh_token?appid&grant_type=refresh_token&refresh_token."""
        with self.state.lock:
            app = self.state.directory.app(args.get("appid"))
            grant = self.state.sns_refresh_tokens.get(args.get("refresh_token") or "")
        if app is None:
            raise WeChatApiError(40013, "invalid appid")
        self._require_grant_type(args, "refresh_token")
        if grant is None or grant.appid != app.appid or grant.expires_at < now():
            raise WeChatApiError(40030, "invalid refresh_token")
        return self._issue_tokens(grant, refresh_token=args["refresh_token"])

    def userinfo(self, args: dict, base_url: str) -> dict:
        """GET /sns/userinfo?access_token&openid&lang: only for snsapi_userinfo grants."""
        grant, user = self._sns_token(args)
        if grant.scope != "snsapi_userinfo":
            raise WeChatApiError(48001, "api unauthorized")
        with self.state.lock:
            directory = self.state.directory
            return {
                "openid": directory.openid(grant.appid, user),
                "nickname": user.nickname,
                "sex": user.sex,
                "province": user.province,
                "city": user.city,
                "country": "中国",
                "headimgurl": avatar_url(base_url, user),
                "privilege": [],
                "unionid": directory.unionid(user),
            }

    def check(self, args: dict) -> dict:
        """GET /sns/auth?access_token&openid."""
        self._sns_token(args)
        return {"errcode": 0, "errmsg": "ok"}

    # App access tokens, JS-SDK ticket, mini-program login ----------------------------------

    def client_token(self, args: dict) -> dict:
        """GET /cgi-bin/token?grant_type=client_credential&appid&secret."""
        self._require_grant_type(args, "client_credential")
        app = self._authenticate(args, None)
        access_token = ids.token(64)
        with self.state.lock:
            self.state.app_access_tokens[access_token] = (app.appid, now() + ACCESS_TOKEN_LIFETIME)
        return {
            "access_token": access_token,
            "expires_in": int(ACCESS_TOKEN_LIFETIME.total_seconds()),
        }

    def jsapi_ticket(self, args: dict) -> dict:
        """GET /cgi-bin/ticket/getticket?access_token&type=jsapi."""
        require_app_token(self.state, args.get("access_token"))
        if args.get("type") != "jsapi":
            raise WeChatApiError(40097, "invalid args: type")
        return {"errcode": 0, "errmsg": "ok", "ticket": ids.token(86), "expires_in": 7200}

    def mint_js_code(self, body: dict) -> dict:
        """What wx.login() gives a mini-program: a code for `user` in mini-program `appid`."""
        with self.state.lock:
            app = self.state.directory.app(body.get("appid"))
            user = self.user(body.get("user"))
            if app is None or app.kind != MINIPROGRAM:
                raise WeChatApiError(40013, "invalid appid: not a mini program")
            if user is None:
                raise WeChatApiError(40003, f"no test user {body.get('user')!r}")
            js_code = ids.token(32)
            self.state.js_codes[js_code] = OAuthGrant(
                app.appid, user.key, "", now() + CODE_LIFETIME
            )
            return {"js_code": js_code, "openid": self.state.directory.openid(app.appid, user)}

    def code_to_session(self, args: dict) -> dict:
        """GET /sns/jscode2session?appid&secret&js_code&grant_type=authorization_code."""
        app = self._authenticate(args, MINIPROGRAM)
        self._require_grant_type(args, "authorization_code")
        grant = self._redeem_code(self.state.js_codes, args.get("js_code"), app)
        with self.state.lock:
            user = self.state.directory.users[grant.user_key]
            return {
                "openid": self.state.directory.openid(app.appid, user),
                "session_key": ids.token(24),
                "unionid": self.state.directory.unionid(user),
            }

    # Internals ---------------------------------------------------------------------------

    def _authenticate(self, args: dict, kind: str | None) -> App:
        with self.state.lock:
            app = self.state.directory.app(args.get("appid"))
        if app is None or (kind is not None and app.kind != kind):
            raise WeChatApiError(40013, "invalid appid")
        if args.get("secret") != app.secret:
            raise WeChatApiError(40125, "invalid appsecret")
        return app

    @staticmethod
    def _require_grant_type(args: dict, grant_type: str) -> None:
        if args.get("grant_type") != grant_type:
            raise WeChatApiError(40002, "invalid grant_type")

    def _redeem_code(self, codes: dict[str, OAuthGrant], code: str | None, app: App) -> OAuthGrant:
        """Codes are single-use and live five minutes; a used code is 40163."""
        if not code:
            raise WeChatApiError(41008, "missing code")
        with self.state.lock:
            grant = codes.get(code)
            if grant is None or grant.appid != app.appid or grant.expires_at < now():
                raise WeChatApiError(40029, "invalid code")
            if grant.used:
                raise WeChatApiError(40163, "code been used")
            grant.used = True
            return grant

    def _issue_tokens(self, grant: OAuthGrant, refresh_token: str | None = None) -> dict:
        access_token = ids.token(64)
        with self.state.lock:
            self.state.sns_access_tokens[access_token] = OAuthGrant(
                grant.appid, grant.user_key, grant.scope, now() + ACCESS_TOKEN_LIFETIME
            )
            if refresh_token is None:
                refresh_token = ids.token(64)
                self.state.sns_refresh_tokens[refresh_token] = OAuthGrant(
                    grant.appid, grant.user_key, grant.scope, now() + REFRESH_TOKEN_LIFETIME
                )
            user = self.state.directory.users[grant.user_key]
            return {
                "access_token": access_token,
                "expires_in": int(ACCESS_TOKEN_LIFETIME.total_seconds()),
                "refresh_token": refresh_token,
                "openid": self.state.directory.openid(grant.appid, user),
                "scope": grant.scope,
                "unionid": self.state.directory.unionid(user),
            }

    def _sns_token(self, args: dict) -> tuple[OAuthGrant, SimUser]:
        with self.state.lock:
            grant = self.state.sns_access_tokens.get(args.get("access_token") or "")
            if grant is None:
                raise WeChatApiError(
                    40001, "invalid credential, access_token is invalid or not latest"
                )
            if grant.expires_at < now():
                raise WeChatApiError(42001, "access_token expired")
            user = self.state.directory.users[grant.user_key]
            if args.get("openid") != self.state.directory.openid(grant.appid, user):
                raise WeChatApiError(40003, "invalid openid")
            return grant, user
