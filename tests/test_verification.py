"""Tests for skill.verification: a CA built here signs real envelopes; no network is used."""

from __future__ import annotations

import base64
import contextlib
import http.client
import http.server
import json
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from werkzeug.datastructures import EnvironHeaders, Headers

from skill import verification
from skill.verification import (
    MAX_CHAIN_BYTES,
    RequestVerifier,
    VerificationError,
    check_cert_chain_url,
    fetch_over_https,
)

NOW = datetime(2026, 11, 24, 16, 19, 43, tzinfo=UTC)
APP_ID = "amzn1.ask.skill.11111111-2222-3333-4444-555555555555"
CERT_URL = "https://s3.amazonaws.com/echo.api/echo-api-cert-12.pem"
DAY = timedelta(days=1)


# --- a certificate authority built for the tests ---------------------------------------------


def _rsa_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def _name(common_name: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


def _ca_cert(
    name: str, key: rsa.RSAPrivateKey, issuer: x509.Certificate | None, issuer_key: Any
) -> x509.Certificate:
    """A CA certificate (self-signed when issuer is None) valid for years around NOW."""
    ski = x509.SubjectKeyIdentifier.from_public_key(key.public_key())
    builder = (
        x509.CertificateBuilder()
        .subject_name(_name(name))
        .issuer_name(issuer.subject if issuer else _name(name))
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(NOW - 365 * DAY)
        .not_valid_after(NOW + 3650 * DAY)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
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
    )
    if issuer is not None:
        builder = builder.add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer.public_key()),  # type: ignore[arg-type]
            critical=False,
        )
    return builder.sign(issuer_key if issuer else key, hashes.SHA256())


def _leaf_cert(
    key: Any,
    issuer: x509.Certificate,
    issuer_key: rsa.RSAPrivateKey,
    *,
    dns_names: tuple[str, ...] = ("echo-api.amazon.com",),
    not_before: datetime = NOW - 30 * DAY,
    not_after: datetime = NOW + 30 * DAY,
) -> x509.Certificate:
    """An end-entity certificate shaped like Amazon's echo-api one."""
    builder = (
        x509.CertificateBuilder()
        .subject_name(_name(dns_names[0] if dns_names else "no-san"))
        .issuer_name(issuer.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(not_before)
        .not_valid_after(not_after)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=True,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=False,
                crl_sign=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(
            x509.ExtendedKeyUsage(
                [ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH]
            ),
            critical=False,
        )
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer.public_key()),  # type: ignore[arg-type]
            critical=False,
        )
    )
    if dns_names:
        builder = builder.add_extension(
            x509.SubjectAlternativeName([x509.DNSName(n) for n in dns_names]), critical=False
        )
    return builder.sign(issuer_key, hashes.SHA256())


def _pem(*certs: x509.Certificate) -> bytes:
    return b"".join(c.public_bytes(serialization.Encoding.PEM) for c in certs)


@dataclass
class Pki:
    """Keys and certificates for every case; each `chain_*` is PEM bytes, leaf first."""

    root: x509.Certificate
    root_key: rsa.RSAPrivateKey
    intermediate: x509.Certificate
    intermediate_key: rsa.RSAPrivateKey
    leaf_key: rsa.RSAPrivateKey
    leaf: x509.Certificate
    other_key: rsa.RSAPrivateKey
    chain: bytes
    chain_with_root: bytes
    chain_direct: bytes
    chain_no_san: bytes
    chain_wildcard_san: bytes
    chain_expired: bytes
    chain_not_yet_valid: bytes
    chain_untrusted: bytes
    chain_missing_intermediate: bytes
    chain_ec_leaf: bytes


