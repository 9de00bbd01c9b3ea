"""The shipped models' catalog entries: the chat model states its context window (the gateway
refuses a request that can never fit it with a 400, whatever the quota holds), and an install
made before the window was stated gets it on its next start."""

from __future__ import annotations

from maas.controlplane.services.context import Services
from maas.controlplane.store.database import Database
from maas.controlplane.store.repository import Repository
from maas.core.crypto import Vault
from maas.core.ids import model_version_resource_id
from maas.core.settings import Settings
from maas.server.defaults import REGISTRY, install_default_models

CHAT = model_version_resource_id(REGISTRY, "maas-tiny-chat", "1")


def _context_length(services: Services) -> int | None:
    with services.db.read() as connection:
        chat = Repository(connection).get(CHAT)
    assert chat is not None
    return chat.properties.get("contextLength")


def test_the_shipped_chat_model_states_its_context_window(settings: Settings) -> None:
    database = Database(settings.resolved_database_url)
    database.migrate()
    services = Services(db=database, vault=Vault("k" * 32), settings=settings)
    try:
        assert install_default_models(services)
        assert _context_length(services) == 512
        # an install from before contextLength was stated
        with services.db.write() as connection:
            repo = Repository(connection)
            chat = repo.get(CHAT, for_update=True)
            assert chat is not None
            del chat.properties["contextLength"]
            repo.save(chat)
        assert _context_length(services) is None
        assert not install_default_models(services)  # installed already: only the window is added
        assert _context_length(services) == 512
    finally:
        database.dispose()
