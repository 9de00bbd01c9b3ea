"""``ensure_tls_files``: the local CA and server certificate behind ``maas serve --tls``."""

from __future__ import annotations

import contextlib
import datetime as dt
import ipaddress
import os
import socket
import ssl
import stat
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from maas.server.tls import TlsFiles, ensure_tls_files

_CA_KEY = "ca-key.pem"


@pytest.fixture
def tls_dir(tmp_path: Path) -> Path:
    return tmp_path / "state" / "tls"


@pytest.fixture
def files(tls_dir: Path) -> TlsFiles:
    return ensure_tls_files(tls_dir)


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def _ca(files: TlsFiles) -> x509.Certificate:
    return x509.load_pem_x509_certificate(files.ca_cert.read_bytes())


def _chain(files: TlsFiles) -> list[x509.Certificate]:
    return x509.load_pem_x509_certificates(files.server_cert.read_bytes())


def _leaf(files: TlsFiles) -> x509.Certificate:
    return _chain(files)[0]


def _san(cert: x509.Certificate) -> x509.SubjectAlternativeName:
    return cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value


def _snapshot(directory: Path) -> dict[str, tuple[bytes, int]]:
    return {p.name: (p.read_bytes(), p.stat().st_ino) for p in sorted(directory.iterdir())}


def _private_key(path: Path) -> ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey:
    key = serialization.load_pem_private_key(path.read_bytes(), password=None)
    assert isinstance(key, ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey)
    return key


# --- files and modes -------------------------------------------------------------------------


def test_creates_directory_and_files_with_private_modes(tls_dir: Path, files: TlsFiles) -> None:
    assert files == TlsFiles(
        ca_cert=tls_dir / "ca.pem",
        server_cert=tls_dir / "server.pem",
        server_key=tls_dir / "server-key.pem",
    )
    assert _mode(tls_dir) == 0o700
    assert sorted(p.name for p in tls_dir.iterdir()) == [
        "ca-key.pem",
        "ca.pem",
        "server-key.pem",
        "server.pem",
    ]
    assert _mode(files.server_key) == 0o600
    assert _mode(tls_dir / _CA_KEY) == 0o600


def test_private_keys_are_unencrypted_pkcs8_and_match_certificates(tls_dir: Path, files: TlsFiles) -> None:
    for key_path, cert in ((files.server_key, _leaf(files)), (tls_dir / _CA_KEY, _ca(files))):
        assert key_path.read_bytes().startswith(b"-----BEGIN PRIVATE KEY-----")
        key = _private_key(key_path)
        assert key.public_key() == cert.public_key()


def test_existing_directory_mode_is_left_alone(tmp_path: Path) -> None:
    tmp_path.chmod(0o755)
    ensure_tls_files(tmp_path)
    assert _mode(tmp_path) == 0o755


# --- certificate contents --------------------------------------------------------------------


def test_ca_certificate_is_a_self_signed_ca(files: TlsFiles) -> None:
    ca = _ca(files)
    assert ca.subject == ca.issuer
    assert ca.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value == "MaaS local CA"
    ca.verify_directly_issued_by(ca)

    constraints = ca.extensions.get_extension_for_class(x509.BasicConstraints)
    assert constraints.critical
    assert constraints.value.ca
    usage = ca.extensions.get_extension_for_class(x509.KeyUsage).value
    assert usage.key_cert_sign
    assert usage.crl_sign
    ca.extensions.get_extension_for_class(x509.SubjectKeyIdentifier)

    lifetime = ca.not_valid_after_utc - ca.not_valid_before_utc
    assert lifetime >= dt.timedelta(days=3650)


def test_server_certificate_chain_verifies_against_ca(files: TlsFiles) -> None:
    ca = _ca(files)
    chain = _chain(files)
    assert len(chain) == 2
    assert chain[1] == ca
    leaf = chain[0]
    leaf.verify_directly_issued_by(ca)

    constraints = leaf.extensions.get_extension_for_class(x509.BasicConstraints)
    assert constraints.critical
    assert not constraints.value.ca
    eku = leaf.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    assert ExtendedKeyUsageOID.SERVER_AUTH in eku
    aki = leaf.extensions.get_extension_for_class(x509.AuthorityKeyIdentifier).value
    ski = ca.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value
    assert aki.key_identifier == ski.digest

    now = dt.datetime.now(dt.UTC)
    assert leaf.not_valid_before_utc < now
    assert leaf.not_valid_after_utc - leaf.not_valid_before_utc <= dt.timedelta(days=398)
    assert leaf.not_valid_after_utc - now > dt.timedelta(days=390)


