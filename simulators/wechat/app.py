"""The WSGI application: routing, and the HTTP shape of each family of endpoints.

- `/v3/…` (WeChat Pay API v3): the request's Authorization is verified first; answers are
  JSON signed with the platform key; errors are `{"code", "message"}` with their status.
- `/sns/…`, `/cgi-bin/…` (official account, mini-program): errors are HTTP 200 with
  `{"errcode", "errmsg"}`, as WeChat answers.
- `/connect/oauth2/authorize`, `/_sim/cashier/…`, `/_sim/transfer/…`: HTML pages.
- `/_sim/…`: the simulator's own JSON hooks for tests (see README.md)."""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Callable
from urllib.parse import quote, urlsplit

from werkzeug.exceptions import HTTPException
from werkzeug.routing import Map, Rule
from werkzeug.utils import redirect
from werkzeug.wrappers import Request, Response

from . import ids, views
from .accounts import Directory, SubMerchantSpec, write_credentials_file
from .applyments import ApplymentService, load_opened, parse_multipart, save_opened
from .bills import BillService, yuan
from .callbacks import CallbackDispatcher
from .config import RUNTIME_SETTINGS, SimulatorConfig
from .errors import ApiError, WeChatApiError, param_error
from .messages import MessageService
from .oauth import OAuthPageError, OAuthService
from .pay import PayService, transaction_resource
from .profitsharing import ProfitSharingService
from .refunds import RefundService
from .scheduler import Scheduler
from .signing import response_headers, verify_request
from .state import SimulatorState
from .transfers import TransferService
from .validation import Fields

log = logging.getLogger(__name__)

USER_COOKIE = "wechat_sim_user"
JSON_TYPE = "application/json; charset=utf-8"
SUB_MCHID = re.compile(r"\d{6,32}")
TRANSFERS = "/v3/fund-app/mch-transfer/partner/transfer-bills"


def request_target(environ: dict) -> str:
    """The request target exactly as the client sent it (path and query): what the
    merchant signed. Werkzeug's server and gunicorn both pass it through."""
    raw = environ.get("REQUEST_URI") or environ.get("RAW_URI")
    if raw:
        if raw.startswith(("http://", "https://")):
            parts = urlsplit(raw)
            return parts.path + (f"?{parts.query}" if parts.query else "")
        return raw
    path = quote((environ.get("SCRIPT_NAME", "") + environ.get("PATH_INFO", "")).encode("latin-1"))
    query = environ.get("QUERY_STRING", "")
    return path + (f"?{query}" if query else "")


def json_response(payload: object, status: int = 200) -> Response:
    return Response(json.dumps(payload, ensure_ascii=False), status, content_type=JSON_TYPE)


def html_response(html: str, status: int = 200) -> Response:
    return Response(html, status, content_type="text/html; charset=utf-8")


def _is_form(request: Request) -> bool:
    return request.mimetype == "application/x-www-form-urlencoded"


def _http_url(value: str | None) -> str | None:
    """A link back to the merchant, if it is a plain http(s) URL."""
    if value and urlsplit(value).scheme in ("http", "https"):
        return value
    return None


