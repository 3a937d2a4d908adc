from django.core.management.base import BaseCommand

from tenants import provisioning


class Command(BaseCommand):
    help = "Create or migrate the template schema new merchants are cloned from."

    def add_arguments(self, parser):
        parser.add_argument("--rebuild", action="store_true", help="drop and rebuild it")

    def handle(self, *args, rebuild=False, verbosity=1, **options):
        version = provisioning.build_template(rebuild=rebuild, verbosity=max(verbosity - 1, 0))
        self.stdout.write(f"template schema ready (migrations {version[:12]})")
