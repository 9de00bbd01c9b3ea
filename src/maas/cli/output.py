"""How commands print: `-o json|table|yaml|tsv` after an optional JMESPath `--query`, as `az`
does; errors as one `ERROR: (Code) message` line on stderr; a spinner on stderr while a long
operation runs.

Tables follow az's: one column per scalar field (ids, types, etags and columns empty in every row
left out unless `--query` picks them), cells never truncated (a wide table overflows the
terminal rather than cut a Target URI someone copies), and nothing at all for an empty result.

Exit codes: 1 when the server (or the network) refused, 2 for usage errors (bad flags, bad
files). Nothing is printed on stdout when a command fails.

`@printed` gives a command `-o/--output` and `--query` and prints what it returns;
`@printed_with(table)` does so for a command that draws its own table (quota, pools); commands
with their own rendering of every format (usage) declare the options themselves.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, NoReturn

import jmespath
import jmespath.exceptions
import typer
import yaml
from rich.console import Console
from rich.table import Table

from maas.cli.options import OutputOpt, QueryOpt
from maas.cli.signatures import add_options, option

FORMATS = ("json", "table", "yaml", "tsv")


def fail(message: str, code: int = 1) -> NoReturn:
    typer.echo(f"ERROR: {message}", err=True)
    raise typer.Exit(code)


def required(value: str | None, message: str) -> str:
    """A value the command cannot go without (from its flag or the defaults); a usage error
    naming where to give it when it is missing."""
    if not value:
        fail(message, 2)
    return value


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


# As az's table output (knack): ARM ids, types and etags are left out of the default columns,
# and so is a column that is empty in every row; `--query` picks columns explicitly (and, unlike
# az, keeps an `id` it picked).
SKIPPED_COLUMNS = ("id", "type", "etag")


def _empty(cell: Any) -> bool:
    return cell is None or cell == ""


def _table(value: Any, *, queried: bool) -> None:
    rows = _rows(value)
    if not rows:
        return  # as az: an empty result prints nothing, not a bare header
    table = Table(show_edge=False, box=None, pad_edge=False, header_style="bold")
    if all(isinstance(row, dict) for row in rows):
        columns: list[str] = []
        for row in rows:
            for key, cell in row.items():
                if key in columns or not _scalar(cell) or _empty(cell):
                    continue
                if not queried and key in SKIPPED_COLUMNS:
                    continue
                columns.append(key)
        if not columns:
            return
        for column in columns:
            # Cells are never cut or folded: a Target URI or a name is copied whole from the
            # table, so a wide row overflows the terminal (which wraps it) as az's does.
            table.add_column(column[:1].upper() + column[1:], no_wrap=True, overflow="ignore")
        for row in rows:
            table.add_row(*(_text(row.get(column)) for column in columns))
    else:
        table.add_column("Result", no_wrap=True, overflow="ignore")
        for row in rows:
            table.add_row(_text(row) if _scalar(row) else json.dumps(row))
    # A console wider than any table, so the table keeps its natural width whatever $COLUMNS says.
    console = Console(width=100_000, soft_wrap=True)
    with console.capture() as captured:
        console.print(table)
    typer.echo("\n".join(line.rstrip() for line in captured.get().splitlines()))


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
        _table(value, queried=bool(query))
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


OUTPUT_OPTIONS = (option("output", OutputOpt, "json"), option("query", QueryOpt))
TABLE_OUTPUT_OPTIONS = (option("output", OutputOpt, "table"), option("query", QueryOpt))


def printed(command: Callable[..., Any]) -> Callable[..., None]:
    """The command with `-o/--output` (json by default) and `--query` after its own options;
    what it returns is printed in that format, and nothing when it returns None (`--no-wait`)."""

    def run(*args: Any, output: str = "json", query: str | None = None, **kwargs: Any) -> None:
        result = command(*args, **kwargs)
        if result is not None:
            emit(result, output, query)

    return add_options(run, command, OUTPUT_OPTIONS)


def printed_with(table: Callable[[Any], None]) -> Callable[[Callable[..., Any]], Callable[..., None]]:
    """`@printed` for a command that draws its own table: `-o` is a table by default, drawn by
    `table` unless `--query` picks from the result; the other formats print as `@printed`'s."""

    def decorate(command: Callable[..., Any]) -> Callable[..., None]:
        def run(*args: Any, output: str = "table", query: str | None = None, **kwargs: Any) -> None:
            result = command(*args, **kwargs)
            if output == "table" and not query:
                table(result)
            else:
                emit(result, output, query)

        return add_options(run, command, TABLE_OUTPUT_OPTIONS)

    return decorate