@pytest.fixture(scope="session")
def pki() -> Pki:
    root_key, intermediate_key, leaf_key, other_key = (_rsa_key() for _ in range(4))
    root = _ca_cert("Test Root CA", root_key, None, None)
    intermediate = _ca_cert("Test Intermediate CA", intermediate_key, root, root_key)
    leaf = _leaf_cert(leaf_key, intermediate, intermediate_key)
    rogue_root = _ca_cert("Rogue Root CA", other_key, None, None)
    ec_key = ec.generate_private_key(ec.SECP256R1())

    def chain(cert: x509.Certificate) -> bytes:
        return _pem(cert, intermediate)

    return Pki(
        root=root,
        root_key=root_key,
        intermediate=intermediate,
        intermediate_key=intermediate_key,
        leaf_key=leaf_key,
        leaf=leaf,
        other_key=other_key,
        chain=_pem(leaf, intermediate),
        chain_with_root=_pem(leaf, intermediate, root),
        chain_direct=_pem(_leaf_cert(leaf_key, root, root_key)),
        chain_no_san=chain(
            _leaf_cert(leaf_key, intermediate, intermediate_key, dns_names=("example.com",))
        ),
        chain_wildcard_san=chain(
            _leaf_cert(leaf_key, intermediate, intermediate_key, dns_names=("*.amazon.com",))
        ),
        chain_expired=chain(
            _leaf_cert(
                leaf_key,
                intermediate,
                intermediate_key,
                not_before=NOW - 60 * DAY,
                not_after=NOW - timedelta(seconds=1),
            )
        ),
        chain_not_yet_valid=chain(
            _leaf_cert(
                leaf_key,
                intermediate,
                intermediate_key,
                not_before=NOW + timedelta(seconds=1),
                not_after=NOW + 60 * DAY,
            )
        ),
        chain_untrusted=_pem(_leaf_cert(leaf_key, rogue_root, other_key), rogue_root),
        chain_missing_intermediate=_pem(leaf),
        chain_ec_leaf=chain(_leaf_cert(ec_key, intermediate, intermediate_key)),
    )


# --- requests ------------------------------------------------------------------------------


def envelope(
    *,
    timestamp: Any = "2026-11-24T16:19:43Z",
    session_app_id: Any = APP_ID,
    context_app_id: Any = APP_ID,
    with_session: bool = True,
) -> dict[str, Any]:
    """A LaunchRequest envelope as Alexa sends it."""
    application = {"applicationId": context_app_id}
    user = {"userId": "amzn1.ask.account.TESTUSER"}
    body: dict[str, Any] = {
        "version": "1.0",
        "context": {
            "System": {
                "application": application,
                "user": user,
                "device": {"deviceId": "amzn1.ask.device.TEST", "supportedInterfaces": {}},
                "apiEndpoint": "https://api.amazonalexa.com",
            }
        },
        "request": {
            "type": "LaunchRequest",
            "requestId": "amzn1.echo-api.request.0000-1111",
            "timestamp": timestamp,
            "locale": "en-US",
            "shouldLinkResultBeReturned": False,
        },
    }
    if with_session:
        body["session"] = {
            "new": True,
            "sessionId": "amzn1.echo-api.session.2222",
            "application": {"applicationId": session_app_id},
            "user": user,
        }
    return body


def encode(value: Any) -> bytes:
    return json.dumps(value, separators=(",", ":")).encode()


def sign(body: bytes, key: rsa.RSAPrivateKey, algorithm: Any = None) -> str:
    return base64.b64encode(
        key.sign(body, padding.PKCS1v15(), algorithm or hashes.SHA256())
    ).decode()


def signed(
    pki: Pki, body: bytes | None = None, *, url: str = CERT_URL, key: Any = None
) -> tuple[dict[str, str], bytes]:
    """Headers and body of a request signed with the leaf key (or `key`)."""
    body = encode(envelope()) if body is None else body
    headers = {
        "SignatureCertChainUrl": url,
        "Signature-256": sign(body, key or pki.leaf_key),
        "Content-Type": "application/json",
    }
    return headers, body


class FakeFetcher:
    """URL -> PEM bytes; records each call; an unknown URL raises like a failed download."""

    def __init__(self, chains: dict[str, bytes]) -> None:
        self.chains = dict(chains)
        self.calls: list[str] = []

    def __call__(self, url: str) -> bytes:
        self.calls.append(url)
        if url not in self.chains:
            raise OSError(f"no such URL {url}")
        return self.chains[url]


class Clock:
    """A settable clock."""

    def __init__(self, now: datetime = NOW) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


def make_verifier(
    pki: Pki,
    chain: bytes | None = None,
    *,
    url: str = CERT_URL,
    app_id: str | None = APP_ID,
    clock: Clock | None = None,
    **kwargs: Any,
) -> tuple[RequestVerifier, FakeFetcher]:
    fetcher = FakeFetcher({url: pki.chain if chain is None else chain})
    verifier = RequestVerifier(
        application_id=app_id,
        fetch_certificate_chain=fetcher,
        trusted_roots=[pki.root],
        clock=clock or Clock(),
        **kwargs,
    )
    return verifier, fetcher


def refused(verifier: RequestVerifier, headers: Any, body: bytes, reason: str) -> None:
    """Assert verify() refuses with a message starting with `reason` (compared exactly)."""
    with pytest.raises(VerificationError) as info:
        verifier.verify(headers, body)
    assert str(info.value).startswith(reason), str(info.value)


# --- accepted ------------------------------------------------------------------------------


def test_accepts_a_request_when_every_rule_holds(pki: Pki) -> None:
    verifier, fetcher = make_verifier(pki)
    headers, body = signed(pki)
    verifier.verify(headers, body)
    assert fetcher.calls == [CERT_URL]


