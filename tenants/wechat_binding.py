"""Binding a mall to its WeChat Pay sub-merchant account: verified with a real API call,
then approved by a platform admin before payments and payouts may use it.

WeChat's answer proves only that the number belongs to the platform's service provider, not
that it belongs to the mall that typed it (DESIGN §7): a claim stays pending until a
platform admin approves it, every claim and review is audited (BINDING_MACHINE), and only
one binding per number can ever be approved.
"""

from __future__ import annotations

import re

from django.db import IntegrityError, transaction
from django.db.models import OuterRef, Subquery
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from core.actors import Actor, ActorKind
from core.errors import Conflict, DomainError, InvalidInput
from core.state_machine import StateMachine
from tenants import wechatpay_gateway
from tenants.models import BindingStatus, Merchant, WeChatBinding, WeChatBindingStatusChange
from tenants.secrets import secret_encrypt

_SUB_MCHID = re.compile(r"^\d{8,12}$")
_APPID = re.compile(r"^wx[0-9a-f]{16}$")


class BindingInvalid(InvalidInput):
    code = "binding_invalid"


class BindingTaken(Conflict):
    code = "binding_taken"
    default_message = gettext_lazy("This sub-merchant number is bound to another mall.")


class BindingVerificationFailed(InvalidInput):
    code = "binding_verification_failed"
    status = 422


class BindingClaimChanged(Conflict):
    code = "binding_claim_changed"
    default_message = gettext_lazy(
        "The mall changed its sub-merchant number since; review it again.")


class BindingReviewInvalid(InvalidInput):
    code = "binding_review_invalid"


class BindingReviewForbidden(DomainError):
    code = "binding_review_forbidden"
    status = 403
    default_message = gettext_lazy("Only a platform admin reviews WeChat Pay bindings.")


class IllegalBindingTransition(Conflict):
    code = "illegal_binding_transition"


BINDING_MOVES: dict[str, frozenset[str]] = {
    # pending -> pending: the owner changed a claim still waiting for review.
    BindingStatus.PENDING: frozenset(
        {BindingStatus.PENDING, BindingStatus.APPROVED, BindingStatus.REJECTED}
    ),
    # approved -> pending: the owner claimed another number or app; -> rejected: revoked.
    BindingStatus.APPROVED: frozenset({BindingStatus.PENDING, BindingStatus.REJECTED}),
    BindingStatus.REJECTED: frozenset({BindingStatus.PENDING}),
}

BINDING_MACHINE = StateMachine(
    name="wechat_binding", model=WeChatBinding, history=WeChatBindingStatusChange,
    subject_field="binding", moves=BINDING_MOVES, error=IllegalBindingTransition,
    noun="WeChat Pay binding",
    event_data=lambda binding: {"merchant_id": binding.merchant_id,
                                "sub_mchid": binding.sub_mchid},
)

_REVIEWERS = frozenset({ActorKind.PLATFORM_ADMIN, ActorKind.SYSTEM})


def _validate(*, sub_mchid: str, sub_appid: str, miniprogram_appid: str, app_secret: str | None):
    errors: dict[str, list[str]] = {}
    if not _SUB_MCHID.match(sub_mchid):
        errors["sub_mchid"] = [_("A sub-merchant number is 8 to 12 digits.")]
    for field, value in (("sub_appid", sub_appid), ("miniprogram_appid", miniprogram_appid)):
        if value and not _APPID.match(value):
            errors[field] = [_("An app id looks like wx followed by 16 hex characters.")]
    if not (sub_appid or miniprogram_appid):
        errors["sub_appid"] = [_("Give the official account or the mini-program app id.")]
    if app_secret is not None and app_secret and not re.fullmatch(r"[0-9a-f]{32}", app_secret):
        errors["app_secret"] = [_("An app secret is 32 hex characters.")]
    if errors:
        raise BindingInvalid(fields=errors)


