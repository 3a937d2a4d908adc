"""Merchant onboarding and lifecycle: the only places that create or change a Merchant."""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass

from django.conf import settings
from django.contrib.auth import get_user_model, password_validation
from django.contrib.auth.hashers import make_password
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import IntegrityError, connection, transaction
from django.utils import timezone
from django_tenants.utils import schema_context, schema_exists

from billing.models import Plan
from core import outbox
from core.actors import Actor
from core.state_machine import StateMachine
from tenants import provisioning
from tenants.errors import IllegalStatusTransition, PlatformNotReady, SignupInvalid, SlugTaken
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
    *, merchant: Merchant, to_status: str, actor: Actor, reason: str = ""
) -> Merchant:
    """The one transition service of the merchant lifecycle: locks, validates, audits."""
    locked = MERCHANT_MACHINE.transition(
        pk=merchant.pk, to_status=to_status, actor=actor, reason=reason
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
