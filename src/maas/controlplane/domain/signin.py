"""The rules of a user's interactive sign-in (OAuth 2.0 authorization code + PKCE), no I/O.

Public clients (azure-identity's `InteractiveBrowserCredential`, the Azure CLI) have no secret:
what stops a stolen code from being redeemed is PKCE (RFC 7636, S256 only: `plain` would hand
the verifier to whoever reads the redirect) and the rule that a public client's redirect URI is
a loopback address over http (RFC 8252 7.3, as Entra allows for native apps), any port.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
from datetime import timedelta
from urllib.parse import urlsplit

__all__ = [
    "AZURE_CLI_CLIENT_ID",
    "CODE_LIFETIME",
    "ID_TOKEN_SCOPES",
    "REFRESH_LIFETIME",
    "SESSION_LIFETIME",
    "STUDIO_CALLBACK",
    "STUDIO_CLIENT_ID",
    "STUDIO_HOME",
    "client_info",
    "is_loopback_redirect",
    "pkce_matches",
    "studio_uris",
    "valid_code_challenge",
]

# azure-identity's InteractiveBrowserCredential (and `az login`) use this client id by default.
AZURE_CLI_CLIENT_ID = "04b07795-8ddb-461a-bbee-02f9e1bf7b46"
# Studio (`maas.web`) is a public client of this server's own authorize endpoint, with one
# redirect URI: `{base}/studio/auth/callback` (`studio_uris`). The id is fixed, like the CLI's.
STUDIO_CLIENT_ID = "8d5f2a61-3c4e-4b7a-9e0d-57d1c0a4b2f3"
STUDIO_HOME = "/studio"
STUDIO_CALLBACK = "/studio/auth/callback"
CODE_LIFETIME = timedelta(minutes=5)
REFRESH_LIFETIME = timedelta(days=90)  # Entra's default inactivity lifetime for refresh tokens
# A browser's sign-in session (single sign-on at /authorize): a working day, then the password again.
SESSION_LIFETIME = timedelta(hours=8)
ID_TOKEN_SCOPES = frozenset({"openid", "profile", "email"})
LOOPBACK_HOSTS = frozenset({"localhost", "127.0.0.1", "::1"})
# RFC 7636 4.2: BASE64URL(SHA256(verifier)) is 43 characters; a verifier is 43-128 of these.
_CHALLENGE = re.compile(r"^[A-Za-z0-9_-]{43}$")
_VERIFIER = re.compile(r"^[A-Za-z0-9._~-]{43,128}$")


def is_loopback_redirect(uri: str) -> bool:
    """`http://localhost[:port][/path]`, or 127.0.0.1 / [::1]: no query fragment, no user info."""
    try:
        parts = urlsplit(uri)
        parts.port  # noqa: B018 - raises ValueError on a bad port
    except ValueError:
        return False
    return (
        parts.scheme == "http"
        and parts.hostname in LOOPBACK_HOSTS
        and "@" not in parts.netloc
        and not parts.fragment
        and len(uri) <= 512
    )


def studio_uris(base_url: str, path: str) -> frozenset[str]:
    """The URIs of a Studio path (`STUDIO_CALLBACK`, `STUDIO_HOME`) on this server: the public
    base URL's, and when that is a loopback address the same port on the other loopback names
    too (a browser on http://localhost:8000 must come back to localhost, where its cookies are)."""
    base = base_url.rstrip("/")
    found = {base + path}
    parts = urlsplit(base)
    if parts.scheme == "http" and parts.hostname in LOOPBACK_HOSTS:
        port = f":{parts.port}" if parts.port else ""
        for host in ("localhost", "127.0.0.1", "[::1]"):
            found.add(f"http://{host}{port}{path}")
    return frozenset(found)


def valid_code_challenge(challenge: str, method: str) -> bool:
    return method == "S256" and _CHALLENGE.fullmatch(challenge) is not None


def pkce_matches(verifier: str, challenge: str) -> bool:
    """Whether BASE64URL(SHA256(verifier)) is the challenge, compared in constant time."""
    if _VERIFIER.fullmatch(verifier) is None:
        return False
    digest = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).decode().rstrip("=")
    return hmac.compare_digest(digest.encode(), challenge.encode())


def client_info(object_id: str, tenant: str) -> str:
    """What Entra returns as `client_info` (MSAL keys its account cache on it): base64url JSON."""
    raw = json.dumps({"uid": object_id, "utid": tenant}, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")