def binding_save(
    *, merchant: Merchant, actor: Actor, sub_mchid: str, sub_appid: str = "",
    miniprogram_appid: str = "", app_secret: str | None = None,
) -> WeChatBinding:
    """Verify with WeChat, then save the mall's claim. `app_secret=None` keeps the stored
    secret; a value replaces it.

    Verification asks WeChat for the sub-merchant's profit-sharing configuration, which only
    succeeds when the sub-merchant belongs to the platform's service-provider account. A new
    claim, or a change of the number or of an app id, waits for a platform admin (pending:
    no payments meanwhile); re-saving the same claim, say to replace the secret, keeps its
    review status.
    """
    sub_mchid, sub_appid, miniprogram_appid = (
        sub_mchid.strip(), sub_appid.strip(), miniprogram_appid.strip()
    )
    _validate(
        sub_mchid=sub_mchid, sub_appid=sub_appid, miniprogram_appid=miniprogram_appid,
        app_secret=app_secret,
    )
    try:
        config = wechatpay_gateway.parse(
            *wechatpay_gateway.client().profitsharing_config_query(sub_mchid=sub_mchid)
        )
    except wechatpay_gateway.WeChatPayError as exc:
        # Nothing is saved: a typo must not break the payments of a mall already live.
        raise BindingVerificationFailed(
            _("WeChat did not confirm this sub-merchant: %(reason)s") % {"reason": exc.message},
            fields={"sub_mchid": [exc.message]},
        ) from exc
    identity = {"sub_mchid": sub_mchid, "sub_appid": sub_appid,
                "miniprogram_appid": miniprogram_appid}
    values = {**identity, "profit_sharing_max_ratio_bp": config.get("max_ratio"),
              "verified_at": timezone.now(), "last_error": ""}
    if app_secret:
        values["app_secret_encrypted"] = secret_encrypt(app_secret)
    claim = f"claims sub-merchant {sub_mchid}"
    with transaction.atomic():
        # The merchant's row serialises its owner's saves, the first one included.
        Merchant.objects.select_for_update().only("pk").get(pk=merchant.pk)
        binding = WeChatBinding.objects.select_for_update().filter(merchant=merchant).first()
        if binding is None:
            binding = WeChatBinding.objects.create(
                merchant=merchant, status=BindingStatus.PENDING, **values
            )
            BINDING_MACHINE.record_creation(binding, actor=actor, reason=claim,
                                            reference=sub_mchid)
        elif binding.status == BindingStatus.REJECTED or any(
            getattr(binding, name) != value for name, value in identity.items()
        ):
            binding = BINDING_MACHINE.transition(
                pk=binding.pk, to_status=BindingStatus.PENDING, actor=actor, reason=claim,
                reference=sub_mchid, changes=values,
            )
        else:
            for name, value in values.items():
                setattr(binding, name, value)
            binding.save(update_fields=[*values, "updated_at"])
    return binding


def binding_approve(
    *, binding: WeChatBinding, sub_mchid: str, actor: Actor, reason: str = ""
) -> WeChatBinding:
    """A platform admin accepts the mall's claim to `sub_mchid`: from now on its payments
    and payouts go to that sub-merchant.

    `sub_mchid` is the number the admin reviewed: if the owner claimed another one since,
    nothing changes (409). A number already approved for another mall is refused (409) and
    this claim stays pending.
    """
    _check_reviewer(actor)
    with transaction.atomic():
        locked = _lock_reviewed(binding, sub_mchid)
        taken = WeChatBinding.objects.filter(
            sub_mchid=sub_mchid, status=BindingStatus.APPROVED
        ).exclude(pk=locked.pk)
        if taken.exists():
            raise BindingTaken(fields={"sub_mchid": [str(BindingTaken.default_message)]})
        try:
            return BINDING_MACHINE.transition(
                pk=locked.pk, to_status=BindingStatus.APPROVED, actor=actor,
                reason=(reason or "").strip() or "approved", reference=sub_mchid,
                expected_from=frozenset({BindingStatus.PENDING}),
            )
        except IntegrityError as exc:  # another mall's claim approved at the same moment
            raise BindingTaken(fields={"sub_mchid": [str(BindingTaken.default_message)]}) from exc


def binding_reject(
    *, binding: WeChatBinding, sub_mchid: str, actor: Actor, reason: str
) -> WeChatBinding:
    """A platform admin refuses a pending claim to `sub_mchid`, or revokes an approved one;
    the owner sees the reason in the console and may claim again."""
    _check_reviewer(actor)
    reason = (reason or "").strip()
    if not reason:
        raise BindingReviewInvalid(fields={"reason": [_("Say why, for the mall's owner.")]})
    if len(reason) > 200:
        raise BindingReviewInvalid(fields={"reason": [_("Use at most 200 characters.")]})
    with transaction.atomic():
        locked = _lock_reviewed(binding, sub_mchid)
        return BINDING_MACHINE.transition(
            pk=locked.pk, to_status=BindingStatus.REJECTED, actor=actor, reason=reason,
            reference=sub_mchid,
        )


