"""`--help` of every `maas` command and group exits 0 and prints its usage. The command tree is
walked through Click, so a new command is covered without editing this test."""

from __future__ import annotations

from typing import Any

import pytest
import typer.main
from typer.testing import CliRunner

from maas.cli.main import app


def paths(command: Any, prefix: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    # Typer's groups are Click groups (typer may vendor Click, so look for `.commands`).
    found = [prefix]
    if isinstance(getattr(command, "commands", None), dict):
        for name, sub in sorted(command.commands.items()):
            found.extend(paths(sub, (*prefix, name)))
    return found


ALL = paths(typer.main.get_command(app))


def test_the_tree_has_the_az_shaped_commands() -> None:
    names = {" ".join(path) for path in ALL}
    for expected in (
        "login",
        "logout",
        "configure",
        "account set",
        "account show",
        "ml marketplace-subscription create",
        "ml serverless-endpoint regenerate-keys",
        "ml connection create",
        "serverless-endpoint get-credentials",
        "deployment group create",
        "resource list",
        "resource delete",
        "role assignment create",
        "role assignment list",
        "role definition create",
        "role definition list",
        "role definition show",
        "role definition update",
        "role definition delete",
        "model add",
        "quota set",
        "quota request create",
        "quota request approve",
        "usage show",
        "monitor activity-log list",
        "serve",
    ):
        assert expected in names


@pytest.mark.parametrize("path", ALL, ids=lambda path: " ".join(path) or "maas")
def test_help_exits_zero(path: tuple[str, ...]) -> None:
    result = CliRunner().invoke(app, [*path, "--help"])
    assert result.exit_code == 0, result.output
    assert "Usage:" in result.output
