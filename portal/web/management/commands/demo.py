"""``manage.py demo``: the embedded-default demo, from an empty database to a browsable portal.

It starts three local stand-ins for the estate (nothing leaves this machine, no credentials
are needed):

- a moto server playing an AWS account: two regions, a few dozen tagged instances;
- the project's OpenStack simulator: two regions, two projects, hypervisors, servers and
  Ironic nodes;
- sushy-tools' Redfish emulator playing the BMC of a rack of bare-metal servers;

then creates the demo tenant, its users and one provider per stand-in, syncs each once,
starts the built-in scheduler and serves the portal. It refuses to run unless PORTAL_DEMO is
on, so demo logins never reach a real portal.
"""

import contextlib
import logging
import signal
import sys

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
from providers.simulators import openstack as openstack_simulator
from providers.simulators import redfish as redfish_simulator

logger = logging.getLogger(__name__)

DEMO_REGIONS = ("eu-west-1", "us-east-1")
DEMO_AWS = "Demo AWS account"
DEMO_OPENSTACK = "Demo OpenStack cloud"
DEMO_RACK = "Demo rack A"
DEMO_RACK_SIZE = 8
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
            "--openstack-port", type=int, default=5056,
            help="Port of the local OpenStack simulator.",
        )
        parser.add_argument(
            "--redfish-port", type=int, default=5057,
            help="Port of the local Redfish emulator (the demo rack's BMC).",
        )
        parser.add_argument(
            "--no-serve", action="store_true", help="Set the demo up and exit (no web server)."
        )

    def handle(self, *args, **options):
        if not settings.PORTAL_DEMO:
            raise CommandError("The demo runs only with PORTAL_DEMO=1 (it creates demo logins).")

        with contextlib.ExitStack() as stack:
            server, aws_url = aws_simulator.start_moto(port=options["aws_port"])
            stack.callback(aws_simulator.stop_moto, server)
            aws_simulator.seed_demo_estate(aws_url, regions=DEMO_REGIONS)

            cloud = stack.enter_context(
                openstack_simulator.OpenStackSimulator(port=options["openstack_port"])
            )
            openstack_simulator.seed_demo_cloud(cloud)

            try:
                bmc = redfish_simulator.start_emulator(
                    redfish_simulator.demo_rack(DEMO_RACK_SIZE), port=options["redfish_port"]
                )
            except redfish_simulator.SimulatorError as exc:
                raise CommandError(
                    f"The demo rack's Redfish emulator did not start: {exc}"
                ) from exc
            stack.callback(bmc.stop)

            providers = self._seed_database(aws_url, cloud, bmc.url)
            for provider in providers:
                run = sync.sync_provider(provider.pk, triggered_by="demo start")
                self.stdout.write(
                    f"{provider.name} synced: {run.status}, {run.seen} hosts "
                    f"({run.created} new, {run.archived} archived)."
                )
            if options["no_serve"]:
                return

            if settings.PORTAL_EMBEDDED_SCHEDULER:
                scheduler.start()
            self.stdout.write(self.style.SUCCESS(
                f"\n  Portal: http://{options['addrport']}/   log in as demo / demo "
                "(demo mode only)\n  API docs: /api/docs/"
                f"\n  Simulated AWS: {aws_url}   OpenStack: {cloud.auth_url}   "
                f"Redfish BMC: {bmc.url}\n"
            ))
            # A plain SIGTERM would end the process without unwinding, leaving the Redfish
            # emulator (a child process) running; exiting through SystemExit stops it.
            signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
            # No autoreloader: it would restart the process and lose the simulators.
            call_command("runserver", options["addrport"], "--noreload")

    @transaction.atomic
    def _seed_database(self, aws_url: str, cloud, bmc_url: str) -> list[Provider]:
        tenant, _ = Tenant.objects.get_or_create(slug="demo", defaults={"name": "Demo"})
        users = get_user_model()
        for username, password, role in DEMO_USERS:
            user, created = users.objects.get_or_create(username=username)
            if created:
                user.set_password(password)
                user.save()
            Membership.objects.update_or_create(user=user, tenant=tenant,
                                                defaults={"role": role})

        # The simulators keep their state in memory, so every start is a new estate with new
        # ids; replacing the demo providers keeps the demo from filling up with archived hosts.
        Provider.objects.filter(
            tenant=tenant, name__in=[DEMO_AWS, DEMO_OPENSTACK, DEMO_RACK]
        ).delete()
        cloud_settings, cloud_credentials = openstack_simulator.demo_settings(cloud)
        specs = [
            (DEMO_AWS, ProviderKind.AWS,
             {"regions": list(DEMO_REGIONS), "endpoint_url": aws_url},
             {"access_key_id": "demo", "secret_access_key": "demo-secret"}),
            (DEMO_OPENSTACK, ProviderKind.OPENSTACK, cloud_settings, cloud_credentials),
            # sushy-tools' emulator plays one BMC that manages the whole rack, as a chassis
            # manager does; real racks usually list one BMC per server.
            (DEMO_RACK, ProviderKind.REDFISH,
             {"bmcs": [{"name": "rack-a-cmc", "url": bmc_url}], "power_timeout": 30}, {}),
        ]
        providers = []
        for name, kind, provider_settings, credentials in specs:
            provider = Provider(tenant=tenant, name=name, kind=kind, sync_interval=300,
                                settings=provider_settings)
            provider.credentials = credentials
            provider.save()
            providers.append(provider)
        return providers