@pytest.mark.parametrize("which", ["chain_with_root", "chain_direct"])
def test_accepts_chain_with_root_included_or_no_intermediate(pki: Pki, which: str) -> None:
    verifier, _ = make_verifier(pki, getattr(pki, which))
    verifier.verify(*signed(pki))


def test_accepts_request_without_session(pki: Pki) -> None:
    verifier, _ = make_verifier(pki)
    verifier.verify(*signed(pki, encode(envelope(with_session=False))))


def test_application_id_none_skips_the_skill_check(pki: Pki) -> None:
    verifier, _ = make_verifier(pki, app_id=None)
    body = encode(envelope(session_app_id="someone-else", context_app_id="someone-else"))
    verifier.verify(*signed(pki, body))


def test_accepts_bytearray_body(pki: Pki) -> None:
    verifier, _ = make_verifier(pki)
    headers, body = signed(pki)
    verifier.verify(headers, bytearray(body))


# --- headers -------------------------------------------------------------------------------


@pytest.mark.parametrize("missing", ["SignatureCertChainUrl", "Signature-256"])
def test_refuses_missing_header(pki: Pki, missing: str) -> None:
    verifier, fetcher = make_verifier(pki)
    headers, body = signed(pki)
    del headers[missing]
    refused(verifier, headers, body, f"missing {missing} header")
    assert fetcher.calls == []


def test_refuses_legacy_sha1_signature_header_alone(pki: Pki) -> None:
    verifier, _ = make_verifier(pki)
    headers, body = signed(pki)
    headers["Signature"] = headers.pop("Signature-256")
    refused(verifier, headers, body, "missing Signature-256 header")


@pytest.mark.parametrize(
    ("url_name", "signature_name"),
    [
        ("signaturecertchainurl", "signature-256"),
        ("SIGNATURECERTCHAINURL", "SIGNATURE-256"),
        ("sIgNaTuReCeRtChAiNuRl", "Signature-256"),
    ],
)
def test_header_names_in_odd_case_are_accepted(
    pki: Pki, url_name: str, signature_name: str
) -> None:
    verifier, _ = make_verifier(pki)
    headers, body = signed(pki)
    odd = {url_name: headers["SignatureCertChainUrl"], signature_name: headers["Signature-256"]}
    verifier.verify(odd, body)


def test_accepts_werkzeug_headers_as_flask_passes_them(pki: Pki) -> None:
    verifier, _ = make_verifier(pki)
    headers, body = signed(pki)
    verifier.verify(Headers(headers), body)
    environ = {
        "HTTP_SIGNATURECERTCHAINURL": headers["SignatureCertChainUrl"],
        "HTTP_SIGNATURE_256": headers["Signature-256"],
        "CONTENT_TYPE": "application/json",
    }
    verifier.verify(EnvironHeaders(environ), body)


def test_refuses_conflicting_duplicate_headers(pki: Pki) -> None:
    verifier, _ = make_verifier(pki)
    headers, body = signed(pki)
    headers["signature-256"] = sign(body, pki.other_key)
    refused(verifier, headers, body, "conflicting Signature-256 headers")


def test_refuses_empty_header(pki: Pki) -> None:
    verifier, _ = make_verifier(pki)
    headers, body = signed(pki)
    headers["SignatureCertChainUrl"] = "  "
    refused(verifier, headers, body, "empty SignatureCertChainUrl header")


# --- certificate URL -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("http://s3.amazonaws.com/echo.api/echo-api-cert-12.pem", "certificate URL scheme is not"),
        ("ftp://s3.amazonaws.com/echo.api/echo-api-cert-12.pem", "certificate URL scheme is not"),
        ("https://notamazon.com/echo.api/echo-api-cert-12.pem", "certificate URL host is not"),
        ("https://s3.amazonaws.com.evil.example/echo.api/c.pem", "certificate URL host is not"),
        ("https://evil.example/s3.amazonaws.com/echo.api/c.pem", "certificate URL host is not"),
        ("https://s3.amazonaws.com/EcHo.aPi/echo-api-cert-12.pem", "certificate URL path is not"),
        ("https://s3.amazonaws.com/other/echo-api-cert-12.pem", "certificate URL path is not"),
        ("https://s3.amazonaws.com/echo.api/../cert-12.pem", "certificate URL path is not"),
        ("https://s3.amazonaws.com/echo.api/%2e%2e/evil/cert.pem", "certificate URL path is not"),
        ("https://s3.amazonaws.com/echo.api", "certificate URL path is not"),
        ("https://s3.amazonaws.com:8443/echo.api/cert-12.pem", "certificate URL port is not"),
        ("https://s3.amazonaws.com:80/echo.api/cert-12.pem", "certificate URL port is not"),
        ("https://s3.amazonaws.com:x/echo.api/cert-12.pem", "certificate URL is not parse"),
        ("https://user@s3.amazonaws.com/echo.api/echo-api-cert-12.pem", "certificate URL has user"),
    ],
)
def test_refuses_bad_certificate_url(pki: Pki, url: str, reason: str) -> None:
    verifier, fetcher = make_verifier(pki, url=url)  # the fetcher would serve a good chain
    refused(verifier, *signed(pki, url=url), reason)
    assert fetcher.calls == []


