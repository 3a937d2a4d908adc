"""A staff reply reaches the shopper's WeChat as a customer-service message, sent by the
notifications task against the WeChat simulator; no openid, no message; a refusal is
recorded, not raised; the task is safe to run twice."""

from __future__ import annotations

import pytest
import requests

from storefront.notifications.tasks import send_ticket_reply
from storefront.support.models import TicketMessage, WeChatDelivery
from storefront.support.services import ticket_open, ticket_reply_by_staff
from tests.payments.conftest import test_user_openid as sim_openid
from tests.payments.conftest import wechat_settings, wechat_sim  # noqa: F401

pytestmark = pytest.mark.django_db


def _custom_messages(server) -> list[dict]:
    return [m for m in requests.get(f"{server.base_url}/_sim/messages", timeout=5).json()
            if m["kind"] == "custom"]


@pytest.fixture
def staff(staff_client):
    return staff_client("customer_service").user


@pytest.fixture
def reply(alice, staff):
    def _reply(body="A new cup is on its way."):
        ticket = ticket_open(shopper=alice, subject="Broken cup", body="It broke.")
        return ticket, ticket_reply_by_staff(ticket_id=ticket.pk, staff_user_id=staff.pk,
                                             body=body)
    return _reply


def test_the_reply_goes_to_the_shoppers_wechat_once(wechat_settings, wechat_sim,  # noqa: F811
                                                    alice, reply, mall):
    server = wechat_sim[0]
    alice.wechat_openid = sim_openid(server, wechat_settings.WECHAT_OAUTH_APP_ID, "carol")
    alice.save()
    before = len(_custom_messages(server))
    ticket, message = reply()

    send_ticket_reply(message.pk)
    send_ticket_reply(message.pk)  # a redelivered task sends nothing more

    sent = _custom_messages(server)[before:]
    assert len(sent) == 1
    assert sent[0]["touser"] == alice.wechat_openid and sent[0]["user"] == "carol"
    assert "A new cup is on its way." in sent[0]["content"]
    assert f"{mall.primary_host}/help/tickets/{ticket.number}/" in sent[0]["content"]
    assert TicketMessage.objects.get(pk=message.pk).wechat_delivery == WeChatDelivery.SENT


def test_a_long_reply_is_cut_to_fit_wechat(wechat_settings, wechat_sim, alice,  # noqa: F811
                                           reply):
    server = wechat_sim[0]
    alice.wechat_openid = sim_openid(server, wechat_settings.WECHAT_OAUTH_APP_ID, "carol")
    alice.save()
    _, message = reply("长" * 2000)
    send_ticket_reply(message.pk)
    assert _custom_messages(server)[-1]["content"].count("长") == 400
    assert TicketMessage.objects.get(pk=message.pk).wechat_delivery == WeChatDelivery.SENT


def test_a_shopper_without_wechat_gets_no_message(wechat_settings, wechat_sim,  # noqa: F811
                                                  alice, reply):
    before = len(_custom_messages(wechat_sim[0]))
    _, message = reply()
    assert send_ticket_reply(message.pk) is None
    assert len(_custom_messages(wechat_sim[0])) == before
    assert TicketMessage.objects.get(pk=message.pk).wechat_delivery == WeChatDelivery.SKIPPED


def test_a_refusal_is_recorded_not_retried(wechat_settings, wechat_sim, alice,  # noqa: F811
                                           reply):
    alice.wechat_openid = "o-not-a-follower"
    alice.save()
    _, message = reply()
    assert send_ticket_reply(message.pk) is None
    assert TicketMessage.objects.get(pk=message.pk).wechat_delivery == WeChatDelivery.FAILED
