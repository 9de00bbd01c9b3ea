"""`@connected` and `@in_workspace`: the shared options are declared once and land where `--help`
has always shown them; the flags, the environment and the config file resolve as before; a
missing token or scope is a usage error."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import pytest
import typer
from typer.testing import CliRunner

from maas.cli.connection import Connection, WorkspaceScope, connected, in_workspace
from maas.cli.options import OutputOpt, QueryOpt

NameOpt = Annotated[str, typer.Option("--name", "-n")]
app = typer.Typer()
seen: dict[str, object] = {}


@app.command("plain")
@connected
def plain(connection: Connection, name: NameOpt, output: OutputOpt = "json", query: QueryOpt = None) -> None:
    """A connected command."""
    seen["url"] = connection.profile.url
    connection.arm()


@app.command("scoped")
@in_workspace
def scoped(scope: WorkspaceScope, name: NameOpt, output: OutputOpt = "json") -> None:
    """A workspace command."""
    seen["workspace"] = scope.client.workspace_name


@app.command("other")
def other() -> None:
    """Keeps the app a group."""


@pytest.fixture(autouse=True)
def clean(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("MAAS_URL", "MAAS_TOKEN", "MAAS_ADMIN_TOKEN", "MAAS_SUBSCRIPTION", "MAAS_RESOURCE_GROUP"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.delenv("MAAS_WORKSPACE", raising=False)
    monkeypatch.setenv("MAAS_CONFIG_DIR", str(tmp_path))
    seen.clear()


def options(command: str) -> list[str]:
    click_command = typer.main.get_command(app).commands[command]  # type: ignore[attr-defined]
    return [param.opts[0] for param in click_command.params]


def test_the_shared_options_are_added_in_their_places() -> None:
    assert options("plain") == ["--name", "--output", "--query", "--url", "--token"]
    assert options("scoped") == [
        "--name",
        "--subscription",
        "--resource-group",
        "--workspace-name",
        "--output",
        "--url",
        "--token",
    ]


def test_flags_resolve_and_the_body_gets_the_connection() -> None:
    result = CliRunner().invoke(app, ["plain", "-n", "x", "--url", "http://maas.test/", "--token", "t"])
    assert result.exit_code == 0, result.output
    assert seen["url"] == "http://maas.test"


def test_a_missing_token_is_a_usage_error_line(monkeypatch: pytest.MonkeyPatch) -> None:
    result = CliRunner().invoke(app, ["plain", "-n", "x"])
    assert result.exit_code == 2
    assert result.stderr.startswith("ERROR: no token: run `maas login`")


def test_a_workspace_command_names_what_is_missing() -> None:
    result = CliRunner().invoke(app, ["scoped", "-n", "x", "--token", "t", "-g", "rg"])
    assert result.exit_code == 2
    assert "--subscription" in result.stderr and "-w/--workspace-name" in result.stderr
    assert "-g/--resource-group" not in result.stderr
    ok = CliRunner().invoke(app, ["scoped", "-n", "x", "--token", "t", "-s", "s", "-g", "rg", "-w", "ws"])
    assert ok.exit_code == 0, ok.output
    assert seen["workspace"] == "ws"