@pytest.mark.parametrize(
    "url",
    [
        "https://s3.amazonaws.com/echo.api/echo-api-cert-12.pem",
        "HTTPS://s3.amazonaws.com/echo.api/echo-api-cert-12.pem",
        "https://S3.AMAZONAWS.COM/echo.api/echo-api-cert-12.pem",
        "https://s3.amazonaws.com:443/echo.api/echo-api-cert-12.pem",
        "https://s3.amazonaws.com/echo.api/../echo.api/echo-api-cert-12.pem",
    ],
)
def test_accepts_good_certificate_url(pki: Pki, url: str) -> None:
    verifier, fetcher = make_verifier(pki, url=url)
    verifier.verify(*signed(pki, url=url))
    assert fetcher.calls == [url]
    check_cert_chain_url(url)


# --- certificate chain ---------------------------------------------------------------------


def test_refuses_when_fetch_fails(pki: Pki) -> None:
    verifier, fetcher = make_verifier(pki, url="https://s3.amazonaws.com/echo.api/other.pem")
    refused(verifier, *signed(pki), "could not fetch certificate chain: OSError")
    assert fetcher.calls == [CERT_URL]


def test_refuses_when_fetch_times_out(pki: Pki) -> None:
    def fetch(url: str) -> bytes:
        raise TimeoutError("timed out")

    verifier = RequestVerifier(APP_ID, fetch, [pki.root], Clock())
    refused(verifier, *signed(pki), "could not fetch certificate chain: TimeoutError")


def test_fetcher_verification_error_passes_through(pki: Pki) -> None:
    def fetch(url: str) -> bytes:
        raise VerificationError("certificate chain fetch timed out after 3 s")

    verifier = RequestVerifier(APP_ID, fetch, [pki.root], Clock())
    refused(verifier, *signed(pki), "certificate chain fetch timed out after 3 s")


def test_refuses_oversized_chain(pki: Pki) -> None:
    padded = pki.chain + b"\n" * (MAX_CHAIN_BYTES + 1 - len(pki.chain))
    verifier, _ = make_verifier(pki, padded)
    refused(verifier, *signed(pki), "certificate chain is larger than 65536 bytes")
    just_fits = pki.chain + b"\n" * (MAX_CHAIN_BYTES - len(pki.chain))
    make_verifier(pki, just_fits)[0].verify(*signed(pki))


@pytest.mark.parametrize(
    "chain",
    [
        b"",
        b"not a certificate",
        b"-----BEGIN CERTIFICATE-----\nbm90IGEgY2VydA==\n-----END CERTIFICATE-----\n",
        b"\xff\xfe\x00garbage",
    ],
)
def test_refuses_non_pem_chain(pki: Pki, chain: bytes) -> None:
    verifier, _ = make_verifier(pki, chain)
    refused(verifier, *signed(pki), "certificate chain is not PEM")


def test_refuses_der_chain(pki: Pki) -> None:
    verifier, _ = make_verifier(pki, pki.leaf.public_bytes(serialization.Encoding.DER))
    refused(verifier, *signed(pki), "certificate chain is not PEM")


def test_refuses_fetcher_returning_text(pki: Pki) -> None:
    verifier, _ = make_verifier(pki, pki.chain.decode())  # type: ignore[arg-type]
    refused(verifier, *signed(pki), "certificate chain is not bytes")


@pytest.mark.parametrize(
    ("which", "reason"),
    [
        ("chain_no_san", "leaf certificate lacks SAN echo-api.amazon.com"),
        ("chain_wildcard_san", "leaf certificate lacks SAN echo-api.amazon.com"),
        ("chain_expired", "leaf certificate has expired"),
        ("chain_not_yet_valid", "leaf certificate is not yet valid"),
        ("chain_untrusted", "certificate chain is not trusted"),
        ("chain_missing_intermediate", "certificate chain is not trusted"),
        ("chain_ec_leaf", "leaf certificate key is not RSA"),
    ],
)
def test_refuses_bad_chain(pki: Pki, which: str, reason: str) -> None:
    verifier, _ = make_verifier(pki, getattr(pki, which))
    refused(verifier, *signed(pki), reason)


