from django.core.management.base import BaseCommand
from django.db import transaction

from tenants.models import WeChatBinding
from tenants.secrets import secret_rotate


class Command(BaseCommand):
    help = (
        "Re-encrypt every stored merchant secret under the first key of "
        "SECRETS_ENCRYPTION_KEYS (put the new key first, run this, then drop the old key)."
    )

    def handle(self, *args, **options):
        rotated = 0
        with transaction.atomic():
            for binding in WeChatBinding.objects.select_for_update().exclude(
                app_secret_encrypted=""
            ):
                binding.app_secret_encrypted = secret_rotate(binding.app_secret_encrypted)
                binding.save(update_fields=["app_secret_encrypted"])
                rotated += 1
        self.stdout.write(f"{rotated} secret(s) re-encrypted")