def test_default_san_names_localhost_and_loopback_addresses(files: TlsFiles) -> None:
    san = _san(_leaf(files))
    assert san.get_values_for_type(x509.DNSName) == ["localhost"]
    assert set(san.get_values_for_type(x509.IPAddress)) == {
        ipaddress.ip_address("127.0.0.1"),
        ipaddress.ip_address("::1"),
    }


def test_san_splits_custom_hostnames_into_dns_names_and_ips(tmp_path: Path) -> None:
    files = ensure_tls_files(tmp_path, ["maas.example.internal", "10.1.2.3", "[fd00::5]", "Box"])
    san = _san(_leaf(files))
    assert san.get_values_for_type(x509.DNSName) == ["maas.example.internal", "box"]
    assert san.get_values_for_type(x509.IPAddress) == [
        ipaddress.ip_address("10.1.2.3"),
        ipaddress.ip_address("fd00::5"),
    ]


@pytest.mark.parametrize("hostnames", [(), ("",), ("  ",)])
def test_rejects_empty_hostnames(tmp_path: Path, hostnames: tuple[str, ...]) -> None:
    with pytest.raises(ValueError):
        ensure_tls_files(tmp_path, hostnames)


def test_rejects_a_bare_string_for_hostnames(tmp_path: Path) -> None:
    with pytest.raises(TypeError):
        ensure_tls_files(tmp_path, "localhost")
    assert not any(tmp_path.iterdir())


# --- reuse and regeneration ------------------------------------------------------------------


def test_second_call_reuses_the_same_files(tls_dir: Path, files: TlsFiles) -> None:
    before = _snapshot(tls_dir)
    assert ensure_tls_files(tls_dir) == files
    assert _snapshot(tls_dir) == before  # same bytes, and not even rewritten (same inodes)


def test_covered_subset_of_hostnames_reuses_the_server_certificate(tls_dir: Path, files: TlsFiles) -> None:
    before = _snapshot(tls_dir)
    ensure_tls_files(tls_dir, ["LOCALHOST", "127.0.0.1"])
    assert _snapshot(tls_dir) == before


def test_new_hostname_regenerates_server_certificate_but_keeps_ca(tls_dir: Path, files: TlsFiles) -> None:
    ca_bytes = files.ca_cert.read_bytes()
    ca_key_bytes = (tls_dir / _CA_KEY).read_bytes()
    server_bytes = files.server_cert.read_bytes()
    server_key_bytes = files.server_key.read_bytes()

    ensure_tls_files(tls_dir, ["localhost", "127.0.0.1", "maas.test", "192.0.2.7"])

    assert files.ca_cert.read_bytes() == ca_bytes
    assert (tls_dir / _CA_KEY).read_bytes() == ca_key_bytes
    assert files.server_cert.read_bytes() != server_bytes
    assert files.server_key.read_bytes() != server_key_bytes
    leaf = _leaf(files)
    leaf.verify_directly_issued_by(_ca(files))
    san = _san(leaf)
    assert "maas.test" in san.get_values_for_type(x509.DNSName)
    assert ipaddress.ip_address("192.0.2.7") in san.get_values_for_type(x509.IPAddress)
    assert _mode(files.server_key) == 0o600
    assert not [p.name for p in tls_dir.iterdir() if p.name.endswith(".tmp")]


