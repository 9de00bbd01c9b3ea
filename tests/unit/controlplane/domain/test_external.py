"""Trusting an external issuer, the pure parts: the configuration (settings and MAAS_* variables),
the URL rule, the keys a JWKS yields, the token checks, and the principal a token names."""

from __future__ import annotations

import time
from functools import cache
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from pydantic import ValidationError

from maas.controlplane.domain.external import (
    IssuerError,
    TrustedIssuer,
    identity_of,
    jwks_uri_of,
    keys_of,
    signing_header,
    verify_external,
)
from maas.controlplane.domain.resources import PrincipalType
from maas.controlplane.domain.tokens import InvalidAccessToken
from maas.core.netpolicy import refused_url
from maas.core.settings import Settings

ENTRA = "https://login.microsoftonline.com/72f988bf-86f1-41af-91ab-2d7cd011db47/v2.0"
TENANT = "72f988bf-86f1-41af-91ab-2d7cd011db47"


def _trusted(**settings: Any) -> TrustedIssuer:
    found = TrustedIssuer.from_settings(Settings(**settings))
    assert found is not None
    return found


# -- configuration ----------------------------------------------------------------------------
def test_off_unless_an_issuer_is_named(monkeypatch: pytest.MonkeyPatch) -> None:
    assert TrustedIssuer.from_settings(Settings()) is None
    monkeypatch.setenv("MAAS_TRUSTED_ISSUER", "  ")
    assert TrustedIssuer.from_settings(Settings()) is None


def test_defaults_for_an_issuer() -> None:
    trusted = _trusted(trusted_issuer=ENTRA)
    assert trusted.issuer == ENTRA
    assert trusted.audiences == ("https://management.azure.com", "https://management.azure.com/")
    assert trusted.metadata_url == ENTRA + "/.well-known/openid-configuration"
    assert trusted.principal_claim is None and trusted.tenant is None
    assert trusted.timeout == 5.0 and trusted.secure


def test_settings_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MAAS_TRUSTED_ISSUER", f"https://sts.windows.net/{TENANT}/")
    monkeypatch.setenv("MAAS_TRUSTED_AUDIENCE", "https://management.core.windows.net/, api://maas ,")
    monkeypatch.setenv("MAAS_TRUSTED_PRINCIPAL_CLAIM", "sub")
    monkeypatch.setenv("MAAS_TRUSTED_TENANT", TENANT)
    monkeypatch.setenv("MAAS_TRUSTED_ISSUER_TIMEOUT", "2.5")
    trusted = _trusted()
    assert trusted.issuer == f"https://sts.windows.net/{TENANT}/"  # kept exactly: iss must match it
    assert trusted.metadata_url == f"https://sts.windows.net/{TENANT}/.well-known/openid-configuration"
    assert trusted.audiences == (
        "https://management.core.windows.net",
        "https://management.core.windows.net/",
        "api://maas",
        "api://maas/",
    )
    assert (trusted.principal_claim, trusted.tenant, trusted.timeout) == ("sub", TENANT, 2.5)


def test_a_discovery_url_of_its_own() -> None:
    url = "https://keycloak.example/realms/r/.well-known/openid-configuration?x=1"
    trusted = _trusted(trusted_issuer="http://127.0.0.1:8080/realms/r", trusted_issuer_metadata_url=url)
    assert trusted.metadata_url == url and trusted.secure  # its keys must come over HTTPS too
    local = _trusted(trusted_issuer="http://127.0.0.1:8080/realms/r")
    assert local.metadata_url == "http://127.0.0.1:8080/realms/r/.well-known/openid-configuration"
    assert not local.secure


@pytest.mark.parametrize(
    ("settings", "words"),
    [
        ({"trusted_issuer": "ftp://issuer.example"}, "not an http or https URL"),
        ({"trusted_issuer": "issuer.example"}, "not an http or https URL"),
        ({"trusted_issuer": "https://"}, "no host"),
        ({"trusted_issuer": "http://169.254.169.254/v2.0"}, "metadata"),
        ({"trusted_issuer": "http://metadata.google.internal/"}, "metadata"),
        ({"trusted_issuer": "https://u:p@issuer.example/"}, "user information"),
        ({"trusted_issuer": "https://issuer.example/?tenant=x"}, "no query string"),
        ({"trusted_issuer": "https://issuer.example/#x"}, "fragment"),
        ({"trusted_issuer": ENTRA, "trusted_issuer_metadata_url": "http://[fe80::1]/x"}, "link-local"),
        ({"trusted_issuer": ENTRA, "trusted_audience": " , "}, "at least one audience"),
        ({"trusted_issuer": ENTRA, "trusted_principal_claim": "o id"}, "claim name"),
        ({"trusted_issuer": ENTRA, "trusted_issuer_timeout": 0}, "greater than 0"),
    ],
)
def test_bad_settings_are_refused_saying_why(settings: dict[str, Any], words: str) -> None:
    with pytest.raises(ValidationError, match=words):
        Settings(**settings)


