"""Staff membership end to end: an invitation e-mailed, accepted on the mall's host, the
new member seeing only their role's areas; role changes and removals by who may make them."""

from __future__ import annotations

import re

import pytest
from django.contrib.auth import get_user_model
from django.core import mail

from merchant_console.models import AuditEntry, StaffInvitation
from merchant_console.roles import ADMIN, CUSTOMER_SERVICE, FINANCE, OPERATIONS
from tests.conftest import OWNER_PASSWORD, host_client

NEW_PASSWORD = "another-horse-battery-7"


def _invite(client, email: str, role: str):
    return client.post("/console/settings/staff/action/",
                       {"action": "invite", "email": email, "role": role}, follow=True)


def _link_in_last_mail() -> str:
    return re.search(r"https?://\S+/console/invitations/\S+/", mail.outbox[-1].body).group(0)


def test_an_invited_finance_member_joins_and_sees_only_their_areas(
        mall, staff_client, django_capture_on_commit_callbacks):
    owner = staff_client("owner")
    with django_capture_on_commit_callbacks(execute=True):
        response = _invite(owner, "Lin@Example.com", FINANCE)
    assert response.status_code == 200
    assert "lin@example.com" in response.content.decode()
    assert mail.outbox[-1].to == ["lin@example.com"]
    link = _link_in_last_mail()
    assert mall.primary_host.split(":")[0] in link

    path = link.split(mall.primary_host.split(":")[0], 1)[1].split(":", 1)[-1]
    path = path[path.index("/console/"):]
    newcomer = host_client(mall)
    assert newcomer.get(path).status_code == 200
    weak = newcomer.post(path, {"password": "123", "name": "Lin"})
    assert weak.status_code == 400
    assert not get_user_model().objects.filter(email="lin@example.com").exists()

    joined = newcomer.post(path, {"password": NEW_PASSWORD, "name": "Lin"}, follow=True)
    assert joined.status_code == 200
    user = get_user_model().objects.get(email="lin@example.com")
    assert user.is_staff and not user.is_superuser
    assert [g.name for g in user.groups.all()] == [FINANCE]
    page = joined.content.decode()
    areas = re.findall(r'data-area="(\w+)"', page)
    assert "orders" in areas
    assert "goods" not in areas and "settings" not in areas
    # The link is single use.
    assert host_client(mall).get(path).status_code == 404
    assert newcomer.get("/console/settings/staff/").status_code == 403
    actions = list(AuditEntry.objects.order_by("id").values_list("action", "actor_email"))
    assert actions == [("staff.invite", "owner@example.com"),
                       ("staff.join", "lin@example.com")]


def test_inviting_again_replaces_the_link_and_a_withdrawn_link_is_dead(
        mall, staff_client, django_capture_on_commit_callbacks):
    owner = staff_client("owner")
    with django_capture_on_commit_callbacks(execute=True):
        _invite(owner, "wu@example.com", OPERATIONS)
    first = _link_in_last_mail()
    with django_capture_on_commit_callbacks(execute=True):
        _invite(owner, "wu@example.com", CUSTOMER_SERVICE)
    second = _link_in_last_mail()
    client = host_client(mall)
    assert client.get(first[first.index("/console/"):]).status_code == 404
    assert client.get(second[second.index("/console/"):]).status_code == 200
    invitation = StaffInvitation.objects.get(email="wu@example.com", revoked_at=None)
    owner.post("/console/settings/staff/action/",
               {"action": "revoke", "invitation": invitation.pk})
    assert client.get(second[second.index("/console/"):]).status_code == 404


@pytest.mark.parametrize(("email", "role", "message"), [
    ("not-an-address", FINANCE, "valid e-mail"),
    ("x@example.com", "owner", "Choose one of the roles"),
    ("owner@example.com", FINANCE, "already on the staff"),
])
def test_bad_invitations_are_refused_with_a_reason(mall, staff_client, email, role, message):
    response = _invite(staff_client("owner"), email, role)
    assert message in response.content.decode()
    assert not StaffInvitation.objects.exists()
    assert not AuditEntry.objects.exists()


def test_only_the_owner_makes_or_removes_administrators(mall, staff_client):
    admin = staff_client(ADMIN)
    refused = _invite(admin, "boss@example.com", ADMIN)
    assert "Only the owner" in refused.content.decode()
    other_admin = staff_client(ADMIN)
    removal = admin.post("/console/settings/staff/action/",
                         {"action": "remove", "user": other_admin.user.pk}, follow=True)
    assert "Only the owner" in removal.content.decode()
    clerk = staff_client(CUSTOMER_SERVICE)
    promoted = admin.post("/console/settings/staff/action/",
                          {"action": "role", "user": clerk.user.pk, "role": OPERATIONS},
                          follow=True)
    assert "is now" in promoted.content.decode()
    assert [g.name for g in clerk.user.groups.all()] == [OPERATIONS]
    owner = staff_client("owner")
    owner.post("/console/settings/staff/action/", {"action": "remove", "user": other_admin.user.pk})
    other_admin.user.refresh_from_db()
    assert not other_admin.user.is_active
    # Removed staff lose the console at their next request.
    assert other_admin.get("/console/").status_code == 302
    owner_row = get_user_model().objects.get(is_superuser=True)
    refused_owner = admin.post("/console/settings/staff/action/",
                               {"action": "remove", "user": owner_row.pk}, follow=True)
    assert "access cannot be changed" in refused_owner.content.decode()


def test_the_plan_s_staff_seats_are_a_limit(mall, staff_client):
    mall.plan.max_staff = 2  # the owner and one more
    mall.plan.save()
    owner = staff_client("owner")
    assert "Invitation sent" in _invite(owner, "a@example.com", FINANCE).content.decode()
    full = _invite(owner, "b@example.com", FINANCE).content.decode()
    assert "staff seats" in full
    assert StaffInvitation.objects.count() == 1


def test_a_staff_member_can_sign_in_with_the_password_they_chose(mall, staff_client):
    user = staff_client(FINANCE).user
    client = host_client(mall)
    response = client.post("/console/login/", {"username": user.email,
                                                "password": OWNER_PASSWORD})
    assert response.status_code == 302 and response["Location"] == "/console/"


def test_a_new_mall_comes_with_the_role_groups_and_their_permissions(mall):
    """Synced after the template's migrations, and cloned with it into every new mall."""
    from django.contrib.auth.models import Group

    from merchant_console.roles import ROLE_PERMISSIONS

    groups = {g.name: {f"{p.content_type.app_label}.{p.codename}" for p in g.permissions.all()}
              for g in Group.objects.prefetch_related("permissions__content_type")}
    assert set(groups) == set(ROLE_PERMISSIONS)
    assert "merchant_console.view_finance" in groups[FINANCE]
    assert "merchant_console.view_finance" not in groups[CUSTOMER_SERVICE]
    assert "orders.change_order" in groups[CUSTOMER_SERVICE]
