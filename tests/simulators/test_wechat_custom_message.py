"""The simulator's customer-service message endpoint (`/cgi-bin/message/custom/send`),
driven through wechatpy as the platform drives it."""

from __future__ import annotations

import pytest
import requests
from wechatpy.exceptions import WeChatClientException

from simulators.wechat.clients import SimulatorWeChatClient


@pytest.fixture
def client(base_url, credentials):
    return SimulatorWeChatClient(base_url, credentials["sp_appid"], credentials["sp_app_secret"])


def test_a_text_message_is_recorded_for_the_user(base_url, client, users):
    answer = client.message.send_text(users["alice"]["openid"], "您好，已为您补发。")
    assert answer["errcode"] == 0
    recorded = requests.get(f"{base_url}/_sim/messages", timeout=5).json()[-1]
    assert (recorded["kind"], recorded["user"], recorded["msgtype"], recorded["content"]) == (
        "custom", "alice", "text", "您好，已为您补发。")
    assert "您好，已为您补发。" in requests.get(f"{base_url}/_sim/", timeout=5).text


@pytest.mark.parametrize(("body", "errcode"), [
    ({"touser": "o-unknown", "msgtype": "text", "text": {"content": "x"}}, 40003),
    ({"msgtype": "image", "image": {"media_id": "m"}}, 40008),
    ({"msgtype": "text", "text": {"content": "  "}}, 44003),
    ({"msgtype": "text", "text": {"content": "字" * 700}}, 45002),
])
def test_bad_messages_are_refused_as_wechat_does(base_url, client, users, body, errcode):
    body = {"touser": users["bob"]["openid"], **body}
    before = len(requests.get(f"{base_url}/_sim/messages", timeout=5).json())
    with pytest.raises(WeChatClientException) as refused:
        client.message._send_custom_message(body)
    assert refused.value.errcode == errcode
    assert len(requests.get(f"{base_url}/_sim/messages", timeout=5).json()) == before


def test_a_wrong_access_token_is_refused(base_url, users):
    answer = requests.post(
        f"{base_url}/cgi-bin/message/custom/send", params={"access_token": "forged"},
        json={"touser": users["bob"]["openid"], "msgtype": "text", "text": {"content": "x"}},
        timeout=5,
    ).json()
    assert answer["errcode"] == 40001