def test_server_certificate_expiring_within_30_days_is_regenerated(tls_dir: Path, files: TlsFiles) -> None:
    ca = _ca(files)
    ca_bytes = files.ca_cert.read_bytes()
    server_key = _private_key(files.server_key)
    now = dt.datetime.now(dt.UTC)
    expiring = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "expiring")]))
        .issuer_name(ca.subject)
        .public_key(server_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=380))
        .not_valid_after(now + dt.timedelta(days=10))
        .add_extension(x509.SubjectAlternativeName(_san(_leaf(files))), critical=False)
        .sign(_private_key(tls_dir / _CA_KEY), hashes.SHA256())
    )
    files.server_cert.write_bytes(
        expiring.public_bytes(serialization.Encoding.PEM) + files.ca_cert.read_bytes()
    )

    ensure_tls_files(tls_dir)

    leaf = _leaf(files)
    assert leaf.serial_number != expiring.serial_number
    assert leaf.not_valid_after_utc - now > dt.timedelta(days=30)
    leaf.verify_directly_issued_by(ca)
    assert files.ca_cert.read_bytes() == ca_bytes


def test_server_key_not_matching_the_certificate_is_replaced(tls_dir: Path, files: TlsFiles) -> None:
    stray = ec.generate_private_key(ec.SECP256R1())
    files.server_key.write_bytes(
        stray.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    ensure_tls_files(tls_dir)
    assert _private_key(files.server_key).public_key() == _leaf(files).public_key()


def test_missing_ca_regenerates_ca_and_server_certificate(tls_dir: Path, files: TlsFiles) -> None:
    old_ca = files.ca_cert.read_bytes()
    (tls_dir / _CA_KEY).unlink()
    ensure_tls_files(tls_dir)
    assert files.ca_cert.read_bytes() != old_ca
    _leaf(files).verify_directly_issued_by(_ca(files))


def test_loosened_key_mode_is_restored_on_reuse(tls_dir: Path, files: TlsFiles) -> None:
    os.chmod(files.server_key, 0o644)
    ensure_tls_files(tls_dir)
    assert _mode(files.server_key) == 0o600


# --- end to end: a real TLS handshake --------------------------------------------------------


@contextlib.contextmanager
def _tls_server(files: TlsFiles) -> Iterator[tuple[int, list[BaseException]]]:
    """Serve one TLS connection on 127.0.0.1 with the server certificate; yield (port, errors)."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(files.server_cert, files.server_key)
    listener = socket.create_server(("127.0.0.1", 0))
    listener.settimeout(30)
    errors: list[BaseException] = []

    def serve() -> None:
        try:
            conn, _ = listener.accept()
            with conn:
                conn.settimeout(30)
                with context.wrap_socket(conn, server_side=True) as tls:
                    tls.sendall(b"ok")
        except (OSError, ssl.SSLError) as exc:
            errors.append(exc)

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield listener.getsockname()[1], errors
    finally:
        thread.join(timeout=30)
        listener.close()


def _client_context(files: TlsFiles) -> ssl.SSLContext:
    context = ssl.create_default_context(cafile=str(files.ca_cert))
    context.verify_flags |= ssl.VERIFY_X509_STRICT  # what Python 3.13+ enables by default
    return context


def _fetch(port: int, context: ssl.SSLContext, server_hostname: str) -> bytes:
    with (
        socket.create_connection(("127.0.0.1", port), timeout=30) as raw,
        context.wrap_socket(raw, server_hostname=server_hostname) as tls,
    ):
        data = b""
        while len(data) < 2:
            chunk = tls.recv(2 - len(data))
            if not chunk:
                break
            data += chunk
        return data


@pytest.mark.parametrize("server_hostname", ["127.0.0.1", "localhost"])
def test_tls_handshake_verifies_with_the_ca_bundle(files: TlsFiles, server_hostname: str) -> None:
    with _tls_server(files) as (port, errors):
        assert _fetch(port, _client_context(files), server_hostname) == b"ok"
    assert errors == []


def test_tls_handshake_fails_for_a_name_not_in_the_certificate(files: TlsFiles) -> None:
    with (
        _tls_server(files) as (port, _errors),
        pytest.raises(ssl.SSLCertVerificationError),
    ):
        _fetch(port, _client_context(files), "not-maas.example")


def test_tls_handshake_fails_against_another_ca(tmp_path: Path, files: TlsFiles) -> None:
    other = ensure_tls_files(tmp_path / "other")
    with (
        _tls_server(files) as (port, _errors),
        pytest.raises(ssl.SSLCertVerificationError),
    ):
        _fetch(port, _client_context(other), "localhost")
