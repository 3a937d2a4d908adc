"""The simulator's HTML: the OAuth consent page, the cashier, the transfer confirmation
and the `/_sim/` overview. Plain HTML forms, so a browser test (or `requests`) can click
through them like a person."""

from __future__ import annotations

import json
from html import escape

from .accounts import SimUser
from .bills import yuan
from .state import Transaction, TransferBill

_STYLE = """
body{font-family:-apple-system,"PingFang SC","Microsoft YaHei",sans-serif;
margin:0;background:#ededed}
main{max-width:720px;margin:0 auto;padding:16px}
.card{background:#fff;border-radius:8px;padding:16px;margin-bottom:12px}
h1{font-size:18px}h2{font-size:16px;margin-top:24px}
button{background:#07c160;color:#fff;border:0;border-radius:6px;padding:10px 18px;font-size:16px}
button.secondary{background:#f2f2f2;color:#333}
.user{display:flex;align-items:center;gap:12px}
.user img{width:48px;height:48px;border-radius:6px}
.amount{font-size:32px;font-weight:600}
small,.muted{color:#888}
table{border-collapse:collapse;width:100%;font-size:12px;background:#fff}
td,th{border:1px solid #ddd;padding:4px;text-align:left;vertical-align:top}
pre{white-space:pre-wrap;margin:0}
"""


def page(title: str, body: str) -> str:
    return (
        '<!doctype html><html lang="zh-CN"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width,initial-scale=1">'
        f"<title>{escape(title)}</title><style>{_STYLE}</style></head>"
        f"<body><main><h1>{escape(title)}</h1>{body}</main></body></html>"
    )


def _hidden(**fields: str) -> str:
    return "".join(
        f'<input type="hidden" name="{escape(name)}" value="{escape(value)}">'
        for name, value in fields.items()
    )


def message_page(title: str, message: str, link: str | None = None) -> str:
    back = f'<p><a href="{escape(link)}">返回商户页面</a></p>' if link else ""
    return page(title, f'<div class="card"><p>{escape(message)}</p>{back}</div>')


def consent_page(
    app_name: str, scope: str, users: list[dict], form: dict[str, str], action: str
) -> str:
    """One form per test user: picking one is the user agreeing to the authorization."""
    wants = "获取你的昵称、头像" if scope == "snsapi_userinfo" else "获取你的身份标识"
    cards = "".join(
        f'<form class="card user" method="post" action="{escape(action)}">'
        f'<img src="{escape(user["headimgurl"])}" alt="">'
        f'<div style="flex:1"><strong>{escape(user["nickname"])}</strong><br>'
        f"<small>openid {escape(user['openid'])}<br>unionid {escape(user['unionid'])}</small></div>"
        f"{_hidden(**form, user=user['key'])}"
        f'<button type="submit" name="action" value="allow">以此身份登录</button></form>'
        for user in users
    )
    intro = (
        f'<div class="card">{escape(app_name)} 申请{wants}'
        f"<br><small>scope: {escape(scope)}（模拟器：选择一个测试用户）</small></div>"
    )
    return page("微信授权登录", intro + cards)


def cashier_page(
    tx: Transaction, merchant_name: str, users: list[SimUser], action: str, redirect_url: str
) -> str:
    """WeChat's payment sheet: merchant, description, amount, Pay and Cancel."""
    chooser = ""
    if tx.trade_type != "JSAPI":
        options = "".join(
            f'<option value="{escape(user.key)}">{escape(user.nickname)}</option>' for user in users
        )
        chooser = f'<p>付款用户 <select name="user">{options}</select></p>'
    body = (
        f'<form class="card" method="post" action="{escape(action)}">'
        f"<p>{escape(merchant_name)}</p><p>{escape(tx.description)}</p>"
        f'<p class="amount">¥{yuan(tx.total)}</p>'
        f'<p class="muted">商户订单号 {escape(tx.out_trade_no)} · {escape(tx.trade_type)}'
        f" · {escape(tx.trade_state)}</p>{chooser}"
        f"{_hidden(redirect_url=redirect_url)}"
        '<button type="submit" name="action" value="pay">立即支付</button> '
        '<button class="secondary" type="submit" name="action" value="cancel">取消</button>'
        "</form>"
    )
    return page("微信支付", body)


