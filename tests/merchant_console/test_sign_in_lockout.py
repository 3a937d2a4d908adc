"""Sign-in lockout (django-axes): staff on a mall's /console/login/ and platform admins on
/admin/ are locked after LOGIN_FAILURE_LIMIT (6) wrong passwords, per account and per client
address, in the schema where they sign in; the mall's owner unlocks their staff."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from django.db import connection
from django.test import Client

from tests.conftest import OWNER_PASSWORD, host_client

pytestmark = pytest.mark.django_db

LOCKED = "Too many failed sign-in attempts"
OWNER = "owner@example.com"


def console_sign_in(client: Client, username: str, password: str, address: str = "10.1.1.1",
                    **extra):
    return client.post(
        "/console/login/", {"username": username, "password": password},
        REMOTE_ADDR=address, HTTP_ACCEPT_LANGUAGE="en", **extra,
    )


def fail_six_times(client: Client, username: str = OWNER, address: str = "10.1.1.1"):
    return [console_sign_in(client, username, "wrong-password", address) for _ in range(6)]


def signed_in(client: Client) -> bool:
    return client.get("/console/").status_code == 200


def test_six_wrong_passwords_lock_a_staff_account(mall):
    client = host_client(mall)
    answers = fail_six_times(client)

    assert [answer.status_code for answer in answers] == [200] * 5 + [429]
    assert LOCKED in answers[-1].content.decode()
    # The seventh, with the right password, is refused with the message.
    seventh = console_sign_in(client, OWNER, OWNER_PASSWORD)
    assert seventh.status_code == 429
    body = seventh.content.decode()
    assert LOCKED in body and "locked for 30 minutes" in body
    assert "owner can unlock it" in body
    assert not signed_in(client)
    # The account is locked from any address, not only the one that failed.
    assert console_sign_in(client, OWNER, OWNER_PASSWORD, "10.9.9.9").status_code == 429


def test_the_lockout_message_is_in_chinese_too(mall):
    client = host_client(mall)
    fail_six_times(client)
    answer = client.post(
        "/console/login/", {"username": OWNER, "password": OWNER_PASSWORD},
        REMOTE_ADDR="10.1.1.1", HTTP_ACCEPT_LANGUAGE="zh-CN,zh;q=0.9",
    )
    assert answer.status_code == 429
    assert "登录失败次数过多" in answer.content.decode()


def test_the_failure_limit_is_a_setting(mall, settings):
    settings.AXES_FAILURE_LIMIT = 2
    client = host_client(mall)
    statuses = [console_sign_in(client, OWNER, "wrong").status_code for _ in range(2)]
    assert statuses == [200, 429]


def test_a_lock_in_one_mall_does_not_lock_the_same_email_in_another(two_merchants):
    alpha, beta = (result.merchant for result in two_merchants)
    connection.set_tenant(alpha)
    alpha_client = host_client(alpha)
    fail_six_times(alpha_client)
    assert console_sign_in(alpha_client, OWNER, OWNER_PASSWORD).status_code == 429

    connection.set_tenant(beta)
    beta_client = host_client(beta)
    # Same e-mail, same address, other mall: signs in.
    assert console_sign_in(beta_client, OWNER, OWNER_PASSWORD).status_code == 302
    assert signed_in(beta_client)
    connection.set_schema_to_public()


def test_forged_forwarded_for_does_not_dodge_the_address_lock(mall):
    client = host_client(mall)
    for attempt in range(6):
        console_sign_in(client, f"guess{attempt}@example.com", "wrong", "10.2.2.2",
                        HTTP_X_FORWARDED_FOR=f"203.0.113.{attempt}")

    # Right password for an account that never failed, from the locked address.
    answer = console_sign_in(client, OWNER, OWNER_PASSWORD, "10.2.2.2",
                             HTTP_X_FORWARDED_FOR="198.51.100.77")
    assert answer.status_code == 429
    assert LOCKED in answer.content.decode()
    # From another address the owner signs in: it was the address that was locked.
    assert console_sign_in(client, OWNER, OWNER_PASSWORD, "10.3.3.3").status_code == 302


def test_behind_a_trusted_proxy_the_address_it_appended_is_locked(mall, settings):
    settings.TRUSTED_PROXY_COUNT = 1
    client = host_client(mall)
    for attempt in range(6):
        console_sign_in(client, f"guess{attempt}@example.com", "wrong", "10.0.0.1",
                        HTTP_X_FORWARDED_FOR=f"6.6.6.{attempt}, 203.0.113.5")

    # The same client, whatever it writes to the left, is locked...
    assert console_sign_in(client, OWNER, OWNER_PASSWORD, "10.0.0.1",
                           HTTP_X_FORWARDED_FOR="6.6.6.99, 203.0.113.5").status_code == 429
    # ...while another client behind the same proxy is not.
    assert console_sign_in(host_client(mall), OWNER, OWNER_PASSWORD, "10.0.0.1",
                           HTTP_X_FORWARDED_FOR="198.51.100.8").status_code == 302


def test_the_owner_unlocks_a_locked_staff_member(mall):
    get_user_model().objects.create_user(
        username="clerk@example.com", email="clerk@example.com", password=OWNER_PASSWORD,
        is_staff=True,
    )
    clerk = host_client(mall)
    fail_six_times(clerk, "clerk@example.com")
    assert console_sign_in(clerk, "clerk@example.com", OWNER_PASSWORD).status_code == 429

    owner = host_client(mall)
    assert console_sign_in(owner, OWNER, OWNER_PASSWORD, "10.5.5.5").status_code == 302
    page = owner.get("/console/sign-in-locks/", HTTP_ACCEPT_LANGUAGE="en")
    assert page.status_code == 200
    assert "clerk@example.com" in page.content.decode()
    assert "10.1.1.1" in page.content.decode()  # the clerk's address is locked too

    answer = owner.post("/console/sign-in-locks/",
                        {"kind": "username", "value": "clerk@example.com"})
    assert answer.status_code == 302

    assert console_sign_in(clerk, "clerk@example.com", OWNER_PASSWORD).status_code == 302
    assert signed_in(clerk)
    assert "Nothing is locked" in owner.get(
        "/console/sign-in-locks/", HTTP_ACCEPT_LANGUAGE="en"
    ).content.decode()


def test_the_owner_unlocks_a_locked_address(mall):
    client = host_client(mall)
    for attempt in range(6):
        console_sign_in(client, f"guess{attempt}@example.com", "wrong", "10.2.2.2")
    assert console_sign_in(client, OWNER, OWNER_PASSWORD, "10.2.2.2").status_code == 429

    owner = host_client(mall)
    owner.force_login(get_user_model().objects.get(username=OWNER))
    owner.post("/console/sign-in-locks/", {"kind": "ip_address", "value": "10.2.2.2"})

    assert console_sign_in(client, OWNER, OWNER_PASSWORD, "10.2.2.2").status_code == 302


def test_only_the_owner_may_see_or_clear_locks(mall):
    clerk = get_user_model().objects.create_user(
        username="clerk@example.com", password=OWNER_PASSWORD, is_staff=True
    )
    fail_six_times(host_client(mall))
    client = host_client(mall)
    client.force_login(clerk)

    assert client.get("/console/sign-in-locks/").status_code == 403
    assert client.post("/console/sign-in-locks/",
                       {"kind": "username", "value": OWNER}).status_code == 403
    assert console_sign_in(host_client(mall), OWNER, OWNER_PASSWORD).status_code == 429
    assert host_client(mall).get("/console/sign-in-locks/").status_code == 302  # anonymous


def test_six_wrong_passwords_lock_the_platform_admin(db):
    get_user_model().objects.create_superuser(
        username="admin@localhost", email="admin@localhost", password=OWNER_PASSWORD
    )
    client = Client(HTTP_HOST="localhost", HTTP_ACCEPT_LANGUAGE="en")

    def sign_in(password: str):
        return client.post("/admin/login/?next=/admin/",
                           {"username": "admin@localhost", "password": password},
                           REMOTE_ADDR="10.4.4.4")

    statuses = [sign_in("wrong").status_code for _ in range(6)]
    assert statuses == [200] * 5 + [429]
    seventh = sign_in(OWNER_PASSWORD)
    assert seventh.status_code == 429
    body = seventh.content.decode()
    assert LOCKED in body and "Access attempts in the admin" in body
    assert client.get("/admin/").status_code == 302  # not signed in


def test_a_platform_admin_unlocks_a_locked_owner_with_a_command(mall):
    from django.core.management import call_command

    client = host_client(mall)
    fail_six_times(client)
    assert console_sign_in(client, OWNER, OWNER_PASSWORD).status_code == 429

    # README § Sign-in lockout: the owner's lock lives in the mall's schema.
    call_command("tenant_command", "axes_reset_username", OWNER, schema_name=mall.schema_name)
    connection.set_tenant(mall)

    assert console_sign_in(client, OWNER, OWNER_PASSWORD).status_code == 302