def test_leaf_validity_boundaries_are_inclusive(pki: Pki) -> None:
    for at in (pki.leaf.not_valid_before_utc, pki.leaf.not_valid_after_utc):
        stamp = at.strftime("%Y-%m-%dT%H:%M:%SZ")
        verifier, _ = make_verifier(pki, clock=Clock(at))
        verifier.verify(*signed(pki, encode(envelope(timestamp=stamp))))


def test_refuses_chain_when_trusted_roots_are_other(pki: Pki) -> None:
    fetcher = FakeFetcher({CERT_URL: pki.chain})
    verifier = RequestVerifier(APP_ID, fetcher, [pki.intermediate], Clock())
    verifier.verify(*signed(pki))  # the intermediate as trust anchor is enough
    verifier = RequestVerifier(APP_ID, fetcher, _certifi_roots(), Clock())
    refused(verifier, *signed(pki), "certificate chain is not trusted")


def _certifi_roots() -> list[x509.Certificate]:
    return list(verification._certifi_roots())


def test_default_trusted_roots_are_the_certifi_bundle() -> None:
    verifier = RequestVerifier(application_id=None)
    assert verifier.trusted_roots is None
    roots = _certifi_roots()
    assert len(roots) > 50
    subjects = {r.subject.rfc4514_string() for r in roots}
    assert "CN=Amazon Root CA 1,O=Amazon,C=US" in subjects


def test_empty_trusted_roots_fail_at_construction() -> None:
    with pytest.raises(ValueError):
        RequestVerifier(application_id=None, trusted_roots=[])


# --- signature -----------------------------------------------------------------------------


def test_refuses_tampered_body(pki: Pki) -> None:
    verifier, _ = make_verifier(pki)
    headers, body = signed(pki)
    tampered = body.replace(b"0000-1111", b"0000-1112")
    assert tampered != body
    refused(verifier, headers, tampered, "signature does not match the body")


@pytest.mark.parametrize("value", ["not base64!", "QUJ", "QUJD\nRA==", "Å"])
def test_refuses_bad_base64_signature(pki: Pki, value: str) -> None:
    verifier, fetcher = make_verifier(pki)
    headers, body = signed(pki)
    headers["Signature-256"] = value
    refused(verifier, headers, body, "Signature-256 is not valid base64")
    assert fetcher.calls == []


def test_refuses_signature_by_another_key(pki: Pki) -> None:
    verifier, _ = make_verifier(pki)
    refused(verifier, *signed(pki, key=pki.other_key), "signature does not match the body")


def test_refuses_sha1_or_truncated_signature(pki: Pki) -> None:
    verifier, _ = make_verifier(pki)
    headers, body = signed(pki)
    good = base64.b64decode(headers["Signature-256"])
    for sig in (sign(body, pki.leaf_key, hashes.SHA1()), base64.b64encode(good[:-1]).decode()):
        refused(verifier, {**headers, "Signature-256": sig}, body, "signature does not match")


# --- timestamp -----------------------------------------------------------------------------


def _stamp(offset_seconds: float) -> str:
    return (NOW + timedelta(seconds=offset_seconds)).isoformat().replace("+00:00", "Z")


@pytest.mark.parametrize("offset", [-151, 151, -150.001, 3600, -86400 * 400])
def test_refuses_timestamp_outside_150_seconds(pki: Pki, offset: float) -> None:
    verifier, fetcher = make_verifier(pki)
    refused(
        verifier, *signed(pki, encode(envelope(timestamp=_stamp(offset)))), "request.timestamp is "
    )
    assert fetcher.calls == []


@pytest.mark.parametrize("offset", [-149, 149, -150, 150, 0])
def test_accepts_timestamp_within_150_seconds(pki: Pki, offset: int) -> None:
    verifier, _ = make_verifier(pki)
    verifier.verify(*signed(pki, encode(envelope(timestamp=_stamp(offset)))))


def test_timestamp_message_names_the_skew(pki: Pki) -> None:
    verifier, _ = make_verifier(pki)
    body = encode(envelope(timestamp=_stamp(-151)))
    refused(verifier, *signed(pki, body), "request.timestamp is 151 s from now (max 150 s)")


@pytest.mark.parametrize(
    "stamp", ["2026-11-24T16:19:43.123Z", "2026-11-24T17:19:43+01:00", "2026-11-24T16:19:43"]
)
def test_accepts_other_iso_8601_forms(pki: Pki, stamp: str) -> None:
    verifier, _ = make_verifier(pki)
    verifier.verify(*signed(pki, encode(envelope(timestamp=stamp))))


