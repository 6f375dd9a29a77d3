"""``manage.py demo``: the embedded-default demo, from an empty database to a browsable portal.

It starts a local moto server that plays an AWS account (two regions, a few dozen tagged
instances), creates the demo tenant and its users, syncs the demo account once, starts the
built-in scheduler and serves the portal. Nothing leaves this machine; no cloud credentials are
needed. It refuses to run unless PORTAL_DEMO is on, so demo logins never reach a real portal.
"""

import logging

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from portal import scheduler
from portal.inventory import sync
from portal.inventory.models import Provider, ProviderKind
from portal.tenancy.models import Membership, Role, Tenant
from providers.simulators import aws as aws_simulator

logger = logging.getLogger(__name__)

DEMO_REGIONS = ("eu-west-1", "us-east-1")
# The demo's users: (username, password, role). Created only in demo mode.
DEMO_USERS = (("demo", "demo", Role.ADMIN), ("viewer", "viewer", Role.VIEWER))


class Command(BaseCommand):
    help = "Start the demo: a local AWS simulator, demo tenant and users, one sync, the portal."

    def add_arguments(self, parser):
        parser.add_argument("addrport", nargs="?", default="127.0.0.1:8000")
        parser.add_argument(
            "--aws-port", type=int, default=5055, help="Port of the local moto server."
        )
        parser.add_argument(
            "--no-serve", action="store_true", help="Set the demo up and exit (no web server)."
        )

    def handle(self, *args, **options):
        if not settings.PORTAL_DEMO:
            raise CommandError("The demo runs only with PORTAL_DEMO=1 (it creates demo logins).")

        server, url = aws_simulator.start_moto(port=options["aws_port"])
        aws_simulator.seed_demo_estate(url, regions=DEMO_REGIONS)
        provider = self._seed_database(url)

        run = sync.sync_provider(provider.pk, triggered_by="demo start")
        self.stdout.write(
            f"Demo AWS account synced: {run.status}, {run.seen} hosts "
            f"({run.created} new, {run.archived} archived)."
        )
        if options["no_serve"]:
            aws_simulator.stop_moto(server)
            return

        if settings.PORTAL_EMBEDDED_SCHEDULER:
            scheduler.start()
        self.stdout.write(self.style.SUCCESS(
            f"\n  Portal: http://{options['addrport']}/   log in as demo / demo "
            "(demo mode only)\n  API docs: /api/docs/   Simulated AWS: " + url + "\n"
        ))
        try:
            # No autoreloader: it would restart the process and lose the simulator thread.
            call_command("runserver", options["addrport"], "--noreload")
        finally:
            aws_simulator.stop_moto(server)

    @transaction.atomic
    def _seed_database(self, aws_url: str) -> Provider:
        tenant, _ = Tenant.objects.get_or_create(slug="demo", defaults={"name": "Demo"})
        users = get_user_model()
        for username, password, role in DEMO_USERS:
            user, created = users.objects.get_or_create(username=username)
            if created:
                user.set_password(password)
                user.save()
            Membership.objects.update_or_create(user=user, tenant=tenant,
                                                defaults={"role": role})

        # moto keeps its state in memory, so every start is a new account with new instance
        # ids; replacing the demo provider keeps the demo from filling up with archived hosts.
        Provider.objects.filter(tenant=tenant, name="Demo AWS account").delete()
        provider = Provider(
            tenant=tenant, name="Demo AWS account", kind=ProviderKind.AWS, sync_interval=300,
            settings={"regions": list(DEMO_REGIONS), "endpoint_url": aws_url},
        )
        provider.credentials = {"access_key_id": "demo", "secret_access_key": "demo-secret"}
        provider.save()
        return provider