class WeChatSimulator:
    """One simulated WeChat: the state, the background workers and the routes."""

    def __init__(self, config: SimulatorConfig):
        self.config = config
        # Sub-merchants opened by finished applications survive a restart, as WeChat's do.
        known = {spec.sub_mchid for spec in config.sub_merchants}
        config.sub_merchants.extend(
            spec for spec in load_opened(config.state_dir) if spec.sub_mchid not in known
        )
        self.state = SimulatorState(Directory(config.credentials, config.sub_merchants))
        self.scheduler = Scheduler()
        self.callbacks = CallbackDispatcher(config, self.state, self.scheduler)
        self.pay = PayService(config, self.state, self.callbacks)
        self.refunds = RefundService(config, self.state, self.scheduler, self.callbacks)
        self.bills = BillService(config, self.state)
        self.profitsharing = ProfitSharingService(
            config, self.state, self.scheduler, self.callbacks
        )
        self.transfers = TransferService(config, self.state, self.scheduler, self.callbacks)
        self.oauth = OAuthService(self.state)
        self.applyments = ApplymentService(config, self.state, self._open_sub_merchant)
        self.messages = MessageService(self.state)
        self._handlers: dict[str, tuple[Callable[..., object], str]] = {}
        self.url_map = Map(self._rules())
        self.credentials_info: dict = {}

    def publish_credentials(self) -> None:
        """Write `credentials.json` for the platform (ids, secrets, the public URL)."""
        with self.state.lock:
            self.credentials_info = write_credentials_file(
                self.config.state_dir, self.state.directory, self.config.public_url
            )

    def close(self) -> None:
        self.scheduler.stop()
        self.callbacks.close()

    def __call__(self, environ: dict, start_response: Callable) -> object:
        return self.dispatch(Request(environ))(environ, start_response)

    # Routing -------------------------------------------------------------------------------

    def _rules(self) -> list[Rule]:
        routes = [
            # Web OAuth, app tokens, JS-SDK, messages, mini-program login
            ("/connect/oauth2/authorize", ["GET", "POST"], self._authorize, "page"),
            ("/sns/oauth2/access_token", ["GET"], self._sns_access_token, "wechat"),
            ("/sns/oauth2/refresh_token", ["GET"], self._sns_refresh_token, "wechat"),
            ("/sns/userinfo", ["GET"], self._sns_userinfo, "wechat"),
            ("/sns/auth", ["GET"], self._sns_auth, "wechat"),
            ("/sns/jscode2session", ["GET"], self._jscode2session, "wechat"),
            ("/cgi-bin/token", ["GET"], self._cgi_token, "wechat"),
            ("/cgi-bin/ticket/getticket", ["GET"], self._jsapi_ticket, "wechat"),
            ("/cgi-bin/message/template/send", ["POST"], self._send_template, "wechat"),
            ("/cgi-bin/message/subscribe/send", ["POST"], self._send_subscribe, "wechat"),
            ("/cgi-bin/message/subscribe/bizsend", ["POST"], self._send_bizsend, "wechat"),
            ("/cgi-bin/message/custom/send", ["POST"], self._send_custom, "wechat"),
            # WeChat Pay API v3, partner mode
            (
                "/v3/pay/partner/transactions/<any(jsapi,h5,native):kind>",
                ["POST"],
                self._create_transaction,
                "v3",
            ),
            (
                "/v3/pay/partner/transactions/out-trade-no/<out_trade_no>",
                ["GET"],
                self._query_by_out_trade_no,
                "v3",
            ),
            (
                "/v3/pay/partner/transactions/id/<transaction_id>",
                ["GET"],
                self._query_by_transaction_id,
                "v3",
            ),
            (
                "/v3/pay/partner/transactions/out-trade-no/<out_trade_no>/close",
                ["POST"],
                self._close_transaction,
                "v3",
            ),
            ("/v3/refund/domestic/refunds", ["POST"], self._create_refund, "v3"),
            ("/v3/refund/domestic/refunds/<out_refund_no>", ["GET"], self._query_refund, "v3"),
            ("/v3/bill/tradebill", ["GET"], self._trade_bill, "v3"),
            ("/v3/billdownload/file", ["GET"], self._download_bill, "v3"),
            ("/v3/profitsharing/receivers/add", ["POST"], self._add_receiver, "v3"),
            ("/v3/profitsharing/receivers/delete", ["POST"], self._delete_receiver, "v3"),
            ("/v3/profitsharing/orders", ["POST"], self._create_sharing_order, "v3"),
            ("/v3/profitsharing/orders/unfreeze", ["POST"], self._unfreeze, "v3"),
            ("/v3/profitsharing/orders/<out_order_no>", ["GET"], self._query_sharing_order, "v3"),
            ("/v3/profitsharing/return-orders", ["POST"], self._create_return, "v3"),
            ("/v3/profitsharing/return-orders/<out_return_no>", ["GET"], self._query_return, "v3"),
            (
                "/v3/profitsharing/merchant-configs/<sub_mchid>",
                ["GET"],
                self._merchant_config,
                "v3",
            ),
            (
                "/v3/profitsharing/transactions/<transaction_id>/amounts",
                ["GET"],
                self._unsplit_amount,
                "v3",
            ),
            ("/v3/merchant/media/upload", ["POST"], self._media_upload, "v3upload"),
            ("/v3/applyment4sub/applyment/", ["POST"], self._submit_applyment, "v3"),
            (
                "/v3/applyment4sub/applyment/business_code/<business_code>",
                ["GET"],
                self._query_applyment_by_code,
                "v3",
            ),
            (
                "/v3/applyment4sub/applyment/applyment_id/<applyment_id>",
                ["GET"],
                self._query_applyment_by_id,
                "v3",
            ),
            (TRANSFERS, ["POST"], self._create_transfer, "v3"),
            (f"{TRANSFERS}/out-bill-no/<out_bill_no>", ["GET"], self._query_transfer, "v3"),
            (
                f"{TRANSFERS}/transfer-bill-no/<transfer_bill_no>",
                ["GET"],
                self._query_transfer_by_no,
                "v3",
            ),
            (
                f"{TRANSFERS}/out-bill-no/<out_bill_no>/cancel",
                ["POST"],
                self._cancel_transfer,
                "v3",
            ),
            # Pages a shopper or payee sees
            ("/_sim/cashier/<prepay_id>", ["GET", "POST"], self._cashier, "page"),
            ("/_sim/transfer/<transfer_bill_no>", ["GET"], self._transfer_page, "page"),
            ("/_sim/applyments/<applyment_id>/sign", ["GET", "POST"], self._sign_page, "page"),
            ("/_sim/", ["GET"], self._dashboard, "page"),
            ("/_sim/logout", ["GET"], self._logout, "page"),
            ("/_sim/avatar/<user_key>.svg", ["GET"], self._avatar, "page"),
            # Hooks for tests
            ("/_sim/pay/<prepay_id>", ["POST"], self._sim_pay, "sim"),
            ("/_sim/jsapi/pay", ["POST"], self._sim_jsapi_pay, "sim"),
            (
                "/_sim/transfer/<transfer_bill_no>/<any(confirm,decline):decision>",
                ["POST"],
                self._sim_transfer_decision,
                "sim",
            ),
            ("/_sim/miniprogram/code", ["POST"], self._sim_js_code, "sim"),
            ("/_sim/credentials", ["GET"], self._sim_credentials, "sim"),
            ("/_sim/users", ["GET"], self._sim_users, "sim"),
            ("/_sim/sub-merchants", ["GET", "POST"], self._sim_sub_merchants, "sim"),
            ("/_sim/settings", ["GET", "POST"], self._sim_settings, "sim"),
            ("/_sim/applyments", ["GET"], self._sim_applyments, "sim"),
            ("/_sim/applyments/<applyment_id>/state", ["POST"], self._sim_applyment_state, "sim"),
            ("/_sim/messages", ["GET"], self._sim_messages, "sim"),
            ("/_sim/transactions", ["GET"], self._sim_transactions, "sim"),
            ("/_sim/callbacks", ["GET"], self._sim_callbacks, "sim"),
            ("/_sim/callbacks/hold", ["POST"], self._sim_hold, "sim"),
            ("/_sim/signtest", ["POST"], self._sim_signtest, "sim"),
            ("/_sim/bill-tamper", ["GET", "POST", "DELETE"], self._sim_bill_tamper, "sim"),
        ]
        rules = []
        for path, methods, handler, family in routes:
            endpoint = handler.__name__
            self._handlers[endpoint] = (handler, family)
            rules.append(Rule(path, methods=methods, endpoint=endpoint))
        return rules

    def dispatch(self, request: Request) -> Response:
        adapter = self.url_map.bind_to_environ(request.environ)
        try:
            endpoint, values = adapter.match()
        except HTTPException as exc:
            if request.path.startswith("/v3/") and exc.code == 404:
                return self._signed(404, {"code": "NOT_FOUND", "message": "请求的资源不存在"})
            if request.path.startswith("/v3/") and exc.code == 405:
                answer = {"code": "METHOD_NOT_ALLOWED", "message": "不支持的请求方法"}
                return self._signed(405, answer)
            return exc.get_response(request.environ)
        handler, family = self._handlers[endpoint]
        serve = {
            "v3": self._serve_v3,
            "v3upload": self._serve_v3_upload,
            "wechat": self._serve_wechat,
            "page": self._serve_page,
            "sim": self._serve_sim,
        }[family]
        return serve(request, handler, values)

    def _serve_v3(self, request: Request, handler: Callable, values: dict) -> Response:
        try:
            verify_request(
                self.config.credentials,
                request.method,
                request_target(request.environ),
                request.headers.get("Authorization", ""),
                request.get_data(),
            )
            result = handler(request, **values)
        except ApiError as error:
            return self._signed(error.status, error.body())
        except Exception:
            log.exception("unexpected error in %s %s", request.method, request.path)
            return self._signed(500, {"code": "SYSTEM_ERROR", "message": "系统错误"})
        if isinstance(result, Response):
            return result
        if result is None:
            return self._signed(204, None)
        return self._signed(200, result)

    def _serve_v3_upload(self, request: Request, handler: Callable, values: dict) -> Response:
        """Media uploads are signed over the `meta` part alone, not the multipart body."""
        try:
            meta, store = handler(request, **values)
            verify_request(
                self.config.credentials,
                request.method,
                request_target(request.environ),
                request.headers.get("Authorization", ""),
                meta,
            )
            return self._signed(200, store())
        except ApiError as error:
            return self._signed(error.status, error.body())
        except Exception:
            log.exception("unexpected error in %s %s", request.method, request.path)
            return self._signed(500, {"code": "SYSTEM_ERROR", "message": "系统错误"})

    def _open_sub_merchant(self, spec: SubMerchantSpec) -> None:
        """A FINISHED application's sub-merchant: payments and profit sharing know it."""
        with self.state.lock:
            if spec.sub_mchid not in self.state.directory.sub_merchants:
                self.state.directory.add_sub_merchant(spec)
                self.config.sub_merchants.append(spec)
                save_opened(self.config.state_dir, spec)
                self.publish_credentials()

    def _signed(self, status: int, payload: dict | None) -> Response:
        body = (
            b""
            if payload is None
            else json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode()
        )
        headers = {**response_headers(self.config.credentials, body), "Request-ID": ids.token(40)}
        return Response(body, status, headers, content_type=JSON_TYPE if body else None)

    @staticmethod
    def _serve_wechat(request: Request, handler: Callable, values: dict) -> Response:
        try:
            return json_response(handler(request, **values))
        except WeChatApiError as error:
            return json_response(error.body())

    @staticmethod
    def _serve_page(request: Request, handler: Callable, values: dict) -> Response:
        try:
            return handler(request, **values)
        except OAuthPageError as error:
            return html_response(views.message_page("出错了", str(error)), 400)
        except ApiError as error:
            return html_response(views.message_page("出错了", error.message), error.status)

    @staticmethod
    def _serve_sim(request: Request, handler: Callable, values: dict) -> Response:
        try:
            result = handler(request, **values)
        except (ApiError, WeChatApiError) as error:
            if _is_form(request):
                message = error.message if isinstance(error, ApiError) else error.errmsg
                return html_response(views.message_page("出错了", message), 400)
            status = error.status if isinstance(error, ApiError) else 400
            return json_response(error.body(), status)
        if isinstance(result, Response):
            return result
        return json_response(result)

    @staticmethod
    def _json_body(request: Request) -> object:
        raw = request.get_data()
        if not raw.strip():
            return {}
        try:
            return json.loads(raw)
        except ValueError:
            raise ApiError(400, "PARAM_ERROR", "请求体不是合法的JSON") from None

    # WeChat Pay API v3 -------------------------------------------------------------------

    def _create_transaction(self, request: Request, kind: str) -> dict:
        return self.pay.create(kind, self._json_body(request))

    def _query_by_out_trade_no(self, request: Request, out_trade_no: str) -> dict:
        return self.pay.query(request.args.to_dict(), out_trade_no=out_trade_no)

    def _query_by_transaction_id(self, request: Request, transaction_id: str) -> dict:
        return self.pay.query(request.args.to_dict(), transaction_id=transaction_id)

    def _close_transaction(self, request: Request, out_trade_no: str) -> None:
        self.pay.close(out_trade_no, self._json_body(request))

    def _create_refund(self, request: Request) -> dict:
        return self.refunds.create(self._json_body(request))

    def _query_refund(self, request: Request, out_refund_no: str) -> dict:
        return self.refunds.query(out_refund_no, request.args.to_dict())

    def _trade_bill(self, request: Request) -> dict:
        return self.bills.trade_bill(request.args.to_dict())

    def _download_bill(self, request: Request) -> Response:
        content, content_type = self.bills.download(request.args.to_dict())
        return Response(content, 200, content_type=content_type)

    def _add_receiver(self, request: Request) -> dict:
        return self.profitsharing.add_receiver(
            self._json_body(request), request.headers.get("Wechatpay-Serial")
        )

    def _delete_receiver(self, request: Request) -> dict:
        return self.profitsharing.delete_receiver(self._json_body(request))

    def _create_sharing_order(self, request: Request) -> dict:
        return self.profitsharing.create_order(
            self._json_body(request), request.headers.get("Wechatpay-Serial")
        )

    def _unfreeze(self, request: Request) -> dict:
        return self.profitsharing.unfreeze(self._json_body(request))

    def _query_sharing_order(self, request: Request, out_order_no: str) -> dict:
        return self.profitsharing.query_order(out_order_no, request.args.to_dict())

    def _create_return(self, request: Request) -> dict:
        return self.profitsharing.create_return(self._json_body(request))

    def _query_return(self, request: Request, out_return_no: str) -> dict:
        return self.profitsharing.query_return(out_return_no, request.args.to_dict())

    def _merchant_config(self, request: Request, sub_mchid: str) -> dict:
        return self.profitsharing.merchant_config(sub_mchid)

    def _unsplit_amount(self, request: Request, transaction_id: str) -> dict:
        return self.profitsharing.amounts(transaction_id)

    def _media_upload(self, request: Request) -> tuple:
        return self.applyments.upload(parse_multipart(request.get_data()))

    def _submit_applyment(self, request: Request) -> dict:
        return self.applyments.submit(
            self._json_body(request), request.headers.get("Wechatpay-Serial")
        )

    def _query_applyment_by_code(self, request: Request, business_code: str) -> dict:
        return self.applyments.query(business_code=business_code)

    def _query_applyment_by_id(self, request: Request, applyment_id: str) -> dict:
        return self.applyments.query(applyment_id=applyment_id)

    def _create_transfer(self, request: Request) -> dict:
        return self.transfers.create(
            self._json_body(request), request.headers.get("Wechatpay-Serial")
        )

    def _query_transfer(self, request: Request, out_bill_no: str) -> dict:
        return self.transfers.query(request.args.to_dict(), out_bill_no=out_bill_no)

    def _query_transfer_by_no(self, request: Request, transfer_bill_no: str) -> dict:
        return self.transfers.query(request.args.to_dict(), transfer_bill_no=transfer_bill_no)

    def _cancel_transfer(self, request: Request, out_bill_no: str) -> dict:
        return self.transfers.cancel(out_bill_no, self._json_body(request))

    # OAuth, tokens, messages, mini-program ----------------------------------------------------

    def _authorize(self, request: Request) -> Response:
        source = request.form if request.method == "POST" else request.args
        app, redirect_uri, scope, state = self.oauth.check_authorize(source)
        if request.method == "POST":
            user = self.oauth.user(request.form.get("user"))
            if user is None:
                raise OAuthPageError("请选择一个测试用户")
            response = redirect(self.oauth.grant(app, redirect_uri, scope, state, user))
            response.set_cookie(USER_COOKIE, user.key, httponly=True, samesite="Lax")
            return response
        remembered = self.oauth.user(request.cookies.get(USER_COOKIE))
        if scope == "snsapi_base" and remembered is not None:
            return redirect(self.oauth.grant(app, redirect_uri, scope, state, remembered))
        with self.state.lock:
            owner = self.state.directory.sub_merchants.get(app.owner_mchid)
        app_name = owner.name if owner else "服务商公众号"
        form = {
            "appid": app.appid,
            "redirect_uri": redirect_uri,
            "response_type": "code",
            "scope": scope,
            "state": state,
        }
        users = self.oauth.consent_users(app, self.config.public_url)
        return html_response(views.consent_page(app_name, scope, users, form, request.path))

    def _sns_access_token(self, request: Request) -> dict:
        return self.oauth.access_token(request.args.to_dict())

    def _sns_refresh_token(self, request: Request) -> dict:
        return self.oauth.refresh(request.args.to_dict())

    def _sns_userinfo(self, request: Request) -> dict:
        return self.oauth.userinfo(request.args.to_dict(), self.config.public_url)

    def _sns_auth(self, request: Request) -> dict:
        return self.oauth.check(request.args.to_dict())

    def _jscode2session(self, request: Request) -> dict:
        return self.oauth.code_to_session(request.args.to_dict())

    def _cgi_token(self, request: Request) -> dict:
        return self.oauth.client_token(request.args.to_dict())

    def _jsapi_ticket(self, request: Request) -> dict:
        return self.oauth.jsapi_ticket(request.args.to_dict())

    def _send_template(self, request: Request) -> dict:
        return self._send_message(request, "template")

    def _send_subscribe(self, request: Request) -> dict:
        return self._send_message(request, "subscribe")

    def _send_bizsend(self, request: Request) -> dict:
        return self._send_message(request, "subscribe_bizsend")

    def _send_custom(self, request: Request) -> dict:
        try:
            body = json.loads(request.get_data() or b"null")
        except ValueError:
            raise WeChatApiError(47001, "data format error") from None
        return self.messages.send_custom(request.args.get("access_token"), body)

    def _send_message(self, request: Request, kind: str) -> dict:
        try:
            body = json.loads(request.get_data() or b"null")
        except ValueError:
            raise WeChatApiError(47001, "data format error") from None
        return self.messages.send(kind, request.args.get("access_token"), body)

    # Pages ---------------------------------------------------------------------------------

    def _cashier(self, request: Request, prepay_id: str) -> Response:
        tx = self.pay.find(prepay_id)
        back = _http_url(request.values.get("redirect_url"))
        if request.method == "GET":
            with self.state.lock:
                merchant = self.state.directory.sub_merchants[tx.sub_mchid]
                users = list(self.state.directory.users.values())
            return html_response(
                views.cashier_page(tx, merchant.name, users, request.path, back or "")
            )
        # Like WeChat's H5 cashier, go back to the merchant's redirect_url after paying or
        # cancelling (the callback, not this return, tells the merchant the outcome).
        if request.form.get("action") == "cancel":
            if back:
                return redirect(back, 302)
            return html_response(
                views.message_page("支付已取消", "你取消了支付，订单仍未支付。", back)
            )
        self.pay.pay(prepay_id, request.form.get("user"))
        if back:
            return redirect(back, 302)
        return html_response(views.message_page("支付成功", f"已支付 ¥{yuan(tx.total)}", back))

    def _transfer_page(self, request: Request, transfer_bill_no: str) -> Response:
        bill = self.transfers.find(transfer_bill_no)
        with self.state.lock:
            user = self.state.directory.user_by_openid(bill.appid, bill.openid)
        nickname = user.nickname if user else bill.openid
        return html_response(views.transfer_page(bill, nickname, request.path))

    def _dashboard(self, request: Request) -> Response:
        with self.state.lock:
            transactions = [
                {
                    **transaction_resource(tx),
                    "total": tx.total,
                    "description": tx.description,
                    "cashier": f"/_sim/cashier/{tx.prepay_id}",
                }
                for tx in self.state.transactions.values()
            ]
            refunds = [
                {
                    "sub_mchid": r.sub_mchid,
                    "out_refund_no": r.out_refund_no,
                    "reason": r.reason,
                    "out_trade_no": r.transaction.out_trade_no,
                    "refund": r.refund,
                    "status": r.status,
                    "refund_id": r.refund_id,
                }
                for r in self.state.refunds.values()
            ]
            transfers = [
                {
                    "sub_mchid": b.sub_mchid,
                    "out_bill_no": b.out_bill_no,
                    "transfer_amount": b.transfer_amount,
                    "state": b.state,
                    "openid": b.openid,
                    "user_name": b.user_name,
                    "confirm": f"/_sim/transfer/{b.transfer_bill_no}",
                }
                for b in self.state.transfers.values()
            ]
            messages = list(self.state.messages)
            callbacks = list(self.state.callback_log)
        return html_response(views.dashboard(transactions, refunds, transfers, messages, callbacks))

    def _sign_page(self, request: Request, applyment_id: str) -> Response:
        applyment = self.applyments.find(applyment_id)
        if request.method == "POST":
            result = self.applyments.sign(applyment_id)
            return html_response(views.message_page(
                "签约成功", f"特约商户号 {result['sub_mchid']} 已开通，可以收款了。"))
        return html_response(views.sign_page(self.applyments.resource(applyment),
                                             applyment.body, request.path))

    def _logout(self, request: Request) -> Response:
        response = html_response(views.message_page("已退出", "下次授权将重新选择测试用户。"))
        response.delete_cookie(USER_COOKIE)
        return response

    def _avatar(self, request: Request, user_key: str) -> Response:
        user = self.oauth.user(user_key)
        if user is None:
            raise ApiError(404, "NOT_FOUND", "没有这个测试用户")
        return Response(views.avatar_svg(user), content_type="image/svg+xml")

    # Hooks for tests -------------------------------------------------------------------------

    def _sim_pay(self, request: Request, prepay_id: str) -> dict:
        body = Fields(self._json_body(request))
        user = body.text("user", required=False)
        outcome = body.text("outcome", required=False, choices=("SUCCESS", "PAYERROR"))
        return self.pay.pay(prepay_id, user, outcome or "SUCCESS")

    def _sim_jsapi_pay(self, request: Request) -> dict:
        return self.pay.pay_jsapi(self._json_body(request))

    def _sim_transfer_decision(
        self, request: Request, transfer_bill_no: str, decision: str
    ) -> dict | Response:
        result = self.transfers.user_decides(transfer_bill_no, confirm=decision == "confirm")
        if _is_form(request):
            message = "已收款" if decision == "confirm" else "未收款，转账已关闭"
            return html_response(views.message_page("商家转账", message))
        return result

    def _sim_js_code(self, request: Request) -> dict:
        body = self._json_body(request)
        return self.oauth.mint_js_code(body if isinstance(body, dict) else {})

    def _sim_credentials(self, request: Request) -> dict:
        return self.credentials_info

    def _sim_users(self, request: Request) -> list[dict]:
        with self.state.lock:
            return self.state.directory.describe_users(
                request.args.get("appid"), self.config.public_url
            )

    def _sim_sub_merchants(self, request: Request) -> dict | list[dict]:
        if request.method == "POST":
            body = Fields(self._json_body(request))
            spec = SubMerchantSpec(
                sub_mchid=body.text("sub_mchid", pattern=SUB_MCHID),
                max_ratio=self._ratio(body),
                name=body.text("name", required=False, max_bytes=128) or "",
            )
            with self.state.lock:
                merchant = self.state.directory.add_sub_merchant(spec)
                self.publish_credentials()
                return self.state.directory.describe_sub_merchant(merchant)
        with self.state.lock:
            directory = self.state.directory
            return [directory.describe_sub_merchant(m) for m in directory.sub_merchants.values()]

    @staticmethod
    def _ratio(body: Fields) -> int:
        max_ratio = body.integer("max_ratio", required=False, minimum=0)
        if max_ratio is None:
            return SubMerchantSpec.max_ratio
        if max_ratio > 10000:
            raise param_error("/max_ratio", "应不大于 10000（基点）")
        return max_ratio

    def _sim_settings(self, request: Request) -> dict:
        if request.method == "POST":
            body = self._json_body(request)
            if not isinstance(body, dict):
                raise param_error("/", "应为JSON对象")
            updates = self._checked_settings(body)
            with self.state.lock:
                for name, value in updates.items():
                    setattr(self.config, name, value)
        return {name: getattr(self.config, name) for name in RUNTIME_SETTINGS}

    @staticmethod
    def _checked_settings(body: dict) -> dict:
        limits = {
            "time_scale": (0.0, None),
            "duplicate_probability": (0.0, 1.0),
            "processing_delay": (0.0, None),
            "callback_timeout": (0.001, None),
        }
        updates = {}
        for name, value in body.items():
            if name == "profitsharing_notify_url":
                updates[name] = Fields(body).notify_url(name, required=False)
                continue
            if name not in limits:
                raise param_error(f"/{name}", f"可设置的项: {', '.join(RUNTIME_SETTINGS)}")
            low, high = limits[name]
            if isinstance(value, bool) or not isinstance(value, int | float):
                raise param_error(f"/{name}", "应为数字")
            if value < low or (high is not None and value > high):
                raise param_error(f"/{name}", f"应在 {low} 与 {high or '∞'} 之间")
            updates[name] = float(value)
        return updates

    def _sim_applyments(self, request: Request) -> list[dict] | Response:
        applyments = self.applyments.all()
        if request.args.get("format") == "json":
            return applyments
        return html_response(views.applyments_page(applyments))

    def _sim_applyment_state(self, request: Request, applyment_id: str) -> dict | Response:
        if _is_form(request):
            reason = request.form.get("reason", "").strip()
            reasons = [{"field": request.form.get("field", ""),
                        "field_name": request.form.get("field_name", ""),
                        "reject_reason": reason}] if reason else None
            self.applyments.move(applyment_id, request.form.get("state", ""), reasons)
            return redirect("/_sim/applyments")
        body = Fields(self._json_body(request))
        return self.applyments.move(
            applyment_id, body.text("state"), body.array("reasons", required=False)
        )

    def _sim_messages(self, request: Request) -> list[dict]:
        return self.messages.all()

    def _sim_transactions(self, request: Request) -> list[dict]:
        with self.state.lock:
            return [
                {
                    **transaction_resource(tx),
                    "prepay_id": tx.prepay_id,
                    "refunded": self.state.refunded(tx),
                    "cashier_url": f"{self.config.public_url}/_sim/cashier/{tx.prepay_id}",
                }
                for tx in self.state.transactions.values()
            ]

    def _sim_callbacks(self, request: Request) -> list[dict]:
        with self.state.lock:
            return list(self.state.callback_log)

    def _sim_hold(self, request: Request) -> dict:
        body = Fields(self._json_body(request))
        return self.callbacks.hold(
            on=body.boolean("on", required=True), release=bool(body.boolean("release"))
        )

    def _sim_signtest(self, request: Request) -> dict:
        return self.callbacks.signtest(Fields(self._json_body(request)).notify_url("url"))

    def _sim_bill_tamper(self, request: Request) -> dict | list[dict]:
        if request.method == "POST":
            return self.bills.add_tamper(self._json_body(request))
        if request.method == "DELETE":
            self.bills.clear_tampers()
        return self.bills.tampers()