def test_integer_epoch_milliseconds_timestamp(pki: Pki) -> None:
    now_ms = int(NOW.timestamp() * 1000)
    verifier, _ = make_verifier(pki)
    for ms in (now_ms, now_ms - 150_000, now_ms + 150_000):
        verifier.verify(*signed(pki, encode(envelope(timestamp=ms))))
    for ms in (now_ms - 150_001, now_ms + 151_000, 10**400, -(10**400)):
        refused(verifier, *signed(pki, encode(envelope(timestamp=ms))), "request.timestamp is ")


@pytest.mark.parametrize(
    ("stamp", "reason"),
    [
        (None, "request.timestamp is neither"),
        (True, "request.timestamp is neither"),
        (1.7e12, "request.timestamp is neither"),
        ({"iso": "2026"}, "request.timestamp is neither"),
        ("yesterday", "request.timestamp is not ISO 8601"),
        ("", "request.timestamp is not ISO 8601"),
        ("0001-01-01T00:00:00+01:00", "request.timestamp is > 1e9 s from now"),
    ],
)
def test_refuses_malformed_timestamp(pki: Pki, stamp: Any, reason: str) -> None:
    verifier, _ = make_verifier(pki)
    refused(verifier, *signed(pki, encode(envelope(timestamp=stamp))), reason)


def test_custom_skew(pki: Pki) -> None:
    verifier, _ = make_verifier(pki, max_timestamp_skew=timedelta(seconds=10))
    refused(
        verifier,
        *signed(pki, encode(envelope(timestamp=_stamp(11)))),
        "request.timestamp is 11 s from now (max 10 s)",
    )


# --- application id ------------------------------------------------------------------------


def test_refuses_application_id_mismatch_in_session(pki: Pki) -> None:
    verifier, fetcher = make_verifier(pki)
    body = encode(envelope(session_app_id="amzn1.ask.skill.other"))
    refused(
        verifier, *signed(pki, body), "session application id 'amzn1.ask.skill.other' is not ours"
    )
    assert fetcher.calls == []


def test_refuses_application_id_mismatch_in_context(pki: Pki) -> None:
    verifier, _ = make_verifier(pki)
    body = encode(envelope(context_app_id="amzn1.ask.skill.other"))
    refused(
        verifier, *signed(pki, body), "context application id 'amzn1.ask.skill.other' is not ours"
    )


def test_refuses_application_id_of_wrong_type(pki: Pki) -> None:
    verifier, _ = make_verifier(pki)
    body = encode(envelope(context_app_id=[APP_ID]))
    refused(verifier, *signed(pki, body), "context application id")


def test_refuses_missing_context_when_application_id_is_set(pki: Pki) -> None:
    verifier, _ = make_verifier(pki)
    value = envelope()
    del value["context"]
    refused(
        verifier,
        *signed(pki, encode(value)),
        "missing field context.System.application.applicationId",
    )
    value = envelope()
    value["session"]["application"] = "nope"
    refused(
        verifier, *signed(pki, encode(value)), "missing field session.application.applicationId"
    )


# --- malformed bodies ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (b"", "body is not JSON"),
        (b"{not json", "body is not JSON"),
        (b"\xff\xfe\xfa", "body is not JSON"),
        (b"[" * 100_000 + b"]" * 100_000, "body is not JSON"),
        (b"[1, 2]", "body is not a JSON object"),
        (b'"text"', "body is not a JSON object"),
        (b"{}", "missing field request.timestamp"),
        (b'{"request": "LaunchRequest"}', "missing field request.timestamp"),
        (b'{"request": {"type": "LaunchRequest"}}', "missing field request.timestamp"),
    ],
)
def test_refuses_malformed_body(pki: Pki, body: bytes, reason: str) -> None:
    verifier, _ = make_verifier(pki)
    refused(verifier, *signed(pki, body), reason)


