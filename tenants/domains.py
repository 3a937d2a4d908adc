"""A mall's own domains (plan.custom_domain): a django-tenants Domain row, never primary,
so the mall answers on the host (control_plane.middleware serves it only while the plan
includes custom_domain). The platform host stays the mall's primary one."""

from __future__ import annotations

import re

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _

from billing.limits import custom_domain_check, custom_domains_of, platform_host_of
from core.errors import Conflict, InvalidInput, NotFound
from tenants.models import Domain, Merchant

MAX_CUSTOM_DOMAINS = 5
_LABEL = re.compile(r"^(?!-)[a-z0-9-]{1,63}(?<!-)$")


class DomainInvalid(InvalidInput):
    code = "domain_invalid"


class DomainTaken(Conflict):
    code = "domain_taken"


def domain_clean(text: str) -> str:
    """A real host name in its ASCII form (a Chinese domain becomes xn--…), or
    DomainInvalid saying why."""
    host = (text or "").strip().lower().rstrip(".")
    if "://" in host or "/" in host or ":" in host or "@" in host:
        raise DomainInvalid(fields={"domain": [
            _("Give only the host name, e.g. shop.example.com (no http://, path or port).")]})
    try:
        host = host.encode("idna").decode("ascii")
    except UnicodeError:
        host = ""
    labels = host.split(".")
    if (not host or len(host) > 253 or len(labels) < 2
            or not all(_LABEL.match(label) for label in labels)
            or not re.match(r"^(xn--[a-z0-9-]+|[a-z]{2,63})$", labels[-1])):
        raise DomainInvalid(fields={"domain": [
            _("%(host)s is not a host name like shop.example.com.") % {"host": text.strip()}]})
    platform = settings.PLATFORM_HOST
    if host == platform or host.endswith(f".{platform}"):
        raise DomainInvalid(fields={"domain": [
            _("Hosts under %(platform)s are the platform's: give a domain of your own.")
            % {"platform": platform}]})
    return host


def custom_domain_add(*, merchant: Merchant, domain: str) -> Domain:
    """Route `domain` to the mall: refused when the plan lacks custom_domain, the name is
    not a real host, under the platform's domain, or another mall's."""
    merchant.refresh_from_db(fields=["plan"])
    custom_domain_check(merchant.plan)
    host = domain_clean(domain)
    with transaction.atomic():
        existing = Domain.objects.filter(domain=host).first()
        if existing is not None:
            if existing.tenant_id == merchant.pk:
                raise DomainTaken(_("%(host)s is already this mall's.") % {"host": host})
            raise DomainTaken(_("%(host)s is used by another mall.") % {"host": host})
        if custom_domains_of(merchant).count() >= MAX_CUSTOM_DOMAINS:
            raise DomainTaken(_("A mall has at most %(count)d domains of its own: remove "
                                "one first.") % {"count": MAX_CUSTOM_DOMAINS})
        try:
            with transaction.atomic():
                return Domain.objects.create(domain=host, tenant=merchant, is_primary=False)
        except IntegrityError:
            raise DomainTaken(_("%(host)s is used by another mall.") % {"host": host}) from None


def custom_domain_remove(*, merchant: Merchant, domain_id: int) -> Domain:
    """Stop routing one of the mall's own domains (its platform host is not one)."""
    row = custom_domains_of(merchant).filter(pk=domain_id).first()
    if row is None or row.domain == platform_host_of(merchant):
        raise NotFound(_("This mall has no such domain."))
    row.delete()
    return row
