"""How commands print: `-o json|table|yaml|tsv` after an optional JMESPath `--query`, as `az`
does; errors as one `ERROR: (Code) message` line on stderr; a spinner on stderr while a long
operation runs.

Exit codes: 1 when the server (or the network) refused, 2 for usage errors (bad flags, bad
files). Nothing is printed on stdout when a command fails.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, NoReturn

import jmespath
import jmespath.exceptions
import typer
import yaml
from rich.console import Console
from rich.table import Table

FORMATS = ("json", "table", "yaml", "tsv")


def fail(message: str, code: int = 1) -> NoReturn:
    typer.echo(f"ERROR: {message}", err=True)
    raise typer.Exit(code)


def warn(message: str) -> None:
    typer.echo(f"WARNING: {message}", err=True)


def apply_query(value: Any, query: str | None) -> Any:
    if not query:
        return value
    try:
        return jmespath.search(query, value)
    except jmespath.exceptions.JMESPathError as exc:
        fail(f"--query: invalid JMESPath expression {query!r}: {exc}", 2)


def _scalar(value: Any) -> bool:
    return value is None or isinstance(value, str | int | float | bool)


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "True" if value else "False"
    return str(value)


def _rows(value: Any) -> list[Any]:
    if isinstance(value, list):
        return value
    return [] if value is None else [value]


def _tsv(value: Any) -> str:
    # Like az: one line per item; a dict's scalar values in key order, nested values left out.
    lines = []
    for item in _rows(value):
        if isinstance(item, dict):
            lines.append("\t".join(_text(v) for v in item.values() if _scalar(v)))
        elif isinstance(item, list):
            lines.append("\t".join(_text(v) for v in item if _scalar(v)))
        else:
            lines.append(_text(item))
    return "\n".join(lines)


def _table(value: Any) -> None:
    rows = _rows(value)
    table = Table(show_edge=False, box=None, header_style="bold")
    if rows and all(isinstance(row, dict) for row in rows):
        columns: list[str] = []
        for row in rows:
            for key, cell in row.items():
                if _scalar(cell) and key not in columns:
                    columns.append(key)
        for column in columns:
            table.add_column(column[:1].upper() + column[1:])
        for row in rows:
            table.add_row(*(_text(row.get(column)) for column in columns))
    else:
        table.add_column("Result")
        for row in rows:
            table.add_row(_text(row) if _scalar(row) else json.dumps(row))
    Console(width=200, soft_wrap=True).print(table)


def emit(value: Any, output: str = "json", query: str | None = None) -> None:
    """Print a command's result in the chosen format."""
    value = apply_query(value, query)
    if output == "json":
        typer.echo(json.dumps(value, indent=2, default=str))
    elif output == "yaml":
        if _scalar(value):  # PyYAML ends a bare scalar with a "..." document marker
            typer.echo(_text(value))
        else:
            typer.echo(yaml.safe_dump(value, sort_keys=False, default_flow_style=False).rstrip("\n"))
    elif output == "tsv":
        text = _tsv(value)
        if text:
            typer.echo(text)
    elif output == "table":
        _table(value)
    else:
        fail(f"-o/--output: choose one of {', '.join(FORMATS)}", 2)


@contextmanager
def progress(message: str) -> Iterator[None]:
    """A spinner on stderr while a long operation runs (silent when stderr is not a terminal)."""
    console = Console(stderr=True)
    if not console.is_terminal:
        yield
        return
    with console.status(message):
        yield
