"""The one error the template engine raises: a template (or its parameters) is not valid.

ARM answers every such problem with code `InvalidTemplate` and a message that quotes its inner
sentence; we add the JSON path of the offending field (`resources[0].location`) as the target
and in the message, since MaaS has no line numbers to point at. One kind has its own status, as
in ARM: a template or parameters over 4 MB is a 413 `RequestContentTooLarge` (`TemplateTooLarge`).
"""

from __future__ import annotations

from maas.core.errors import BadRequest

FAILED = "Deployment template validation failed: "  # how ARM opens a template error's message


class TemplateError(BadRequest):
    default_code = "InvalidTemplate"

    def __init__(self, message: str, path: str | None = None, *, code: str | None = None) -> None:
        super().__init__(message, code=code, target=path)
        self.path = path
        self.inner = message


class TemplateTooLarge(TemplateError):
    status = 413
    default_code = "RequestContentTooLarge"


class ExpressionError(Exception):
    """A template language expression could not be evaluated; `template.py` adds where."""
