"""The `ml` commands' link to the SDK: an `MLClient` for the resolved account, group and
workspace, and the SDK's errors turned into the CLI's one-line errors and exit codes."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import typer

from maas.cli import config
from maas.cli.output import fail, progress
from maas.sdk import HttpResponseError, MaasClientError, MaasTokenCredential, MLClient, ServiceRequestError


def ml_client(
    *,
    subscription: str | None,
    group: str | None,
    workspace: str | None,
    url: str | None,
    token: str | None,
) -> MLClient:
    try:
        profile = config.resolve(
            url=url, token=token, subscription=subscription, group=group, workspace=workspace
        )
    except config.ConfigError as exc:
        fail(str(exc), 2)
    if not profile.token:
        fail("no token: run `maas login`, pass --token or set MAAS_TOKEN", 2)
    missing = [
        flag
        for flag, value in (
            ("--subscription (or `maas account set`)", profile.subscription),
            ("-g/--resource-group (or `maas configure --defaults group=…`)", profile.group),
            ("-w/--workspace-name (or `maas configure --defaults workspace=…`)", profile.workspace),
        )
        if not value
    ]
    if missing:
        fail("missing " + ", ".join(missing), 2)
    assert profile.subscription is not None
    return MLClient(
        MaasTokenCredential(profile.token),
        profile.subscription,
        profile.group,
        profile.workspace,
        base_url=profile.url,
        verify=profile.verify,
    )


def finish(poller: Any, no_wait: bool, doing: str) -> Any:
    """A long operation: return at once with --no-wait (None), else wait with a spinner."""
    if no_wait:
        return None
    with progress(doing):
        return poller.result()


@contextmanager
def sdk_errors() -> Iterator[None]:
    """Server errors exit 1, bad files and arguments exit 2; each is one line on stderr."""
    try:
        yield
    except HttpResponseError as exc:
        where = f" [target: {exc.target}]" if exc.target else ""
        fail(f"({exc.code}) {exc.message}{where}")
    except ServiceRequestError as exc:
        fail(f"cannot reach MaaS: {exc}")
    except MaasClientError as exc:
        fail(str(exc), 2)


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


def confirm(what: str, yes: bool) -> None:
    """Ask before deleting, as az does, when someone is at a terminal (scripts pass --yes or
    run without one)."""
    if not yes and sys.stdin.isatty() and not typer.confirm(f"Are you sure you want to delete {what}?"):
        raise typer.Exit(1)
