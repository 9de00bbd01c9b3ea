"""The `ml` commands that are the same for every workspace resource — `create` from a YAML file,
`show`, `list` and `delete` — written once and made for a `WorkspaceResource` (its SDK
operations, its loader and the words its help uses); and what the `ml` commands share:
`--set` overrides, entities as plain data, waiting on a poller, asking before a delete.

A resource whose operations are long-running (`begin_create_or_update`, `begin_delete`) gets
`--no-wait` on create and delete and a spinner while it waits; one whose operations are not
(connections) gets neither.

Annotations here are evaluated when a command is made (no `from __future__ import
annotations`): an option's help is the resource's, which Typer must read from the signature.
"""

import inspect
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any

import typer

from maas.cli.connection import WorkspaceScope, in_workspace
from maas.cli.options import NoWaitOpt, YesOpt
from maas.cli.output import printed, progress
from maas.sdk import LROPoller, MLClient


def as_dict(entity: Any) -> Any:
    """An SDK entity (or list of them) as plain JSON-able data."""
    if isinstance(entity, list):
        return [as_dict(item) for item in entity]
    if hasattr(entity, "as_dict"):
        return entity.as_dict()
    return entity


def set_overrides(values: list[str] | None) -> list[dict[str, Any]]:
    """`--set a.b=c` pairs as the loaders' `params_override`."""
    overrides: list[dict[str, Any]] = []
    for item in values or []:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise typer.BadParameter(f"--set takes key=value, got {item!r}")
        overrides.append({key: value})
    return overrides


def finish(poller: LROPoller[Any], no_wait: bool, doing: str) -> Any:
    """A long operation: return at once with --no-wait (None), else wait with a spinner."""
    if no_wait:
        return None
    with progress(doing):
        return poller.result()


def confirm(what: str, yes: bool) -> None:
    """Ask before deleting, as az does, when someone is at a terminal (scripts pass --yes or
    run without one)."""
    if not yes and sys.stdin.isatty() and not typer.confirm(f"Are you sure you want to delete {what}?"):
        raise typer.Exit(1)


@dataclass(frozen=True)
class WorkspaceResource:
    """One kind of workspace resource, as its `ml` commands name and reach it.

    The noun names its file and its `--name`, as azure-ai-ml and the Azure docs' files do:
    "serverless endpoint" is read from `endpoint.yml` and named by `--name` as "Endpoint name."."""

    noun: str  # "serverless endpoint": in prompts and spinners
    operations: Callable[[MLClient], Any]  # the client's operation group for this kind
    load: Callable[..., Any]  # the SDK loader: (file, params_override=...) -> entity
    set_help: str
    long_running: bool = True

    @property
    def word(self) -> str:
        """The noun's last word, which names its file and its `--name`: "endpoint"."""
        return self.noun.split()[-1]

    def create(self, client: MLClient, entity: Any, no_wait: bool) -> Any:
        operations = self.operations(client)
        if not self.long_running:
            return operations.create_or_update(entity)
        return finish(
            operations.begin_create_or_update(entity), no_wait, f"Creating {self.noun} {entity.name}"
        )

    def delete(self, client: MLClient, name: str, no_wait: bool) -> None:
        operations = self.operations(client)
        if not self.long_running:
            operations.delete(name)
            return
        finish(operations.begin_delete(name), no_wait, f"Deleting {self.noun} {name}")


def _waiting(resource: WorkspaceResource, command: Callable[..., None]) -> Callable[..., None]:
    """`command`, less its `--no-wait` when the resource's operations are not long-running."""
    if not resource.long_running:
        signature = inspect.signature(command)
        params = [p for p in signature.parameters.values() if p.name != "no_wait"]
        command.__signature__ = signature.replace(parameters=params)  # type: ignore[attr-defined]
    return command


def create_command(resource: WorkspaceResource) -> Callable[..., None]:
    file_option = typer.Option(
        "--file", "-f", exists=True, dir_okay=False, readable=True, help=f"{resource.word}.yml"
    )

    def create(
        scope: WorkspaceScope,
        file: Annotated[Path, file_option],
        name: Annotated[str | None, typer.Option("--name", "-n", help="Name (overrides the file's).")] = None,
        set_: Annotated[list[str] | None, typer.Option("--set", help=resource.set_help)] = None,
        no_wait: NoWaitOpt = False,
    ) -> Any:
        overrides = set_overrides(set_) + ([{"name": name}] if name else [])
        entity = resource.load(file, params_override=overrides)
        return as_dict(resource.create(scope.client, entity, no_wait))

    return in_workspace(printed(_waiting(resource, create)))


def show_command(resource: WorkspaceResource) -> Callable[..., None]:
    def show(
        scope: WorkspaceScope,
        name: Annotated[str, typer.Option("--name", "-n", help=f"{resource.word.capitalize()} name.")],
    ) -> Any:
        return as_dict(resource.operations(scope.client).get(name))

    return in_workspace(printed(show))


def list_command(resource: WorkspaceResource) -> Callable[..., None]:
    def list_(scope: WorkspaceScope) -> Any:
        return as_dict(list(resource.operations(scope.client).list()))

    return in_workspace(printed(list_))


def delete_command(resource: WorkspaceResource) -> Callable[..., None]:
    def delete(
        scope: WorkspaceScope,
        name: Annotated[str, typer.Option("--name", "-n", help=f"{resource.word.capitalize()} name.")],
        yes: YesOpt = False,
        no_wait: NoWaitOpt = False,
    ) -> None:
        confirm(f"{resource.noun} {name!r}", yes)
        resource.delete(scope.client, name, no_wait)

    return in_workspace(_waiting(resource, delete))
