import os

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError
from django.db import connection


class Command(BaseCommand):
    help = "Create or update a platform superuser (public schema) for /admin/."

    def add_arguments(self, parser):
        parser.add_argument("--email", required=True)
        parser.add_argument("--password", help="defaults to $PLATFORM_ADMIN_PASSWORD")

    def handle(self, *args, email, password=None, **options):
        password = password or os.environ.get("PLATFORM_ADMIN_PASSWORD")
        if not password:
            raise CommandError("give --password or set PLATFORM_ADMIN_PASSWORD")
        connection.set_schema_to_public()
        user, created = get_user_model().objects.get_or_create(
            username=email, defaults={"email": email}
        )
        user.is_staff = user.is_superuser = True
        user.set_password(password)
        user.save()
        self.stdout.write(f"platform admin {'created' if created else 'updated'}: {email}")
