"""``manage.py sync [PROVIDER ...] [--all]``: sync providers now, with a progress bar."""

from django.core.management.base import BaseCommand, CommandError
from django.db.models import Q
from tqdm import tqdm

from portal.inventory import sync
from portal.inventory.models import Provider, SyncStatus


class Command(BaseCommand):
    help = "Sync one or more providers now (by id or name), or every enabled one with --all."

    def add_arguments(self, parser):
        parser.add_argument("providers", nargs="*", help="Provider ids or names.")
        parser.add_argument("--all", action="store_true", help="Sync every enabled provider.")

    def handle(self, *args, **options):
        providers = self._select(options["providers"], options["all"])
        failed = 0
        for provider in providers:
            run = self._sync_one(provider, show_bar=options["verbosity"] > 0)
            failed += run.status in {SyncStatus.FAILED, SyncStatus.SKIPPED}

        if failed:
            raise CommandError(f"{failed} of {len(providers)} sync(s) did not succeed.")

    def _select(self, names: list[str], everything: bool) -> list[Provider]:
        if everything == bool(names):
            raise CommandError("Name one or more providers, or pass --all (not both).")
        if everything:
            return list(Provider.objects.filter(enabled=True).order_by("pk"))

        found = []
        for name in names:
            match = Q(name=name) | (Q(pk=int(name)) if name.isdigit() else Q())
            providers = list(Provider.objects.filter(match))
            if not providers:
                raise CommandError(f"No provider has the id or name {name!r}.")
            if len(providers) > 1:
                raise CommandError(
                    f"Several providers are named {name!r} (in different tenants); use its id: "
                    + ", ".join(str(p.pk) for p in providers)
                )
            found.extend(providers)
        return found

    def _sync_one(self, provider: Provider, *, show_bar: bool):
        bar = tqdm(
            total=0, desc=provider.name, unit="scope", disable=not show_bar,
            file=self.stderr._out, leave=True,
        )

        def on_progress(run) -> None:
            bar.total = max(run.scopes_total, run.scopes_done)
            bar.n = run.scopes_done
            bar.set_postfix(hosts=run.seen, new=run.created, changed=run.updated)
            bar.refresh()

        run = sync.sync_provider(provider.pk, triggered_by="manage.py sync",
                                 on_progress=on_progress)
        bar.close()

        style = self.style.SUCCESS if run.status == SyncStatus.SUCCEEDED else self.style.WARNING
        self.stdout.write(style(
            f"{provider.name}: {run.status} — seen {run.seen}, created {run.created}, "
            f"updated {run.updated}, unchanged {run.unchanged}, archived {run.archived}"
        ))
        for scope, error in run.errors.items():
            self.stdout.write(self.style.ERROR(f"  {scope}: {error}"))
        if run.message and run.status != SyncStatus.SUCCEEDED:
            self.stdout.write(f"  {run.message}")
        return run