def test_refuses_non_bytes_body(pki: Pki) -> None:
    verifier, _ = make_verifier(pki)
    headers, body = signed(pki)
    refused(verifier, headers, body.decode(), "body is not bytes")  # type: ignore[arg-type]


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    headers=st.dictionaries(
        st.sampled_from(["SignatureCertChainUrl", "signature-256", "X-Other"]),
        st.one_of(st.text(max_size=60), st.just(CERT_URL), st.just("QUJD")),
    ),
    body=st.one_of(
        st.binary(max_size=200),
        st.recursive(
            st.none() | st.booleans() | st.integers() | st.text(max_size=20),
            lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner),
            max_leaves=12,
        ).map(encode),
    ),
    chain=st.binary(max_size=300),
)
def test_malformed_input_only_ever_raises_verification_error(
    pki: Pki, headers: dict[str, str], body: bytes, chain: bytes
) -> None:
    verifier = RequestVerifier(APP_ID, FakeFetcher({CERT_URL: chain}), [pki.root], Clock())
    with pytest.raises(VerificationError):
        verifier.verify(headers, body)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    field=st.sampled_from(["request", "session", "context", "timestamp", "application"]),
    value=st.none()
    | st.booleans()
    | st.integers()
    | st.text(max_size=30)
    | st.lists(st.integers(), max_size=3)
    | st.dictionaries(st.text(max_size=5), st.integers(), max_size=3),
)
def test_signed_envelopes_with_odd_fields_only_raise_verification_error(
    pki: Pki, field: str, value: Any
) -> None:
    doc = envelope()
    if field == "timestamp":
        doc["request"]["timestamp"] = value
    elif field == "application":
        doc["context"]["System"]["application"] = value
    else:
        doc[field] = value
    verifier, _ = make_verifier(pki)
    with contextlib.suppress(VerificationError):
        verifier.verify(*signed(pki, encode(doc)))


# --- cache ---------------------------------------------------------------------------------


def test_cache_hit_does_not_fetch_again(pki: Pki) -> None:
    verifier, fetcher = make_verifier(pki)
    verifier.verify(*signed(pki))
    verifier.verify(*signed(pki, encode(envelope(timestamp=_stamp(5)))))
    assert fetcher.calls == [CERT_URL]


def test_cached_chain_still_needs_a_matching_signature(pki: Pki) -> None:
    verifier, _ = make_verifier(pki)
    verifier.verify(*signed(pki))
    refused(verifier, *signed(pki, key=pki.other_key), "signature does not match the body")


def test_cache_expires_with_the_leaf(pki: Pki) -> None:
    clock = Clock()
    verifier, fetcher = make_verifier(pki, clock=clock)
    verifier.verify(*signed(pki))
    clock.now = pki.leaf.not_valid_after_utc  # still valid: cache hit
    verifier.verify(*signed(pki, encode(envelope(timestamp=clock.now.isoformat()))))
    assert len(fetcher.calls) == 1
    clock.now = pki.leaf.not_valid_after_utc + timedelta(seconds=1)
    later = encode(envelope(timestamp=clock.now.isoformat()))
    refused(verifier, *signed(pki, later), "leaf certificate has expired")
    assert len(fetcher.calls) == 2  # the stale entry was dropped and the URL fetched again
    renewed = _leaf_cert(
        pki.leaf_key,
        pki.intermediate,
        pki.intermediate_key,
        not_before=clock.now - DAY,
        not_after=clock.now + 30 * DAY,
    )
    fetcher.chains[CERT_URL] = _pem(renewed, pki.intermediate)
    verifier.verify(*signed(pki, later))
    verifier.verify(*signed(pki, later))
    assert len(fetcher.calls) == 3


def test_failed_validation_is_not_cached(pki: Pki) -> None:
    verifier, fetcher = make_verifier(pki, pki.chain_untrusted)
    for _ in range(2):
        refused(verifier, *signed(pki), "certificate chain is not trusted")
    assert len(fetcher.calls) == 2


def test_cache_is_bounded_and_least_recently_used_goes_first(pki: Pki) -> None:
    urls = [f"https://s3.amazonaws.com/echo.api/cert-{i}.pem" for i in range(3)]
    fetcher = FakeFetcher(dict.fromkeys(urls, pki.chain))
    verifier = RequestVerifier(APP_ID, fetcher, [pki.root], Clock(), max_cached_chains=2)
    for url in [urls[0], urls[1], urls[0], urls[2], urls[0], urls[1]]:
        verifier.verify(*signed(pki, url=url))
    # 0 and 1 fetched; 0 hit; 2 fetched, evicting 1; 0 hit; 1 fetched again.
    assert fetcher.calls == [urls[0], urls[1], urls[2], urls[1]]


# --- the real fetcher, against a local server (no network) ---------------------------------


