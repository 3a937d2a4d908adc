"""Helpers for the WeChat simulator tests: a merchant-side callback receiver, signed raw
requests (to break signatures on purpose), and reading HTML forms like a browser."""

from __future__ import annotations

import base64
import json
import threading
import time
import uuid
from dataclasses import dataclass
from html.parser import HTMLParser
from urllib.parse import urlencode

import requests
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding
from werkzeug.serving import WSGIRequestHandler, make_server
from werkzeug.wrappers import Request, Response


def unique(prefix: str) -> str:
    """A merchant-side number (out_trade_no …) unique to one test."""
    return f"{prefix}{uuid.uuid4().hex[:20]}"


@dataclass
class Delivery:
    path: str
    headers: dict
    body: bytes


class _Quiet(WSGIRequestHandler):
    def log_request(self, code="-", size="-"):
        pass


class CallbackReceiver:
    """The merchant's notify endpoint. Each path answers from a script of statuses
    (then 200), or through a `verifier` that decides from the request like a real
    merchant would (wechatpayv3's callback(): 200 if it verifies, 401 if not)."""

    def __init__(self):
        self.deliveries: list[Delivery] = []
        self._scripts: dict[str, list[int]] = {}
        self._verifiers: dict[str, object] = {}
        self._changed = threading.Condition()
        self._http = make_server("127.0.0.1", 0, self._app, threaded=True, request_handler=_Quiet)
        self._thread = threading.Thread(target=self._http.serve_forever, daemon=True)
        self._thread.start()

    def url(self, path: str | None = None) -> str:
        return f"http://127.0.0.1:{self._http.port}{path or '/notify/' + uuid.uuid4().hex}"

    def answer(self, url: str, *statuses: int) -> None:
        self._scripts[self._path(url)] = list(statuses)

    def verify_with(self, url: str, wxpay) -> None:
        self._verifiers[self._path(url)] = wxpay

    def wait(self, url: str, count: int = 1, timeout: float = 5.0) -> list[Delivery]:
        path = self._path(url)
        deadline = time.monotonic() + timeout
        with self._changed:
            while len(self.at(path)) < count:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise AssertionError(f"{len(self.at(path))} of {count} callbacks at {path}")
                self._changed.wait(remaining)
            return self.at(path)

    def at(self, url_or_path: str) -> list[Delivery]:
        path = self._path(url_or_path)
        return [delivery for delivery in self.deliveries if delivery.path == path]

    def close(self) -> None:
        self._http.shutdown()
        self._http.server_close()

    @staticmethod
    def _path(url: str) -> str:
        return "/" + url.split("/", 3)[3] if url.startswith("http") else url

    def _app(self, environ, start_response):
        request = Request(environ)
        delivery = Delivery(request.path, dict(request.headers), request.get_data())
        verifier = self._verifiers.get(request.path)
        script = self._scripts.get(request.path) or []
        if verifier is not None:
            status = 200 if verifier.callback(delivery.headers, delivery.body) else 401
        else:
            status = script.pop(0) if script else 200
        with self._changed:
            self.deliveries.append(delivery)
            self._changed.notify_all()
        body = b"" if status < 300 else json.dumps({"code": "FAIL", "message": "no"}).encode()
        return Response(body, status)(environ, start_response)


def authorization(
    private_key_pem: str,
    mchid: str,
    serial_no: str,
    method: str,
    target: str,
    body: str = "",
    *,
    timestamp: int | None = None,
    nonce: str = "5K8264ILTKCH16CQ2502SI8ZNMTM67VS",
) -> str:
    """An API v3 Authorization header built by hand, so a test can get one part wrong."""
    timestamp = int(time.time()) if timestamp is None else timestamp
    message = f"{method}\n{target}\n{timestamp}\n{nonce}\n{body}\n".encode()
    key = serialization.load_pem_private_key(private_key_pem.encode(), password=None)
    signature = base64.b64encode(key.sign(message, padding.PKCS1v15(), hashes.SHA256())).decode()
    return (
        f'WECHATPAY2-SHA256-RSA2048 mchid="{mchid}",nonce_str="{nonce}",'
        f'signature="{signature}",timestamp="{timestamp}",serial_no="{serial_no}"'
    )


class _Forms(HTMLParser):
    def __init__(self):
        super().__init__()
        self.forms: list[dict] = []

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "form":
            self.forms.append({"action": attrs.get("action"), "fields": {}, "buttons": []})
        elif self.forms and tag == "input" and attrs.get("type") == "hidden":
            self.forms[-1]["fields"][attrs["name"]] = attrs.get("value", "")
        elif self.forms and tag == "button" and attrs.get("name"):
            self.forms[-1]["buttons"].append((attrs["name"], attrs.get("value", "")))


def html_forms(html: str) -> list[dict]:
    """The forms of a page: action, hidden fields and named submit buttons."""
    parser = _Forms()
    parser.feed(html)
    return parser.forms


def submit(session: requests.Session, base_url: str, form: dict, button: int = 0, **extra):
    """Submit a form as a browser does: its hidden fields plus the button pressed, form
    encoded (even when there are no fields), without following the redirect."""
    data = dict(form["fields"])
    if form["buttons"]:
        name, value = form["buttons"][button]
        data[name] = value
    data.update(extra)
    return session.post(
        base_url + form["action"],
        data=urlencode(data),
        headers={"Content-Type": "application/x-www-form-urlencoded"},
        allow_redirects=False,
        timeout=5,
    )


def place_jsapi_order(
    wxpay,
    sub_mchid: str,
    openid: str,
    notify_url: str,
    *,
    total: int = 100,
    profit_sharing: bool = False,
    **extra,
) -> tuple[str, str]:
    """A JSAPI order through wechatpayv3; returns (out_trade_no, prepay_id)."""
    out_trade_no = extra.pop("out_trade_no", None) or unique("T")
    code, message = wxpay.pay(
        description="测试商品",
        out_trade_no=out_trade_no,
        amount={"total": total},
        payer={"sp_openid": openid},
        notify_url=notify_url,
        sub_mchid=sub_mchid,
        settle_info={"profit_sharing": profit_sharing} if profit_sharing else None,
        **extra,
    )
    assert code == 200, message
    return out_trade_no, json.loads(message)["prepay_id"]


def pay(base_url: str, prepay_id: str, **body) -> requests.Response:
    """The shopper pays, through the simulator's JSON hook."""
    return requests.post(f"{base_url}/_sim/pay/{prepay_id}", json=body, timeout=5)


def wait_until(condition, timeout: float = 5.0, interval: float = 0.01):
    """Poll `condition` until it returns something truthy."""
    deadline = time.monotonic() + timeout
    while True:
        result = condition()
        if result or time.monotonic() > deadline:
            return result
        time.sleep(interval)