def test_the_url_rule() -> None:
    assert refused_url("http://127.0.0.1:9000/realm") is None  # loopback: the operator's choice
    assert refused_url("https://10.0.0.5/keys?x=1") is None
    assert refused_url("https://[::ffff:169.254.169.254]/") is not None
    assert refused_url("http://0.0.0.0/") is not None
    assert refused_url("https://h:0/") == "port 0"
    assert refused_url("https://h:99999/") == "not a well-formed URL"


# -- discovery and keys -----------------------------------------------------------------------
@cache
def _rsa(bits: int = 2048) -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=bits)


@cache
def _ec(curve: type[ec.EllipticCurve] = ec.SECP256R1) -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(curve())


def _jwk(key: Any, kid: str, **extra: Any) -> dict[str, Any]:
    if isinstance(key, rsa.RSAPrivateKey):
        body = jwt.algorithms.RSAAlgorithm.to_jwk(key.public_key(), as_dict=True)
    else:
        body = jwt.algorithms.ECAlgorithm.to_jwk(key.public_key(), as_dict=True)
    return {**body, "kid": kid, **extra}


def test_the_discovery_document_must_be_the_issuers() -> None:
    trusted = _trusted(trusted_issuer=ENTRA)
    keys = "https://login.microsoftonline.com/common/discovery/v2.0/keys"
    assert jwks_uri_of({"issuer": ENTRA, "jwks_uri": keys}, trusted) == keys
    with pytest.raises(IssuerError, match=r"names the issuer 'https://evil\.example'"):
        jwks_uri_of({"issuer": "https://evil.example", "jwks_uri": keys}, trusted)
    with pytest.raises(IssuerError, match="no jwks_uri"):
        jwks_uri_of({"issuer": ENTRA}, trusted)
    with pytest.raises(IssuerError, match="not HTTPS"):
        jwks_uri_of({"issuer": ENTRA, "jwks_uri": "http://login.microsoftonline.com/keys"}, trusted)
    with pytest.raises(IssuerError, match="metadata"):
        jwks_uri_of({"issuer": ENTRA, "jwks_uri": "https://169.254.169.254/keys"}, trusted)
    with pytest.raises(IssuerError, match="not a JSON object"):
        jwks_uri_of(["issuer"], trusted)


def test_only_signing_keys_for_rs256_and_es256_are_kept() -> None:
    document = {
        "keys": [
            _jwk(_rsa(), "rsa", use="sig", x5t="ignored"),
            _jwk(_ec(), "p256", alg="ES256"),
            _jwk(_rsa(), "enc", use="enc"),
            _jwk(_rsa(1024), "short"),
            _jwk(_ec(ec.SECP384R1), "p384"),
            _jwk(_rsa(), "hs", alg="HS256"),
            _jwk(_rsa(), "mislabelled", alg="ES256"),
            {k: v for k, v in _jwk(_rsa(), "x").items() if k != "kid"},
            {"kty": "oct", "k": "c2VjcmV0", "kid": "oct"},
            "not a key",
        ]
    }
    keys = keys_of(document)
    assert sorted(keys) == ["p256", "rsa"]
    assert keys["rsa"].algorithm_name == "RS256" and keys["p256"].algorithm_name == "ES256"
    with pytest.raises(IssuerError, match="no RS256 or ES256 signing key"):
        keys_of({"keys": [_jwk(_rsa(), "enc", use="enc")]})
    with pytest.raises(IssuerError, match="no 'keys' list"):
        keys_of({"keys": "x"})


# -- tokens -----------------------------------------------------------------------------------
def _token(key: Any = None, alg: str = "RS256", kid: str = "rsa", **claims: Any) -> str:
    now = int(time.time())
    body = {"iss": ENTRA, "aud": "https://management.azure.com", "exp": now + 600, "iat": now, **claims}
    return jwt.encode(body, key or _rsa(), algorithm=alg, headers={"kid": kid})


def test_the_header_must_name_an_accepted_algorithm_and_a_key() -> None:
    assert signing_header(_token()) == ("RS256", "rsa")
    assert signing_header(_token(_ec(), "ES256", "p256")) == ("ES256", "p256")
    with pytest.raises(InvalidAccessToken, match="'HS256'"):
        signing_header(_token("s" * 32, "HS256"))
    with pytest.raises(InvalidAccessToken, match="'none'"):
        signing_header("eyJhbGciOiJub25lIiwia2lkIjoicnNhIn0.eyJvaWQiOiJ4In0.")
    with pytest.raises(InvalidAccessToken, match="names no key"):
        signing_header(jwt.encode({"a": 1}, _rsa(), algorithm="RS256"))
    with pytest.raises(InvalidAccessToken, match="not a well-formed JWT"):
        signing_header("eyJ.eyJ.x")