class _Handler(http.server.BaseHTTPRequestHandler):
    """Serves good, oversized, failing and slow responses for the fetch tests."""

    release: threading.Event
    good_body = b"-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n"

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_GET(self) -> None:
        with contextlib.suppress(OSError):  # the client gave up, as it should
            self._route()

    def _route(self) -> None:
        if self.path == "/echo.api/good.pem":
            self._send(200, self.good_body, length=True)
        elif self.path == "/echo.api/endless.pem":  # no Content-Length, never ends
            self.send_response(200)
            self.end_headers()
            while not self.release.is_set():
                self.wfile.write(b"A" * 16384)
        elif self.path == "/echo.api/exact.pem":
            self._send(200, b"A" * MAX_CHAIN_BYTES, length=False)
        elif self.path == "/echo.api/declared-big.pem":
            self.send_response(200)
            self.send_header("Content-Length", str(10 * 1024 * 1024))
            self.end_headers()
            self.wfile.write(b"A" * 100)
            self.release.wait(5)
        elif self.path == "/echo.api/short.pem":  # promises more than it sends, then closes
            self.send_response(200)
            self.send_header("Content-Length", "1000")
            self.end_headers()
            self.wfile.write(self.good_body)
        elif self.path == "/echo.api/missing.pem":
            self._send(404, b"no", length=True)
        elif self.path == "/echo.api/silent.pem":  # says nothing at all
            self.release.wait(5)
        elif self.path == "/echo.api/drip-headers.pem":
            self.wfile.write(b"HTTP/1.0 200 OK\r\n")
            while not self.release.wait(0.05):
                self.wfile.write(b"X-Drip: a\r\n")
        elif self.path == "/echo.api/drip-body.pem":
            self.send_response(200)
            self.send_header("Content-Length", "10000")
            self.end_headers()
            while not self.release.wait(0.05):
                self.wfile.write(b"A")

    def _send(self, status: int, body: bytes, *, length: bool) -> None:
        self.send_response(status)
        if length:
            self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


@pytest.fixture(scope="module")
def local_server() -> Iterator[str]:
    release = threading.Event()
    handler = type("Handler", (_Handler,), {"release": release})
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        release.set()
        server.shutdown()
        server.server_close()
        thread.join(5)


def _get(url: str, timeout: float = 0.4) -> bytes:
    return verification._http_get(
        url,
        timeout=timeout,
        max_bytes=MAX_CHAIN_BYTES,
        connection_factory=http.client.HTTPConnection,
    )


def test_http_get_returns_the_body(local_server: str) -> None:
    assert _get(f"{local_server}/echo.api/good.pem") == _Handler.good_body
    assert _get(f"{local_server}/echo.api/exact.pem") == b"A" * MAX_CHAIN_BYTES


@pytest.mark.parametrize("path", ["/echo.api/endless.pem", "/echo.api/declared-big.pem"])
def test_http_get_stops_reading_past_the_size_limit(local_server: str, path: str) -> None:
    with pytest.raises(VerificationError, match=r"^certificate chain is larger than 65536 bytes$"):
        _get(local_server + path)


def test_http_get_refuses_a_body_cut_short(local_server: str) -> None:
    with pytest.raises(VerificationError, match=r"^certificate chain fetch was cut short$"):
        _get(f"{local_server}/echo.api/short.pem")


def test_http_get_refuses_an_error_status(local_server: str) -> None:
    with pytest.raises(VerificationError, match=r"^certificate chain fetch returned HTTP 404$"):
        _get(f"{local_server}/echo.api/missing.pem")


@pytest.mark.parametrize(
    "path", ["/echo.api/silent.pem", "/echo.api/drip-headers.pem", "/echo.api/drip-body.pem"]
)
def test_http_get_gives_up_at_the_deadline(local_server: str, path: str) -> None:
    started = time.monotonic()
    timed_out = r"^certificate chain fetch timed out after 0\.4 s$"
    with pytest.raises(VerificationError, match=timed_out):
        _get(local_server + path, timeout=0.4)
    elapsed = time.monotonic() - started
    assert 0.35 < elapsed < 1.4, elapsed  # the servers would go on for 5 s or more


def test_http_get_refuses_a_closed_port() -> None:
    with pytest.raises(VerificationError, match=r"^certificate chain fetch failed: "):
        _get("http://127.0.0.1:1/echo.api/x.pem")


def test_fetch_over_https_refuses_plain_http_without_connecting(local_server: str) -> None:
    with pytest.raises(VerificationError, match=r"^certificate chain URL is not https$"):
        fetch_over_https(f"{local_server}/echo.api/good.pem")


def test_fetch_over_https_refuses_a_server_without_tls(local_server: str) -> None:
    https_url = local_server.replace("http://", "https://") + "/echo.api/good.pem"
    with pytest.raises(VerificationError, match=r"^certificate chain fetch failed: "):
        fetch_over_https(https_url, timeout=1.0)


def test_fetch_over_https_defaults() -> None:
    assert fetch_over_https.__kwdefaults__ == {"timeout": 3.0, "max_bytes": 64 * 1024}
    assert RequestVerifier(application_id=None).fetch_certificate_chain is fetch_over_https