def transfer_page(bill: TransferBill, nickname: str, action_base: str) -> str:
    """The confirmation wx.requestMerchantTransfer shows the receiving user."""
    body = (
        '<div class="card">'
        f"<p>{escape(nickname)}，商户向你转账</p>"
        f'<p class="amount">¥{yuan(bill.transfer_amount)}</p>'
        f"<p>{escape(bill.user_recv_perception or bill.transfer_remark)}</p>"
        f'<p class="muted">{escape(bill.transfer_bill_no)} · {escape(bill.state)}</p>'
        f'<form method="post" action="{escape(action_base)}/confirm" style="display:inline">'
        '<button type="submit">确认收款</button></form> '
        f'<form method="post" action="{escape(action_base)}/decline" style="display:inline">'
        '<button class="secondary" type="submit">不收款（24小时后关单）</button></form>'
        "</div>"
    )
    return page("确认收款", body)


def _table(rows: list[dict], columns: tuple[str, ...]) -> str:
    if not rows:
        return '<p class="muted">（无）</p>'
    head = "".join(f"<th>{escape(column)}</th>" for column in columns)
    body = "".join(
        "<tr>" + "".join(f"<td>{_cell(row.get(column))}</td>" for column in columns) + "</tr>"
        for row in rows
    )
    return f"<table><tr>{head}</tr>{body}</table>"


def _cell(value: object) -> str:
    """Links to the simulator's own pages are clickable; structures are shown as JSON."""
    if value is None:
        return ""
    if isinstance(value, str) and value.startswith("/_sim/"):
        return f'<a href="{escape(value)}">open</a>'
    if isinstance(value, dict | list):
        value = json.dumps(value, ensure_ascii=False, indent=1)
    return f"<pre>{escape(str(value))}</pre>"


def dashboard(
    transactions: list[dict],
    refunds: list[dict],
    transfers: list[dict],
    messages: list[dict],
    callbacks: list[dict],
) -> str:
    """Newest first: what the simulator has seen, for a person debugging a flow."""
    sections = [
        (
            "支付订单 Transactions",
            transactions,
            (
                "sub_mchid",
                "out_trade_no",
                "trade_type",
                "trade_state",
                "total",
                "description",
                "transaction_id",
                "cashier",
            ),
        ),
        (
            "退款 Refunds",
            refunds,
            (
                "sub_mchid",
                "out_refund_no",
                "out_trade_no",
                "refund",
                "reason",
                "status",
                "refund_id",
            ),
        ),
        (
            "商家转账 Transfers",
            transfers,
            (
                "sub_mchid",
                "out_bill_no",
                "transfer_amount",
                "state",
                "openid",
                "user_name",
                "confirm",
            ),
        ),
        ("消息 Messages", messages, ("time", "kind", "appid", "user", "template_id", "data")),
        (
            "回调 Callbacks",
            callbacks,
            ("time", "event_type", "url", "attempt", "kind", "outcome", "status_code", "error"),
        ),
    ]
    links = (
        '<p class="card">JSON: <a href="/_sim/credentials">credentials</a> · '
        '<a href="/_sim/users">users</a> · <a href="/_sim/sub-merchants">sub-merchants</a> · '
        '<a href="/_sim/transactions">transactions</a> · <a href="/_sim/messages">messages</a> · '
        '<a href="/_sim/callbacks">callbacks</a> · <a href="/_sim/settings">settings</a> · '
        '<a href="/_sim/applyments">特约商户进件 applyments</a></p>'
    )
    body = links + "".join(
        f"<h2>{escape(title)}</h2>{_table(list(reversed(rows[-50:])), columns)}"
        for title, rows, columns in sections
    )
    return page("WeChat simulator", body)


