"""`@printed`: `-o/--output` and `--query` come after a command's own options, what the command
returns is printed in that format, and a None result (`--no-wait`) prints nothing."""

from __future__ import annotations

import json
from typing import Annotated, Any

import typer
from typer.testing import CliRunner

from maas.cli.output import printed, printed_with

app = typer.Typer()


@app.command("get")
@printed
def get(
    name: Annotated[str, typer.Option("--name")], skip: Annotated[bool, typer.Option("--skip")] = False
) -> Any:
    """Returns a value, or None when told to skip."""
    return None if skip else {"name": name, "size": 2}


@app.command("other")
def other() -> None:
    """Keeps the app a group."""


def test_the_options_follow_the_commands_own() -> None:
    command = typer.main.get_command(app).commands["get"]  # type: ignore[attr-defined]
    assert [param.opts[0] for param in command.params] == ["--name", "--skip", "--output", "--query"]


def test_the_result_is_printed_in_the_chosen_format() -> None:
    runner = CliRunner()
    assert json.loads(runner.invoke(app, ["get", "--name", "a"]).stdout) == {"name": "a", "size": 2}
    assert runner.invoke(app, ["get", "--name", "a", "-o", "tsv"]).stdout == "a\t2\n"
    assert runner.invoke(app, ["get", "--name", "a", "--query", "size", "-o", "yaml"]).stdout == "2\n"


def test_none_prints_nothing() -> None:
    result = CliRunner().invoke(app, ["get", "--name", "a", "--skip"])
    assert result.exit_code == 0 and result.stdout == ""


drawn = typer.Typer()


@drawn.command("get")
@printed_with(lambda rows: typer.echo(f"{len(rows)} rows"))
def get_rows(name: Annotated[str, typer.Option("--name")]) -> Any:
    """Draws its own table."""
    return [{"name": name}]


@drawn.command("other")
def other_rows() -> None:
    """Keeps the app a group."""


def test_printed_with_draws_its_table_by_default_and_prints_the_rest_as_printed() -> None:
    runner = CliRunner()
    assert runner.invoke(drawn, ["get", "--name", "a"]).stdout == "1 rows\n"
    assert json.loads(runner.invoke(drawn, ["get", "--name", "a", "-o", "json"]).stdout) == [{"name": "a"}]
    # a --query picks from the result, so the generic table prints what it picked
    assert runner.invoke(drawn, ["get", "--name", "a", "--query", "[0].name"]).stdout == "Result\na\n"
