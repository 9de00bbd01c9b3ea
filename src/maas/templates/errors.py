"""The one error the template engine raises: a template (or its parameters) is not valid.

ARM answers every such problem with code `InvalidTemplate` and a message that quotes its inner
sentence; we add the JSON path of the offending field (`resources[0].location`) as the target
and in the message, since MaaS has no line numbers to point at.
"""

from __future__ import annotations

from maas.core.errors import BadRequest


class TemplateError(BadRequest):
    default_code = "InvalidTemplate"

    def __init__(self, message: str, path: str | None = None, *, code: str | None = None) -> None:
        super().__init__(message, code=code, target=path)
        self.path = path
        self.inner = message


class ExpressionError(Exception):
    """A template language expression could not be evaluated; `template.py` adds where."""