def test_verification_checks_the_key_algorithm_audience_and_tenant() -> None:
    keys = keys_of({"keys": [_jwk(_rsa(), "rsa"), _jwk(_ec(), "p256")]})
    trusted = _trusted(trusted_issuer=ENTRA, trusted_tenant=TENANT)
    claims = verify_external(_token(tid=TENANT, oid="o"), "RS256", keys["rsa"], trusted)
    assert claims["oid"] == "o"
    assert verify_external(_token(_ec(), "ES256", "p256", tid=TENANT), "ES256", keys["p256"], trusted)
    with pytest.raises(InvalidAccessToken, match="is for RS256"):
        verify_external(_token(tid=TENANT), "ES256", keys["rsa"], trusted)
    with pytest.raises(InvalidAccessToken, match="tenant"):
        verify_external(_token(tid="another"), "RS256", keys["rsa"], trusted)
    with pytest.raises(InvalidAccessToken, match="audience"):
        verify_external(_token(tid=TENANT, aud="api://other"), "RS256", keys["rsa"], trusted)
    with pytest.raises(InvalidAccessToken, match="issuer"):
        verify_external(_token(tid=TENANT, iss=ENTRA + "/"), "RS256", keys["rsa"], trusted)
    with pytest.raises(InvalidAccessToken, match="signature"):
        verify_external(_token(_rsa(3072), tid=TENANT), "RS256", keys["rsa"], trusted)
    # a minute of clock skew is allowed
    now = int(time.time())
    assert verify_external(_token(tid=TENANT, exp=now - 30), "RS256", keys["rsa"], trusted)
    with pytest.raises(InvalidAccessToken, match="expired"):
        verify_external(_token(tid=TENANT, exp=now - 90), "RS256", keys["rsa"], trusted)


@pytest.mark.parametrize(
    ("claims", "object_id", "kind", "display", "user_name", "app_id"),
    [
        pytest.param(
            {"oid": "o1", "sub": "s1", "upn": "ada@contoso.example", "name": "Ada", "idtyp": "user"},
            "o1",
            PrincipalType.USER,
            "Ada",
            "ada@contoso.example",
            None,
            id="entra-user",
        ),
        pytest.param(
            {"oid": "o2", "sub": "o2", "idtyp": "app", "appid": "a2", "azp": "z"},
            "o2",
            PrincipalType.SERVICE_PRINCIPAL,
            "a2",
            None,
            "a2",
            id="entra-app",
        ),
        pytest.param(
            {"oid": "o3", "sub": "o3", "appid": "a3"},
            "o3",
            PrincipalType.SERVICE_PRINCIPAL,
            "a3",
            None,
            "a3",
            id="entra-v1-app-without-idtyp",
        ),
        pytest.param(
            {"sub": "2b9c0d6e-f1", "preferred_username": "bob", "azp": "maas-cli"},
            "2b9c0d6e-f1",
            PrincipalType.USER,
            "bob",
            "bob",
            "maas-cli",
            id="keycloak-user-sub",
        ),
        pytest.param(
            {"sub": "k-9", "preferred_username": "service-account-ci", "azp": "ci"},
            "k-9",
            PrincipalType.SERVICE_PRINCIPAL,
            "service-account-ci",
            "service-account-ci",
            "ci",
            id="keycloak-service-account",
        ),
    ],
)
def test_the_principal_a_token_names(
    claims: dict[str, Any],
    object_id: str,
    kind: PrincipalType,
    display: str,
    user_name: str | None,
    app_id: str | None,
) -> None:
    found = identity_of(claims, _trusted(trusted_issuer=ENTRA))
    assert (found.object_id, found.principal_type, found.display_name) == (object_id, kind, display)
    assert (found.user_principal_name, found.app_id) == (user_name, app_id)


def test_the_operator_may_name_the_principal_claim() -> None:
    trusted = _trusted(trusted_issuer=ENTRA, trusted_principal_claim="sub")
    assert identity_of({"oid": "o", "sub": "s", "upn": "u"}, trusted).object_id == "s"
    with pytest.raises(InvalidAccessToken, match="'sub' claim"):
        identity_of({"oid": "o"}, trusted)
    long = identity_of({"oid": "o" * 64, "name": "n" * 300, "upn": "u"}, _trusted(trusted_issuer=ENTRA))
    assert len(long.display_name) == 256
    with pytest.raises(InvalidAccessToken, match="object id"):
        identity_of({"oid": "o" * 65}, _trusted(trusted_issuer=ENTRA))
    with pytest.raises(InvalidAccessToken, match="'sub' claim is not an object id"):
        identity_of({"sub": "auth0|123"}, _trusted(trusted_issuer=ENTRA))
