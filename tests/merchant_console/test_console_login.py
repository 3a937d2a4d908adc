"""Signing in at the console's own sign-in page (as after signing out) lands in the
console, never on Django's default /accounts/profile/, which no mall serves."""

import pytest

from tests.conftest import OWNER_PASSWORD, host_client

pytestmark = pytest.mark.django_db

OWNER = {"username": "owner@example.com", "password": OWNER_PASSWORD}


def test_signing_in_without_a_next_lands_in_the_console(mall):
    client = host_client(mall)
    response = client.post("/console/login/", OWNER)
    assert response.status_code == 302
    assert response["Location"] == "/console/"
    assert client.get(response["Location"]).status_code == 200


def test_signing_out_then_in_again_lands_in_the_console(mall):
    client = host_client(mall)
    client.post("/console/login/", OWNER)
    signed_out = client.post("/console/logout/")
    assert signed_out["Location"] == "/console/login/"
    assert client.post(signed_out["Location"], OWNER)["Location"] == "/console/"


def test_a_signed_in_owner_opening_the_sign_in_page_goes_to_the_console(mall):
    client = host_client(mall)
    client.post("/console/login/", OWNER)
    assert client.get("/console/login/")["Location"] == "/console/"


def test_next_is_still_followed(mall):
    client = host_client(mall)
    response = client.post("/console/login/", {**OWNER, "next": "/console/orders/"})
    assert response["Location"] == "/console/orders/"
