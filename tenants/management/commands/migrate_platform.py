from django.core.management import call_command
from django.core.management.base import BaseCommand
from django.core.management.commands.migrate import Command as MigrateCommand
from django_tenants.migration_executors import get_executor

from tenants import provisioning
from tenants.models import Merchant


class Command(BaseCommand):
    help = (
        "Deploy-time migration: the public schema, the tenant template, then only the tenant "
        "schemas whose migrations differ from the template's, in parallel; then refill the "
        "spare-schema pool."
    )

    def add_arguments(self, parser):
        parser.add_argument("--executor", default="multiprocessing",
                            choices=["standard", "multiprocessing"])
        parser.add_argument("--no-refill", action="store_true")

    def handle(self, *args, executor="multiprocessing", no_refill=False, verbosity=1, **options):
        quiet = max(verbosity - 1, 0)
        # A deploy with no new migration skips the public `migrate` (seconds of work that
        # would change nothing); build_template does the same for the template.
        if provisioning.unapplied_migrations("public") != []:
            call_command("migrate_schemas", shared=True, interactive=False, verbosity=quiet)
        provisioning.build_template(verbosity=quiet)
        schemas = list(Merchant.objects.values_list("schema_name", flat=True))
        pending = provisioning.pending_tenant_schemas(schemas)
        self.stdout.write(f"{len(schemas)} tenant schema(s), {len(pending)} to migrate")
        if pending:
            get_executor(codename=executor)(args, _migrate_options(verbosity=quiet)).run_migrations(
                tenants=pending
            )
        if not no_refill:
            created = provisioning.refill_spare_pool()
            self.stdout.write(f"spare schema pool: {created} created")


def _migrate_options(*, verbosity: int) -> dict:
    """Every option `migrate` expects, at its defaults (the executors call the command's
    execute() directly, which reads options such as force_color), then ours."""
    parser = MigrateCommand().create_parser("manage.py", "migrate")
    options = vars(parser.parse_args([]))
    options.update(verbosity=verbosity, interactive=False, database="default",
                   skip_checks=True)
    return options
