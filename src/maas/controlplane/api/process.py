"""The control plane's per-process context: built once when the app starts, found by routes as
`app.state.process` (`deps.process_of`)."""

from __future__ import annotations

from dataclasses import dataclass

from maas.controlplane.reconciler.endpoints import EndpointHandler
from maas.controlplane.reconciler.loop import Reconciler
from maas.controlplane.services.context import Services
from maas.controlplane.store.database import Database
from maas.core.crypto import Vault
from maas.core.errors import MaasError
from maas.core.ids import ENDPOINT_TYPE
from maas.core.settings import Settings
from maas.serving.pool.base import Pools


def build_services(settings: Settings) -> Services:
    if settings.secret is None:
        raise MaasError("No server secret: set MAAS_SECRET or start through `maas serve`.", code="NoSecret")
    database = Database(settings.resolved_database_url)
    database.migrate()
    return Services(db=database, vault=Vault(settings.secret.get_secret_value()), settings=settings)


@dataclass
class ControlProcess:
    """The control plane's per-process objects: the services (store, vault, settings, change
    notices) and the reconciler thread. `maas serve` builds a larger context around these
    (`maas.server.process`); the routes see only what this type names."""

    services: Services
    reconciler: Reconciler

    def pools(self) -> Pools | None:
        """The serverless pools this process runs, if it runs any (the operator's pool routes)."""
        return None


def open_control_process(settings: Settings) -> ControlProcess:
    services = build_services(settings)
    reconciler = Reconciler(services, {ENDPOINT_TYPE: EndpointHandler()})
    services.wake_reconciler = reconciler.wake
    return ControlProcess(services, reconciler)
