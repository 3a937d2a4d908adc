"""Merchant onboarding and lifecycle: the only places that create or change a Merchant."""

from __future__ import annotations

import datetime as dt
import logging
import re
from dataclasses import dataclass

from django.conf import settings
from django.contrib.auth import get_user_model, password_validation
from django.contrib.auth.hashers import make_password
from django.core.exceptions import ValidationError
from django.core.files import File
from django.core.validators import validate_email
from django.db import IntegrityError, connection, transaction
from django.utils import timezone
from django_tenants.utils import schema_context, schema_exists

from billing.models import Plan
from core import outbox
from core.actors import Actor
from core.state_machine import StateMachine
from tenants import provisioning
from tenants.errors import (
    IllegalStatusTransition,
    MallClosed,
    PlatformNotReady,
    ProfileInvalid,
    SignupInvalid,
    SlugTaken,
)
from tenants.models import Domain, Merchant, MerchantStatus, MerchantStatusChange
from tenants.slugs import schema_name_for, validate_slug

logger = logging.getLogger(__name__)

ALLOWED_STATUS_TRANSITIONS: dict[str, frozenset[str]] = {
    MerchantStatus.TRIAL: frozenset(
        {MerchantStatus.ACTIVE, MerchantStatus.PAST_DUE, MerchantStatus.SUSPENDED,
         MerchantStatus.CLOSED}
    ),
    MerchantStatus.ACTIVE: frozenset(
        {MerchantStatus.PAST_DUE, MerchantStatus.SUSPENDED, MerchantStatus.CLOSED}
    ),
    MerchantStatus.PAST_DUE: frozenset(
        {MerchantStatus.ACTIVE, MerchantStatus.SUSPENDED, MerchantStatus.CLOSED}
    ),
    MerchantStatus.SUSPENDED: frozenset({MerchantStatus.ACTIVE, MerchantStatus.CLOSED}),
    MerchantStatus.CLOSED: frozenset(),
}


MERCHANT_MACHINE = StateMachine(
    name="merchant", model=Merchant, history=MerchantStatusChange, subject_field="merchant",
    moves=ALLOWED_STATUS_TRANSITIONS, error=IllegalStatusTransition, noun="mall",
    timestamps=dict.fromkeys(MerchantStatus.values, "status_changed_at"),
    event_data=lambda merchant: {"schema_name": merchant.schema_name},
)


@dataclass(frozen=True)
class SignupResult:
    merchant: Merchant
    owner_id: int
    provisioned_by: str  # "spare" or "clone"


def _clean_signup(*, name: str, slug: str, owner_email: str, password: str) -> dict:
    errors: dict[str, list[str]] = {}
    name = (name or "").strip()
    slug = (slug or "").strip()
    owner_email = (owner_email or "").strip().lower()
    if not name:
        errors["name"] = ["Enter the name of your mall."]
    elif len(name) > 100:
        errors["name"] = ["Use at most 100 characters."]
    try:
        validate_slug(slug)
    except ValidationError as exc:
        errors["slug"] = list(exc.messages)
    try:
        validate_email(owner_email)
    except ValidationError:
        errors["owner_email"] = ["Enter a valid email address."]
    try:
        password_validation.validate_password(
            password or "", user=get_user_model()(username=owner_email, email=owner_email)
        )
    except ValidationError as exc:
        errors["password"] = list(exc.messages)
    if errors:
        raise SignupInvalid(fields=errors)
    return {"name": name, "slug": slug, "owner_email": owner_email}


def merchant_signup(*, name: str, slug: str, owner_email: str, password: str) -> SignupResult:
    """Create a merchant, its host, its schema and its owner's staff account, all or nothing.

    Two signups racing for one slug are serialised by an advisory lock on the slug, so the
    second gets a clean SlugTaken instead of a constraint error half-way through.
    """
    cleaned = _clean_signup(name=name, slug=slug, owner_email=owner_email, password=password)
    slug = cleaned["slug"]
    schema_name = schema_name_for(slug)
    password_hash = make_password(password)  # slow on purpose: hash before taking locks
    plan = Plan.objects.filter(is_default=True).first()
    if plan is None:
        raise PlatformNotReady("No default plan is configured.")

    connection.set_schema_to_public()
    try:
        with transaction.atomic():
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", ["signup:" + slug])
            if Merchant.objects.filter(slug=slug).exists() or schema_exists(schema_name):
                raise SlugTaken(fields={"slug": [SlugTaken.default_message]})
            merchant = Merchant.objects.create(
                schema_name=schema_name,
                name=cleaned["name"],
                slug=slug,
                plan=plan,
                owner_email=cleaned["owner_email"],
                trial_ends_at=timezone.now() + dt.timedelta(days=plan.trial_days),
            )
            Domain.objects.create(
                domain=f"{slug}.{settings.PLATFORM_HOST}", tenant=merchant, is_primary=True
            )
            provisioned_by = provisioning.provision_schema(schema_name)
            owner_id = _create_owner(
                schema_name=schema_name, email=cleaned["owner_email"], password_hash=password_hash
            )
            # In the public schema's outbox: sent after the commit, or by the relay.
            outbox.enqueue("tenants.tasks.refill_spare_schemas")
            outbox.enqueue(
                "tenants.tasks.send_owner_welcome",
                kwargs={"merchant_id": merchant.pk, "owner_id": owner_id},
            )
    except IntegrityError as exc:
        # Only reachable if the advisory lock was bypassed (e.g. a row inserted by hand).
        raise SlugTaken(fields={"slug": [SlugTaken.default_message]}) from exc
    finally:
        connection.set_schema_to_public()
    logger.info("merchant %s signed up (%s)", slug, provisioned_by)
    return SignupResult(merchant=merchant, owner_id=owner_id, provisioned_by=provisioned_by)


