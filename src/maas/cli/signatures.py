"""Options that many commands share, added to a command's signature by a decorator rather than
written in every command: Typer reads a command's options from its signature, so a decorator
that adds options gives its wrapper the command's signature plus theirs.

The decorators that use this (`@printed`, `@connected`, `@in_workspace`) pass the options they
add by keyword and hand the command the rest, so the command sees only its own.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable, Sequence
from typing import Any

REQUIRED = inspect.Parameter.empty  # the default of an option that must be given


def option(name: str, annotation: Any, default: Any = None) -> inspect.Parameter:
    """A shared option, as a keyword-only parameter (`annotation` is its Typer `Annotated`)."""
    return inspect.Parameter(name, inspect.Parameter.KEYWORD_ONLY, default=default, annotation=annotation)


def add_options(
    wrapper: Callable[..., Any],
    command: Callable[..., Any],
    options: Sequence[inspect.Parameter],
    *,
    drop_first: bool = False,
    before: str | None = None,
    after: str | None = None,
) -> Callable[..., None]:
    """`wrapper`, which calls `command`, with the signature Typer will read: `command`'s, less
    its first parameter when `drop_first` (the wrapper supplies it), with `options` put before
    the parameter named `before`, or after the one named `after` (or last)."""
    params = list(inspect.signature(command, eval_str=True).parameters.values())
    if drop_first:
        params = params[1:]
    names = [p.name for p in params]
    if after in names:
        at = names.index(after) + 1
    elif before in names:
        at = names.index(before)
    else:
        at = len(params)
    # Typer passes every option by keyword: those after an added option become keyword-only.
    later = [p.replace(kind=inspect.Parameter.KEYWORD_ONLY) for p in params[at:]]
    visible = [*params[:at], *options, *later]
    functools.update_wrapper(wrapper, command)
    wrapper.__signature__ = inspect.Signature(visible, return_annotation=None)  # type: ignore[attr-defined]
    wrapper.__annotations__ = {p.name: p.annotation for p in visible}
    return wrapper
