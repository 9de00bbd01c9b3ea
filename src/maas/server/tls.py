"""A local certificate authority and server certificate for ``maas serve --tls``.

Why this exists: the real ``azure-ai-ml`` client only sends bearer tokens over HTTPS and verifies
the server against ``REQUESTS_CA_BUNDLE``. To let it talk to a local MaaS we mint a private CA once
and a server certificate signed by it; users point ``REQUESTS_CA_BUNDLE`` / ``SSL_CERT_FILE`` at
``ca.pem`` and the client verifies normally, with no "insecure" switches.

What :func:`ensure_tls_files` guarantees, for the directory it is given:

* The directory exists (created with mode 0700 when missing). It holds ``ca.pem`` (the CA
  certificate, the bundle to trust), ``ca-key.pem``, ``server.pem`` (server certificate followed
  by the CA certificate) and ``server-key.pem``. Private keys are unencrypted PKCS#8 PEM, mode 0600.
* The CA is generated once and kept for as long as it is usable (present, readable, matching its
  key, more than 30 days from expiry), so a bundle the user already trusts stays valid.
* The server certificate is signed by that CA, names every requested hostname in its
  SubjectAlternativeName (IP addresses as iPAddress entries, everything else as dNSName), and is
  valid for at least 30 more days. Otherwise it is regenerated; when it is, its SAN lists exactly
  the hostnames of that call.
* When nothing needs to change, no file is rewritten: a second call returns the same bytes.
* Each file is replaced atomically (temporary file in the same directory, then ``os.replace``), so
  a reader never sees a half-written file. Files are written key first, then certificate; an
  interrupted run leaves a mismatched pair, which the next call detects and repairs. Concurrent
  first calls from several processes are not coordinated.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import ipaddress
import os
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.asymmetric.types import CertificatePublicKeyTypes
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

__all__ = ["TlsFiles", "ensure_tls_files"]

CA_CERT_NAME: Final = "ca.pem"
CA_KEY_NAME: Final = "ca-key.pem"
SERVER_CERT_NAME: Final = "server.pem"
SERVER_KEY_NAME: Final = "server-key.pem"

CA_COMMON_NAME: Final = "MaaS local CA"
SERVER_COMMON_NAME: Final = "MaaS local server"

_CA_VALIDITY: Final = dt.timedelta(days=3650)
_SERVER_VALIDITY: Final = dt.timedelta(days=397)
_BACKDATE: Final = dt.timedelta(minutes=1)
_RENEW_BEFORE: Final = dt.timedelta(days=30)

_DIR_MODE: Final = 0o700
_KEY_MODE: Final = 0o600
_CERT_MODE: Final = 0o644

_PrivateKey = ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey
_Address = ipaddress.IPv4Address | ipaddress.IPv6Address


@dataclass(frozen=True)
class TlsFiles:
    """Paths of the PEM files :func:`ensure_tls_files` maintains."""

    ca_cert: Path  # the local CA; the bundle for REQUESTS_CA_BUNDLE / SSL_CERT_FILE
    server_cert: Path  # server certificate followed by the CA certificate (chain)
    server_key: Path  # unencrypted PKCS#8, mode 0600


@dataclass(frozen=True)
class _Names:
    """Requested hostnames, split into DNS names (lower-case A-labels) and IP addresses."""

    dns: tuple[str, ...]
    ips: tuple[_Address, ...]

    def covered_by(self, san: x509.SubjectAlternativeName) -> bool:
        dns = {name.lower() for name in san.get_values_for_type(x509.DNSName)}
        ips = set(san.get_values_for_type(x509.IPAddress))
        return all(name in dns for name in self.dns) and all(ip in ips for ip in self.ips)

    def general_names(self) -> list[x509.GeneralName]:
        names: list[x509.GeneralName] = [x509.DNSName(name) for name in self.dns]
        names.extend(x509.IPAddress(ip) for ip in self.ips)
        return names


def ensure_tls_files(
    directory: Path, hostnames: Sequence[str] = ("localhost", "127.0.0.1", "::1")
) -> TlsFiles:
    """Make sure ``directory`` holds a usable CA and a server certificate for ``hostnames``.

    Creates what is missing, regenerates the server certificate when it does not cover every
    hostname, is not signed by the CA, does not match its key or expires within 30 days, and
    otherwise leaves the files untouched. Returns their paths.
    """
    names = _parse_hostnames(hostnames)
    directory = Path(directory)
    if not directory.is_dir():
        directory.mkdir(mode=_DIR_MODE, parents=True, exist_ok=True)
        os.chmod(directory, _DIR_MODE)  # mkdir's mode is filtered by the umask

    files = TlsFiles(
        ca_cert=directory / CA_CERT_NAME,
        server_cert=directory / SERVER_CERT_NAME,
        server_key=directory / SERVER_KEY_NAME,
    )
    ca_key_path = directory / CA_KEY_NAME
    now = dt.datetime.now(dt.UTC)

    ca = _load_pair(files.ca_cert, ca_key_path)
    if ca is None or not _ca_usable(ca[0], now):
        ca = _generate_ca(now)
        _write_atomic(ca_key_path, _key_pem(ca[1]), _KEY_MODE)
        _write_atomic(files.ca_cert, _cert_pem(ca[0]), _CERT_MODE)
    else:
        _restrict_mode(ca_key_path)
    ca_cert, ca_key = ca

    server = _load_pair(files.server_cert, files.server_key)
    if server is None or not _server_usable(server[0], ca_cert, names, now):
        cert, key = _generate_server(ca_cert, ca_key, names, now)
        _write_atomic(files.server_key, _key_pem(key), _KEY_MODE)
        _write_atomic(files.server_cert, _cert_pem(cert) + _cert_pem(ca_cert), _CERT_MODE)
    else:
        _restrict_mode(files.server_key)
    return files


def _parse_hostnames(hostnames: Sequence[str]) -> _Names:
    if isinstance(hostnames, str):
        raise TypeError("hostnames must be a sequence of host names, not a single string")
    dns: list[str] = []
    ips: list[_Address] = []
    for raw in hostnames:
        host = raw.strip()
        if host.startswith("[") and host.endswith("]"):  # "[::1]" as written in URLs
            host = host[1:-1]
        if not host:
            raise ValueError(f"empty hostname in {list(hostnames)!r}")
        try:
            ip = ipaddress.ip_address(host)
        except ValueError:
            name = host.encode("idna").decode("ascii").lower()
            if name not in dns:
                dns.append(name)
        else:
            if ip not in ips:
                ips.append(ip)
    if not dns and not ips:
        raise ValueError("at least one hostname is required")
    return _Names(dns=tuple(dns), ips=tuple(ips))


def _load_pair(cert_path: Path, key_path: Path) -> tuple[x509.Certificate, _PrivateKey] | None:
    """First certificate in ``cert_path`` and the key in ``key_path``, if both load and match."""
    try:
        cert = x509.load_pem_x509_certificate(cert_path.read_bytes())
        key = serialization.load_pem_private_key(key_path.read_bytes(), password=None)
    except (OSError, ValueError, TypeError):
        return None
    if not isinstance(key, (ec.EllipticCurvePrivateKey, rsa.RSAPrivateKey)):
        return None
    if _spki(cert.public_key()) != _spki(key.public_key()):
        return None
    return cert, key


def _spki(public_key: CertificatePublicKeyTypes) -> bytes:
    return public_key.public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )


def _ca_usable(cert: x509.Certificate, now: dt.datetime) -> bool:
    try:
        constraints = cert.extensions.get_extension_for_class(x509.BasicConstraints).value
    except x509.ExtensionNotFound:
        return False
    # Renewed together with the server certificate's margin; otherwise a server certificate
    # capped at the CA's expiry would be regenerated on every call during the last 30 days.
    return constraints.ca and cert.not_valid_after_utc - now > _RENEW_BEFORE


def _server_usable(
    cert: x509.Certificate, ca_cert: x509.Certificate, names: _Names, now: dt.datetime
) -> bool:
    try:
        cert.verify_directly_issued_by(ca_cert)
        san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except (InvalidSignature, ValueError, TypeError, x509.ExtensionNotFound):
        return False
    return (
        names.covered_by(san)
        and cert.not_valid_before_utc <= now
        and cert.not_valid_after_utc - now > _RENEW_BEFORE
    )


def _new_key() -> _PrivateKey:
    return ec.generate_private_key(ec.SECP256R1())


def _generate_ca(now: dt.datetime) -> tuple[x509.Certificate, _PrivateKey]:
    key = _new_key()
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, CA_COMMON_NAME)])
    ski = x509.SubjectKeyIdentifier.from_public_key(key.public_key())
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - _BACKDATE)
        .not_valid_after(now + _CA_VALIDITY)
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=False,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(ski, critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ski), critical=False)
        .sign(key, hashes.SHA256())
    )
    return cert, key


def _generate_server(
    ca_cert: x509.Certificate, ca_key: _PrivateKey, names: _Names, now: dt.datetime
) -> tuple[x509.Certificate, _PrivateKey]:
    key = _new_key()
    try:
        ca_ski = ca_cert.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value
        aki = x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ca_ski)
    except x509.ExtensionNotFound:
        aki = x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key())
    not_after = min(now + _SERVER_VALIDITY, ca_cert.not_valid_after_utc)
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, SERVER_COMMON_NAME)]))
        .issuer_name(ca_cert.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - _BACKDATE)
        .not_valid_after(not_after)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=isinstance(key, rsa.RSAPrivateKey),
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=False,
                crl_sign=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(x509.SubjectAlternativeName(names.general_names()), critical=False)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .add_extension(aki, critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    return cert, key


def _cert_pem(cert: x509.Certificate) -> bytes:
    return cert.public_bytes(serialization.Encoding.PEM)


def _key_pem(key: _PrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


def _restrict_mode(path: Path) -> None:
    """Keep a reused private key at mode 0600 even if someone loosened it."""
    if path.stat().st_mode & 0o777 != _KEY_MODE:
        os.chmod(path, _KEY_MODE)


def _write_atomic(path: Path, data: bytes, mode: int) -> None:
    """Write ``data`` to ``path`` via a temporary file in the same directory and ``os.replace``."""
    fd, tmp_name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as handle:
            os.chmod(tmp_name, mode)  # mkstemp creates 0600; set the final mode before the data
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp_name, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp_name)
        raise
    _fsync_directory(path.parent)


def _fsync_directory(directory: Path) -> None:
    if not hasattr(os, "O_DIRECTORY"):
        return
    with contextlib.suppress(OSError):
        fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