def _lock_reviewed(binding: WeChatBinding, sub_mchid: str) -> WeChatBinding:
    locked = WeChatBinding.objects.select_for_update().get(pk=binding.pk)
    if locked.sub_mchid != sub_mchid:
        raise BindingClaimChanged(fields={"sub_mchid": [locked.sub_mchid]})
    return locked


def _check_reviewer(actor: Actor) -> None:
    if actor.kind not in _REVIEWERS:
        raise BindingReviewForbidden()


def binding_of_merchant(merchant: Merchant) -> WeChatBinding | None:
    """The mall's binding whatever its review, annotated with its latest audit row's
    `status_reason` (a rejection's reason, say) and `status_changed_at`, for its owner."""
    latest = WeChatBindingStatusChange.objects.filter(binding=OuterRef("pk")).order_by(
        "-created_at", "-id"
    )
    return (
        WeChatBinding.objects.filter(merchant=merchant)
        .annotate(status_reason=Subquery(latest.values("reason")[:1]),
                  status_changed_at=Subquery(latest.values("created_at")[:1]))
        .first()
    )


def binding_for_schema(schema_name: str) -> WeChatBinding | None:
    """The mall's binding, only once a platform admin approved it: payments, payouts and
    reconciliation use nothing else."""
    return (
        WeChatBinding.objects.select_related("merchant")
        .filter(merchant__schema_name=schema_name, status=BindingStatus.APPROVED)
        .first()
    )


def binding_from_applyment(
    *, merchant: Merchant, sub_mchid: str, sub_appid: str, miniprogram_appid: str,
    applyment_id: int, profit_sharing_max_ratio_bp: int | None = None,
) -> WeChatBinding:
    """Bind the sub-merchant WeChat opened for this mall's own application, approved at
    once by the system: the finished application is the proof of ownership a typed number
    cannot give. It replaces any claim the owner typed. Binding the same number again
    changes nothing. A number another mall holds approved is refused (BindingTaken) and
    nothing changes; the caller flags the application for a platform admin.

    Runs inside the caller's transaction (the application's row is locked there)."""
    actor = Actor.system()
    reason = f"WeChat Pay opened it for applyment {applyment_id} (特约商户进件)"
    reference = str(applyment_id)
    identity = {"sub_mchid": sub_mchid, "sub_appid": sub_appid,
                "miniprogram_appid": miniprogram_appid}
    Merchant.objects.select_for_update().only("pk").get(pk=merchant.pk)
    binding = WeChatBinding.objects.select_for_update().filter(merchant=merchant).first()
    if binding is not None and binding.status == BindingStatus.APPROVED and all(
        getattr(binding, name) == value for name, value in identity.items()
    ):
        return binding
    if WeChatBinding.objects.filter(sub_mchid=sub_mchid, status=BindingStatus.APPROVED).exclude(
        merchant=merchant
    ).exists():
        raise BindingTaken(fields={"sub_mchid": [str(BindingTaken.default_message)]})
    values = {**identity, "verified_at": timezone.now(), "last_error": "",
              "profit_sharing_max_ratio_bp": profit_sharing_max_ratio_bp}
    if binding is None:
        binding = WeChatBinding.objects.create(
            merchant=merchant, status=BindingStatus.PENDING, **values
        )
        BINDING_MACHINE.record_creation(binding, actor=actor, reason=reason, reference=reference)
    elif binding.status != BindingStatus.PENDING:
        # approved (another number) or rejected -> pending: the history shows the claim change.
        binding = BINDING_MACHINE.transition(
            pk=binding.pk, to_status=BindingStatus.PENDING, actor=actor, reason=reason,
            reference=reference, changes=values,
        )
    else:
        for name, value in values.items():
            setattr(binding, name, value)
        binding.save(update_fields=[*values, "updated_at"])
    try:
        with transaction.atomic():
            return BINDING_MACHINE.transition(
                pk=binding.pk, to_status=BindingStatus.APPROVED, actor=actor, reason=reason,
                reference=reference, expected_from=frozenset({BindingStatus.PENDING}),
            )
    except IntegrityError as exc:  # another mall's claim approved at the same moment
        raise BindingTaken(fields={"sub_mchid": [str(BindingTaken.default_message)]}) from exc