def _create_owner(*, schema_name: str, email: str, password_hash: str) -> int:
    """The owner is a staff superuser of their own mall, stored in the mall's schema."""
    with schema_context(schema_name):
        owner = get_user_model().objects.create(
            username=email,
            email=email,
            password=password_hash,
            is_staff=True,
            is_superuser=True,
        )
    return owner.pk


def merchant_change_status(
    *, merchant: Merchant, to_status: str, actor: Actor, reason: str = "", reference: str = "",
    expected_from: frozenset[str] | None = None,
) -> Merchant:
    """The one transition service of the merchant lifecycle: locks, validates, audits.
    `reference`: the outside world's id for the cause (a Stripe event); `expected_from`:
    the only states the caller means to move from (the dunning sweep's)."""
    locked = MERCHANT_MACHINE.transition(
        pk=merchant.pk, to_status=to_status, actor=actor, reason=reason, reference=reference,
        expected_from=expected_from,
    )
    logger.info("merchant %s: -> %s (%s)", locked.slug, to_status, actor)
    return locked


def merchant_suspend(*, merchant: Merchant, actor: Actor, reason: str = "") -> Merchant:
    return merchant_change_status(
        merchant=merchant, to_status=MerchantStatus.SUSPENDED, actor=actor, reason=reason
    )


def merchant_reactivate(*, merchant: Merchant, actor: Actor, reason: str = "") -> Merchant:
    return merchant_change_status(
        merchant=merchant, to_status=MerchantStatus.ACTIVE, actor=actor, reason=reason
    )


# --- The mall's profile, as its staff set it ---------------------------------------------

_THEME_COLOUR = re.compile(r"^#[0-9a-fA-F]{6}$")
_PHONE = re.compile(r"^\+?[0-9][0-9 -]{4,18}[0-9]$")
PROFILE_FIELDS = ("name", "theme_colour", "contact_phone", "logo")


def _clean_profile(*, name, theme_colour, contact_phone) -> dict:
    errors: dict[str, list[str]] = {}
    cleaned: dict = {}
    if name is not None:
        name = name.strip()
        if not name:
            errors["name"] = ["Enter the name of your mall."]
        elif len(name) > 100:
            errors["name"] = ["Use at most 100 characters."]
        cleaned["name"] = name
    if theme_colour is not None:
        theme_colour = theme_colour.strip().lower()
        if not _THEME_COLOUR.match(theme_colour):
            errors["theme_colour"] = ["Give the colour as # and six hex digits, e.g. #07c160."]
        cleaned["theme_colour"] = theme_colour
    if contact_phone is not None:
        contact_phone = contact_phone.strip()
        if contact_phone and not _PHONE.match(contact_phone):
            errors["contact_phone"] = [
                "Enter a phone number: digits, spaces or dashes, an optional leading +."]
        cleaned["contact_phone"] = contact_phone
    if errors:
        raise ProfileInvalid(fields=errors)
    return cleaned


def merchant_profile_update(
    *, merchant_id: int, name: str | None = None, theme_colour: str | None = None,
    contact_phone: str | None = None, logo: File | None = None, remove_logo: bool = False,
) -> tuple[Merchant, dict[str, list]]:
    """Change what shoppers see of the mall: its name, theme colour, contact phone and logo
    (None leaves a field as it is). `logo` must already be checked and re-encoded by the
    caller (storefront.catalog.images.image_check); it is stored in the mall's own media
    folder. A closed mall is refused (409); a paused one may still be tidied up by its
    staff. Returns the merchant and {field: [before, after]} of what changed, for the
    caller's audit row; run it inside the caller's transaction so that row and this change
    commit together. The replaced logo file is removed after the commit."""
    cleaned = _clean_profile(name=name, theme_colour=theme_colour, contact_phone=contact_phone)
    with transaction.atomic():
        merchant = Merchant.objects.select_for_update().get(pk=merchant_id)
        if merchant.status == MerchantStatus.CLOSED:
            raise MallClosed()
        changes: dict[str, list] = {}
        for field, value in cleaned.items():
            if getattr(merchant, field) != value:
                changes[field] = [getattr(merchant, field), value]
                setattr(merchant, field, value)
        old_logo = merchant.logo.name
        if logo is not None:
            merchant.logo.save(logo.name, logo, save=False)
            changes["logo"] = [old_logo, merchant.logo.name]
        elif remove_logo and old_logo:
            merchant.logo = ""
            changes["logo"] = [old_logo, ""]
        if changes:
            merchant.save(update_fields=list(changes))
            if "logo" in changes and old_logo:
                storage = merchant.logo.storage
                transaction.on_commit(lambda: storage.delete(old_logo))
    return merchant, changes
