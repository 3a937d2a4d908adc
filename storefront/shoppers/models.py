"""Shoppers of one mall: their identities (phone, WeChat), sign-in codes and addresses.

Shoppers are not Django auth users: staff accounts and shopper accounts never mix, and a
shopper's session is a `shopper_id` in the mall's own (per-schema) session store.
"""

from __future__ import annotations

import secrets

from django.db import models


def new_share_code() -> str:
    return secrets.token_urlsafe(6)


class Shopper(models.Model):
    phone = models.CharField(max_length=20, unique=True, null=True, blank=True)
    wechat_openid = models.CharField(max_length=64, unique=True, null=True, blank=True)
    wechat_unionid = models.CharField(max_length=64, blank=True)
    nickname = models.CharField(max_length=64, blank=True)
    avatar_url = models.URLField(max_length=500, blank=True)
    # Appears in links the shopper shares (?ref=…): orders record who referred the buyer.
    share_code = models.CharField(max_length=16, unique=True, default=new_share_code)
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)
    last_seen_at = models.DateTimeField(null=True, blank=True)
    # PIPL consent: the versions of the user agreement and privacy policy (LegalText.version,
    # 0 = the platform default) the shopper agreed to, and when. Null before any consent.
    consent_terms_version = models.PositiveIntegerField(null=True, blank=True)
    consent_privacy_version = models.PositiveIntegerField(null=True, blank=True)
    consented_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return self.nickname or self.phone or f"shopper {self.pk}"

    @property
    def display_name(self) -> str:
        if self.nickname:
            return self.nickname
        if self.phone:
            return f"{self.phone[:3]}****{self.phone[-4:]}"
        return f"#{self.pk}"


class LoginCode(models.Model):
    """A one-time sign-in code sent to a phone; stored hashed, short-lived, few attempts."""

    phone = models.CharField(max_length=20, db_index=True)
    code_hash = models.CharField(max_length=128)
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField()
    attempts = models.PositiveSmallIntegerField(default=0)
    used_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]


class Address(models.Model):
    shopper = models.ForeignKey(Shopper, on_delete=models.CASCADE, related_name="addresses")
    recipient = models.CharField(max_length=30)
    phone = models.CharField(max_length=20)
    province = models.CharField(max_length=20)
    city = models.CharField(max_length=20)
    district = models.CharField(max_length=20, blank=True)
    detail = models.CharField(max_length=120)
    is_default = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-is_default", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["shopper"], condition=models.Q(is_default=True),
                name="shoppers_one_default_address",
            )
        ]

    def __str__(self) -> str:
        return f"{self.recipient} {self.province}{self.city}{self.district}{self.detail}"

    def snapshot(self) -> dict:
        """What an order keeps, so editing the address later does not rewrite history."""
        return {
            "recipient": self.recipient, "phone": self.phone, "province": self.province,
            "city": self.city, "district": self.district, "detail": self.detail,
        }


class LegalText(models.Model):
    """One version of the mall's user agreement or privacy policy, as the merchant wrote it.

    Every save is a new row (versions are never edited), so a shopper's consent names the
    exact text they agreed to. An empty body means "the platform's default text"; with no row
    at all the version is 0, the platform default."""

    class Kind(models.TextChoices):
        TERMS = "terms", "User agreement"
        PRIVACY = "privacy", "Privacy policy"

    kind = models.CharField(max_length=10, choices=Kind.choices)
    version = models.PositiveIntegerField()
    body = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    created_by_id = models.BigIntegerField(null=True, blank=True)  # staff user (public schema)

    class Meta:
        ordering = ["kind", "-version"]
        constraints = [
            models.UniqueConstraint(fields=["kind", "version"], name="shoppers_legal_version")
        ]
