"""The staff API's parity with the staff pages: the same actions, permissions and audit."""

from __future__ import annotations

from merchant_console.models import AuditEntry, StaffInvitation
from merchant_console.roles import ADMIN, CUSTOMER_SERVICE, FINANCE, OPERATIONS


def test_an_admin_manages_staff_through_the_api(mall, staff_client,
                                                django_capture_on_commit_callbacks):
    admin = staff_client(ADMIN)
    with django_capture_on_commit_callbacks(execute=True):
        made = admin.post("/api/v1/console/staff/invitations/",
                          {"email": "Zhao@Example.com", "role": FINANCE},
                          content_type="application/json")
    assert made.status_code == 201 and made.json()["email"] == "zhao@example.com"
    listing = admin.get("/api/v1/console/staff/").json()
    assert [i["email"] for i in listing["invitations"]] == ["zhao@example.com"]
    roles = {m["email"]: m["role"] for m in listing["members"]}
    assert roles["owner@example.com"] == "owner" and roles[admin.user.email] == ADMIN

    clerk = staff_client(CUSTOMER_SERVICE)
    moved = admin.post(f"/api/v1/console/staff/{clerk.user.pk}/role/", {"role": OPERATIONS},
                       content_type="application/json")
    assert moved.status_code == 200 and moved.json()["role"] == OPERATIONS
    removed = admin.post(f"/api/v1/console/staff/{clerk.user.pk}/remove/")
    assert removed.status_code == 200 and removed.json()["is_active"] is False
    invitation = StaffInvitation.objects.get()
    assert admin.delete(f"/api/v1/console/staff/invitations/{invitation.pk}/").status_code == 204
    assert admin.delete(f"/api/v1/console/staff/invitations/{invitation.pk}/").status_code == 404
    assert list(AuditEntry.objects.order_by("id").values_list("action", flat=True)) == [
        "staff.invite", "staff.role", "staff.remove", "staff.revoke"]

    audit = admin.get("/api/v1/console/audit/", {"area": "staff"}).json()
    assert audit["count"] == 4 and audit["results"][0]["action"] == "staff.revoke"
    assert admin.get("/api/v1/console/audit/verify/").json() == {
        "checked": 4, "intact": True, "broken_at": None, "reason": ""}


def test_the_api_refuses_what_the_pages_refuse(mall, staff_client):
    admin = staff_client(ADMIN)
    refused = admin.post("/api/v1/console/staff/invitations/",
                         {"email": "x@example.com", "role": ADMIN},
                         content_type="application/json")
    assert refused.status_code == 409 and "Only the owner" in refused.json()["message"]
    bad = admin.post("/api/v1/console/staff/invitations/", {"email": "nope", "role": "boss"},
                     content_type="application/json")
    assert bad.status_code == 400 and set(bad.json()["fields"]) == {"role"}
    bad_date = admin.get("/api/v1/console/audit/", {"since": "yesterday"})
    assert bad_date.status_code == 400 and "since" in bad_date.json()["fields"]
    finance = staff_client(FINANCE)
    assert finance.get("/api/v1/console/staff/").status_code == 403
    assert finance.get("/api/v1/console/audit/").status_code == 403
    assert not StaffInvitation.objects.exists()
