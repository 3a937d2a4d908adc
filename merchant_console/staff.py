"""Staff membership: invitations by e-mailed link, roles, leaving. Each change is one
transaction with its audit row.

The owner (the superuser) is never invited, re-roled or deactivated here. Only the owner
may make or unmake an administrator; an administrator manages the other roles."""

from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta

from django.contrib.auth import get_user_model
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.core.mail import send_mail
from django.core.validators import validate_email
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from billing.limits import staff_seats_check
from core.errors import Conflict, InvalidInput, NotFound
from merchant_console.audit import audit_record
from merchant_console.models import StaffInvitation
from merchant_console.roles import ADMIN, ASSIGNABLE_ROLES, ROLE_LABELS, role_group

INVITATION_DAYS = 7


class StaffError(Conflict):
    code = "staff_refused"


def _sha256(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _check_role(by, role: str) -> None:
    if role not in ASSIGNABLE_ROLES:
        raise InvalidInput(fields={"role": [_("Choose one of the roles.")]})
    if role == ADMIN and not by.is_superuser:
        raise StaffError(_("Only the owner can make someone an administrator."))


@transaction.atomic
def staff_invite(*, by, email: str, role: str, accept_url_base: str,
                 merchant=None) -> tuple[StaffInvitation, str]:
    """Invite `email` as `role`; e-mails the link and answers (invitation, link). Inviting
    the same address again revokes the earlier link."""
    email = (email or "").strip().lower()
    try:
        validate_email(email)
    except ValidationError:
        raise InvalidInput(fields={"email": [_("Enter a valid e-mail address.")]}) from None
    _check_role(by, role)
    User = get_user_model()
    if User.objects.filter(email__iexact=email, is_staff=True, is_active=True).exists():
        raise StaffError(_("%(email)s is already on the staff.") % {"email": email})
    # The owner counts as a seat; open invitations hold theirs until used or revoked (a
    # new link for the same address replaces its old one, so that seat is not counted).
    # Counted under billing's per-mall seat lock: two invitations cannot take one seat.
    staff_seats_check(lambda: User.objects.filter(is_staff=True, is_active=True).count()
                      + StaffInvitation.objects.filter(
                          accepted_at=None, revoked_at=None, expires_at__gt=timezone.now()
                      ).exclude(email=email).count())
    now = timezone.now()
    StaffInvitation.objects.filter(email=email, accepted_at=None, revoked_at=None).update(
        revoked_at=now
    )
    token = secrets.token_urlsafe(32)
    invitation = StaffInvitation.objects.create(
        email=email, role=role, token_sha256=_sha256(token), invited_by_id=by.pk,
        expires_at=now + timedelta(days=INVITATION_DAYS),
    )
    link = f"{accept_url_base.rstrip('/')}/{token}/"
    audit_record(actor=by, area="staff", action="staff.invite", target=email,
                 detail={"role": role})
    mall_name = getattr(merchant, "name", "") or ""
    transaction.on_commit(lambda: send_mail(
        subject=_("You are invited to the staff of %(mall)s") % {"mall": mall_name},
        message=_(
            "%(inviter)s invited you to help run %(mall)s as %(role)s.\n\n"
            "Open this link within %(days)d days to set your password and sign in:\n"
            "%(link)s\n"
        ) % {"inviter": by.email, "mall": mall_name, "role": ROLE_LABELS[role],
             "days": INVITATION_DAYS, "link": link},
        from_email=None, recipient_list=[email],
    ))
    return invitation, link


def staff_invitation_open(token: str) -> StaffInvitation:
    invitation = StaffInvitation.objects.filter(token_sha256=_sha256(token or "")).first()
    if (invitation is None or invitation.revoked_at or invitation.accepted_at
            or invitation.expires_at <= timezone.now()):
        raise NotFound(_("This invitation link is no longer valid. Ask for a new one."))
    return invitation


@transaction.atomic
def staff_invitation_accept(*, token: str, password: str, name: str = ""):
    """Make the invited person a staff member with the invitation's role; answers the user."""
    invitation = staff_invitation_open(token)
    invitation = StaffInvitation.objects.select_for_update().get(pk=invitation.pk)
    if invitation.accepted_at or invitation.revoked_at:
        raise NotFound(_("This invitation link is no longer valid. Ask for a new one."))
    User = get_user_model()
    user = User.objects.filter(username=invitation.email).first()
    try:
        validate_password(password, user=user)
    except ValidationError as exc:
        raise InvalidInput(fields={"password": list(exc.messages)}) from None
    if user is None:
        try:
            with transaction.atomic():
                user = User.objects.create_user(
                    username=invitation.email, email=invitation.email, password=password,
                    first_name=(name or "").strip()[:150], is_staff=True,
                )
        except IntegrityError:
            raise StaffError(_("This account already exists.")) from None
    else:
        if user.is_superuser:
            raise StaffError(_("The owner cannot accept an invitation."))
        user.set_password(password)
        user.is_staff = user.is_active = True
        if name:
            user.first_name = name.strip()[:150]
        user.save()
    user.groups.set([role_group(invitation.role)])
    invitation.accepted_at = timezone.now()
    invitation.accepted_user_id = user.pk
    invitation.save(update_fields=["accepted_at", "accepted_user_id"])
    audit_record(actor=user, area="staff", action="staff.join", target=user.email,
                 detail={"role": invitation.role, "invitation": invitation.pk})
    return user


def _member(user_id: int):
    user = get_user_model().objects.select_for_update().filter(pk=user_id, is_staff=True).first()
    if user is None:
        raise NotFound(_("No such member of staff."))
    if user.is_superuser:
        raise StaffError(_("The owner's access cannot be changed."))
    return user


@transaction.atomic
def staff_role_set(*, by, user_id: int, role: str):
    user = _member(user_id)
    _check_role(by, role)
    if ADMIN in {g.name for g in user.groups.all()} and not by.is_superuser:
        raise StaffError(_("Only the owner can change an administrator's role."))
    before = [g.name for g in user.groups.all()]
    user.groups.set([role_group(role)])
    audit_record(actor=by, area="staff", action="staff.role", target=user.email,
                 detail={"from": before, "to": role})
    return user


@transaction.atomic
def staff_deactivate(*, by, user_id: int):
    """Removes the person's access at once (their next request is refused)."""
    user = _member(user_id)
    if user.pk == by.pk:
        raise StaffError(_("You cannot remove yourself."))
    if ADMIN in {g.name for g in user.groups.all()} and not by.is_superuser:
        raise StaffError(_("Only the owner can remove an administrator."))
    user.is_active = False
    user.save(update_fields=["is_active"])
    audit_record(actor=by, area="staff", action="staff.remove", target=user.email)
    return user


@transaction.atomic
def staff_invitation_revoke(*, by, invitation_id: int) -> None:
    updated = StaffInvitation.objects.filter(
        pk=invitation_id, accepted_at=None, revoked_at=None
    ).update(revoked_at=timezone.now())
    if not updated:
        raise NotFound(_("No such open invitation."))
    audit_record(actor=by, area="staff", action="staff.revoke", target=str(invitation_id))
