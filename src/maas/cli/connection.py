"""The one place a command gets its server: `--url` and `--token` are declared here once, and
`@connected` adds them to a command; `@in_workspace` adds `--subscription`, `-g` and `-w` too,
for the `ml` commands.

A connected command is called with a `Connection`: the flags resolved once, as every command
resolves them (flag, then `MAAS_URL`/`MAAS_TOKEN`/`MAAS_CA_BUNDLE`, then `maas login`'s config),
and the SDK clients over it (`ArmClient`, `MLClient`, `CostManagementClient`, `QuotaClient`),
made when first asked for and closed when the command ends. Whatever SDK error the command lets
out becomes the one error line of `maas.cli.errors` and its exit code.

The options keep the places they have in `--help`: the workspace's before `--output`, the
connection's last.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from typing import Any

from maas.cli import config
from maas.cli.errors import sdk_errors
from maas.cli.options import GroupOpt, SubOpt, TokenOpt, UrlOpt, WorkspaceOpt
from maas.cli.output import fail
from maas.cli.signatures import add_options, option
from maas.sdk import ArmClient, CostManagementClient, MaasTokenCredential, MLClient, QuotaClient

#: The longest wait between two polls of a long-running operation, whatever `Retry-After` says.
MAX_POLL_S = 5.0
NO_TOKEN = "no token: run `maas login`, pass --token or set MAAS_TOKEN"


class Connection:
    """The server one command talks to, and the SDK clients it made for it."""

    def __init__(self, url: str | None, token: str | None, clients: ExitStack) -> None:
        self._url, self._token = url, token
        self._profile: config.Profile | None = None
        self._clients = clients  # closes every client made here when the command ends
        self._arm: ArmClient | None = None

    @classmethod
    @contextmanager
    def opened(cls, url: str | None = None, token: str | None = None) -> Iterator[Connection]:
        """A connection whose clients are closed when the `with` block ends."""
        with ExitStack() as clients:
            yield cls(url, token, clients)

    @property
    def profile(self) -> config.Profile:
        """The flags with the environment and the config file's values (read once)."""
        if self._profile is None:
            try:
                self._profile = config.resolve(url=self._url, token=self._token)
            except config.ConfigError as exc:
                fail(str(exc), 2)
        return self._profile

    def _credential(self) -> MaasTokenCredential:
        if not self.profile.token:
            fail(NO_TOKEN, 2)
        return MaasTokenCredential(self.profile.token)

    def arm(self) -> ArmClient:
        """The generic client, for ARM paths no typed client covers."""
        if self._arm is None:
            profile, credential = self.profile, self._credential()
            client = ArmClient(credential, profile.url, verify=profile.verify, polling_interval=MAX_POLL_S)
            self._arm = self._clients.enter_context(client)
        return self._arm

    def ml(self, subscription: str | None, group: str | None, workspace: str | None) -> MLClient:
        """An `MLClient` for a workspace: each of the three from its flag or the defaults, and
        every one that is missing named in one usage error."""
        credential, profile = self._credential(), self.profile
        subscription, group = subscription or profile.subscription, group or profile.group
        workspace = workspace or profile.workspace
        missing = [
            flag
            for flag, value in (
                ("--subscription (or `maas account set`)", subscription),
                ("-g/--resource-group (or `maas configure --defaults group=…`)", group),
                ("-w/--workspace-name (or `maas configure --defaults workspace=…`)", workspace),
            )
            if not value
        ]
        if missing:
            fail("missing " + ", ".join(missing), 2)
        assert subscription is not None
        client = MLClient(
            credential,
            subscription,
            group,
            workspace,
            base_url=profile.url,
            verify=profile.verify,
            polling_interval=MAX_POLL_S,
        )
        return self._clients.enter_context(client)

    def costs(self) -> CostManagementClient:
        """The Cost Management client."""
        credential, profile = self._credential(), self.profile
        return self._clients.enter_context(
            CostManagementClient(credential, profile.url, verify=profile.verify)
        )

    def quota(self) -> QuotaClient:
        """The quota client (a deployment's quota and the requests to raise it)."""
        credential, profile = self._credential(), self.profile
        return self._clients.enter_context(QuotaClient(credential, profile.url, verify=profile.verify))


class WorkspaceScope:
    """An `ml` command's workspace: its `MLClient` is made (and the scope checked) when the
    command first asks for it, after the command has read and checked its own input."""

    def __init__(
        self, connection: Connection, subscription: str | None, group: str | None, workspace: str | None
    ) -> None:
        self._connection = connection
        self._scope = (subscription, group, workspace)
        self._client: MLClient | None = None

    @property
    def client(self) -> MLClient:
        if self._client is None:
            self._client = self._connection.ml(*self._scope)
        return self._client


CONNECTION_OPTIONS = (option("url", UrlOpt), option("token", TokenOpt))
WORKSPACE_OPTIONS = (
    option("subscription", SubOpt),
    option("resource_group", GroupOpt),
    option("workspace_name", WorkspaceOpt),
)


def connected(command: Callable[..., None]) -> Callable[..., None]:
    """The command with `--url` and `--token`, called with the `Connection` they name; SDK
    errors it lets out become the CLI's one error line."""

    def run(*args: Any, url: str | None = None, token: str | None = None, **kwargs: Any) -> None:
        with Connection.opened(url, token) as connection, sdk_errors():
            command(connection, *args, **kwargs)

    return add_options(run, command, CONNECTION_OPTIONS, drop_first=True)


def in_workspace(command: Callable[..., None]) -> Callable[..., None]:
    """A connected command with `--subscription`, `-g` and `-w` (before `--output`), called
    with the `WorkspaceScope` they name."""

    def run(
        connection: Connection,
        *args: Any,
        subscription: str | None = None,
        resource_group: str | None = None,
        workspace_name: str | None = None,
        **kwargs: Any,
    ) -> None:
        command(WorkspaceScope(connection, subscription, resource_group, workspace_name), *args, **kwargs)

    return connected(add_options(run, command, WORKSPACE_OPTIONS, before="output"))
