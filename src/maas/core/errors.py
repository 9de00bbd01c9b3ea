"""One exception tree for the whole of MaaS.

Services raise these; only the edges render them (the ARM envelope on the control plane, the
inference envelope on the gateway). Nothing below a router raises an HTTP exception.

    MaasError                       code, message, status, target
    ├── BadRequest           400    InvalidRequestContent, InvalidName, ...
    │   └── ValidationFailed 400    a body that does not match its schema
    ├── Unauthenticated      401    AuthenticationFailed
    ├── Forbidden            403    AuthorizationFailed
    │   └── AuthorizationFailed 403 an RBAC check refused (names the action, scope and principal)
    ├── NotFound             404    ResourceNotFound, ParentResourceNotFound
    │   └── ModalityNotSupported 404  a route the endpoint's model cannot serve
    ├── Conflict             409    Conflict, ...
    ├── PayloadTooLarge      413    RequestTooLarge
    ├── UnsupportedMediaType 415    a body that is not JSON
    ├── Unprocessable        422    UnprocessableEntity
    ├── TooManyRequests      429    a quota window is full; too many wrong keys (Retry-After)
    ├── Unavailable          503    ServiceUnavailable
    ├── OAuthError           400    the token endpoint's errors, rendered as Entra ID's
    │   ├── InvalidClient    401    invalid_client (a wrong client secret, AADSTS7000215)
    │   └── SignInThrottled  429    too many failed sign-ins for one client id
    ├── BadGateway           502    UpstreamError (an upstream model server failed)
    └── GatewayTimeout       504    UpstreamTimeout
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, ClassVar


class MaasError(Exception):
    """Base of every error MaaS raises on purpose. Each subclass has a stable HTTP status."""

    status: ClassVar[int] = 500
    default_code: ClassVar[str] = "InternalServerError"

    def __init__(
        self,
        message: str,
        *,
        code: str | None = None,
        target: str | None = None,
        details: Sequence[Mapping[str, Any]] = (),
        retry_after: int | None = None,
    ) -> None:
        super().__init__(message)
        self.retry_after = retry_after  # seconds, sent as Retry-After on 429 and 503
        self.message = message
        self.code = code or self.default_code
        self.target = target
        self.details = list(details)


class BadRequest(MaasError):
    status = 400
    default_code = "BadRequest"


class ValidationFailed(BadRequest):
    default_code = "InvalidRequestContent"


class Unauthenticated(MaasError):
    status = 401
    default_code = "AuthenticationFailed"


class Forbidden(MaasError):
    status = 403
    default_code = "AuthorizationFailed"


class AuthorizationFailed(Forbidden):
    """An RBAC check refused: carries what was asked, where and by whom, so the edge that renders
    it can record the denied attempt in the activity log."""

    def __init__(
        self, message: str, *, action: str, scope: str, principal_id: str, principal_name: str
    ) -> None:
        super().__init__(message, code="AuthorizationFailed")
        self.action = action
        self.scope = scope
        self.principal_id = principal_id
        self.principal_name = principal_name


class NotFound(MaasError):
    status = 404
    default_code = "ResourceNotFound"


class ModalityNotSupported(NotFound):
    """The endpoint's model cannot serve this route (embeddings from a chat model, say)."""

    default_code = "modality_not_supported"


class Conflict(MaasError):
    status = 409
    default_code = "Conflict"


class PayloadTooLarge(MaasError):
    status = 413
    default_code = "RequestTooLarge"


class UnsupportedMediaType(MaasError):
    status = 415
    default_code = "UnsupportedMediaType"


class Unprocessable(MaasError):
    status = 422
    default_code = "UnprocessableEntity"


class TooManyRequests(MaasError):
    status = 429
    default_code = "TooManyRequests"


class Unavailable(MaasError):
    status = 503
    default_code = "ServiceUnavailable"


class BadGateway(MaasError):
    status = 502
    default_code = "UpstreamError"


class GatewayTimeout(MaasError):
    status = 504
    default_code = "UpstreamTimeout"


class OAuthError(MaasError):
    """An OAuth 2.0 error of the token endpoint: `error` is RFC 6749's code, `aadsts` the Entra
    ID error number that clients and people search for (rendered as `AADSTS<n>: ...`)."""

    status = 400
    default_code = "invalid_request"

    def __init__(self, error: str, aadsts: int, message: str, *, retry_after: int | None = None) -> None:
        super().__init__(message, code=error, retry_after=retry_after)
        self.aadsts = aadsts


class InvalidClient(OAuthError):
    status = 401


class SignInThrottled(OAuthError):
    status = 429