def avatar_svg(user: SimUser) -> str:
    hue = sum(map(ord, user.key)) * 37 % 360
    return (
        '<svg xmlns="http://www.w3.org/2000/svg" width="132" height="132">'
        f'<rect width="132" height="132" fill="hsl({hue},55%,55%)"/>'
        '<text x="66" y="86" font-size="64" text-anchor="middle" fill="#fff" '
        f'font-family="sans-serif">{escape(user.key[0].upper())}</text></svg>'
    )


_NEXT_STATES = {
    "APPLYMENT_STATE_AUDITING": ("TO_BE_CONFIRMED", "TO_BE_SIGNED", "REJECTED", "CANCELED"),
    "APPLYMENT_STATE_TO_BE_CONFIRMED": ("TO_BE_SIGNED", "REJECTED", "CANCELED"),
    "APPLYMENT_STATE_TO_BE_SIGNED": ("SIGNING", "CANCELED"),
    "APPLYMENT_STATE_REJECTED": ("CANCELED",),
}


def applyments_page(applyments: list[dict]) -> str:
    """特约商户进件 as WeChat's reviewers would move them: one button per next state, a
    reason for a rejection, and the signing link once the account is ready to sign."""
    cards = []
    for item in reversed(applyments):
        base = f"/_sim/applyments/{item['applyment_id']}"
        buttons = "".join(
            f'<form method="post" action="{escape(base)}/state" style="display:inline">'
            f'{_hidden(state=state)}'
            + ('<input name="field" placeholder="字段, e.g. id_card_number" size="16"> '
               '<input name="field_name" placeholder="字段名称" size="8"> '
               '<input name="reason" placeholder="驳回原因" size="16"> '
               if state == "REJECTED" else "")
            + f'<button class="secondary" type="submit">→ {escape(state)}</button></form> '
            for state in _NEXT_STATES.get(item["applyment_state"], ())
        )
        sign = (f'<p><a href="{escape(item["sign_url"])}">签约链接 sign_url</a></p>'
                if item.get("sign_url") else "")
        cards.append(
            '<div class="card">'
            f"<p><b>{escape(str(item['applyment_id']))}</b> · "
            f"{escape(item['business_code'])} · {escape(item['applyment_state'])}</p>"
            f"<p class=\"muted\">{escape(item['applyment_state_msg'])}"
            + (f" · sub_mchid {escape(item['sub_mchid'])}" if item.get("sub_mchid") else "")
            + "</p>"
            + (_table(item["audit_detail"], ("field", "field_name", "reject_reason"))
               if item.get("audit_detail") else "")
            + f"{sign}<div>{buttons}</div></div>"
        )
    body = "".join(cards) or '<p class="muted">（还没有申请单）</p>'
    return page("特约商户进件 Applyments", body)


def sign_page(resource: dict, body: dict, action: str) -> str:
    """What the super administrator sees when opening `sign_url` in WeChat."""
    business = body.get("business_info", {})
    licence = body.get("subject_info", {}).get("business_license_info", {})
    content = (
        '<div class="card">'
        f"<p>{escape(str(licence.get('merchant_name', '')))}</p>"
        f"<p>商户简称：{escape(str(business.get('merchant_shortname', '')))}</p>"
        f"<p class=\"muted\">申请单号 {escape(str(resource['applyment_id']))} · "
        f"{escape(resource['applyment_state'])}</p>"
    )
    if resource.get("sign_url"):
        content += (f'<form method="post" action="{escape(action)}">'
                    '<button type="submit">签约</button></form>')
    else:
        content += f"<p>{escape(resource['applyment_state_msg'])}</p>"
    return page("微信支付开户签约", content + "</div>")
