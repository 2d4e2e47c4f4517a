"""Proof that a request comes from Alexa, for this skill, just now (Alexa's web-service rules)."""

from __future__ import annotations

import base64
import contextlib
import functools
import http.client
import json
import posixpath
import re
import socket
import ssl
import threading
import time
import warnings
from collections import OrderedDict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import unquote, urlsplit

import certifi
from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.utils import CryptographyDeprecationWarning
from cryptography.x509.verification import DNSName, PolicyBuilder, Store
from cryptography.x509.verification import VerificationError as ChainVerificationError

CERT_URL_HEADER = "SignatureCertChainUrl"
SIGNATURE_HEADER = "Signature-256"
CERT_URL_HOST = "s3.amazonaws.com"
CERT_URL_PATH_PREFIX = "/echo.api/"
CERT_URL_PORT = 443
CERT_SAN = "echo-api.amazon.com"
FETCH_TIMEOUT_SECONDS = 3.0
MAX_CHAIN_BYTES = 64 * 1024
MAX_CACHED_CHAINS = 16
_READ_CHUNK = 16 * 1024
_PEM_CERT = re.compile(rb"-----BEGIN CERTIFICATE-----.+?-----END CERTIFICATE-----", re.DOTALL)
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND = timedelta(microseconds=1)


class VerificationError(Exception):
    """Why a request was refused (for the log only; never sent to the client)."""


def utc_now() -> datetime:
    """The current time as a timezone-aware UTC datetime."""
    return datetime.now(UTC)


def fetch_over_https(
    url: str, *, timeout: float = FETCH_TIMEOUT_SECONDS, max_bytes: int = MAX_CHAIN_BYTES
) -> bytes:
    """GET an https URL (server checked against certifi) within `timeout` s and `max_bytes`."""
    if urlsplit(url).scheme.lower() != "https":
        raise VerificationError("certificate chain URL is not https")
    context = ssl.create_default_context(cafile=certifi.where())
    factory = functools.partial(http.client.HTTPSConnection, context=context)
    return _http_get(url, timeout=timeout, max_bytes=max_bytes, connection_factory=factory)


def _http_get(
    url: str,
    *,
    timeout: float,
    max_bytes: int,
    connection_factory: Callable[..., http.client.HTTPConnection],
) -> bytes:
    """GET `url` with one overall deadline and a size cap; every failure is a VerificationError."""
    parts = urlsplit(url)
    try:
        port = parts.port
    except ValueError as exc:
        raise VerificationError("certificate chain URL has a bad port") from exc
    if not parts.hostname:
        raise VerificationError("certificate chain URL has no host")
    target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    deadline = time.monotonic() + timeout
    conn = connection_factory(parts.hostname, port, timeout=timeout)
    fired = threading.Event()
    watchdog: threading.Timer | None = None
    try:
        conn.connect()
        sock = conn.sock
        remaining = deadline - time.monotonic()
        if sock is None or remaining <= 0:
            raise TimeoutError
        # Socket timeouts bound each wait, not the whole exchange: the watchdog ends a server
        # that trickles bytes by shutting the socket down at the deadline.
        watchdog = threading.Timer(remaining, _abort, args=(sock, fired))
        watchdog.daemon = True
        watchdog.start()
        conn.request("GET", target, headers={"Accept": "application/x-pem-file, */*"})
        response = conn.getresponse()
        if fired.is_set():
            raise TimeoutError
        if response.status != 200:
            raise VerificationError(f"certificate chain fetch returned HTTP {response.status}")
        declared = (response.getheader("Content-Length") or "").strip()
        if declared.isdigit() and int(declared) > max_bytes:
            raise VerificationError(f"certificate chain is larger than {max_bytes} bytes")
        data = bytearray()
        while len(data) <= max_bytes:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError
            sock.settimeout(remaining)
            chunk = response.read1(min(_READ_CHUNK, max_bytes + 1 - len(data)))
            if not chunk:
                break
            data += chunk
        if fired.is_set():
            raise TimeoutError
        if response.length:  # bytes still owed by a Content-Length the server did not send
            raise VerificationError("certificate chain fetch was cut short")
        if len(data) > max_bytes:
            raise VerificationError(f"certificate chain is larger than {max_bytes} bytes")
        return bytes(data)
    except VerificationError:
        raise
    except Exception as exc:  # any failure of the network exchange is a refusal
        if fired.is_set() or time.monotonic() >= deadline or isinstance(exc, TimeoutError):
            reason = f"certificate chain fetch timed out after {timeout:g} s"
        else:
            reason = f"certificate chain fetch failed: {type(exc).__name__}"
        raise VerificationError(reason) from exc
    finally:
        if watchdog is not None:
            watchdog.cancel()
        conn.close()


def _abort(sock: socket.socket, fired: threading.Event) -> None:
    """Watchdog: wake a blocked read by shutting the raw socket down (TLS layer bypassed)."""
    fired.set()
    with contextlib.suppress(OSError):
        socket.socket.shutdown(sock, socket.SHUT_RDWR)


def check_cert_chain_url(url: str) -> None:
    """Raise VerificationError unless `url` is https://s3.amazonaws.com[:443]/echo.api/..."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise VerificationError("certificate URL is not parseable") from exc
    if parts.scheme.lower() != "https":
        raise VerificationError("certificate URL scheme is not https")
    if parts.hostname != CERT_URL_HOST:  # urlsplit lower-cases hostname
        raise VerificationError(f"certificate URL host is not {CERT_URL_HOST}")
    if parts.username is not None or parts.password is not None:
        raise VerificationError("certificate URL has user info")
    if port is not None and port != CERT_URL_PORT:
        raise VerificationError(f"certificate URL port is not {CERT_URL_PORT}")
    if not posixpath.normpath(unquote(parts.path)).startswith(CERT_URL_PATH_PREFIX):
        raise VerificationError(f"certificate URL path is not under {CERT_URL_PATH_PREFIX}")


@functools.cache
def _certifi_roots() -> tuple[x509.Certificate, ...]:
    """The certifi bundle's roots, one by one, skipping any this cryptography can't parse."""
    with open(certifi.where(), "rb") as bundle:
        data = bundle.read()
    roots = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", CryptographyDeprecationWarning)
        for block in _PEM_CERT.findall(data):
            try:
                roots.append(x509.load_pem_x509_certificate(block))
            except ValueError:
                continue
    return tuple(roots)


@dataclass(frozen=True)
class _CachedKey:
    """A validated chain's leaf key and the window in which every cert in it is valid."""

    public_key: rsa.RSAPublicKey
    not_before: datetime
    not_after: datetime


@dataclass
class RequestVerifier:
    """Checks headers, cert URL, chain, signature, timestamp and skill id of one request."""

    application_id: str | None
    fetch_certificate_chain: Callable[[str], bytes] = fetch_over_https
    trusted_roots: Sequence[x509.Certificate] | None = None
    clock: Callable[[], datetime] = utc_now
    max_timestamp_skew: timedelta = timedelta(seconds=150)
    max_cached_chains: int = MAX_CACHED_CHAINS
    _cache: OrderedDict[str, _CachedKey] = field(
        default_factory=OrderedDict, init=False, repr=False
    )
    _lock: threading.Lock = field(default_factory=threading.Lock, init=False, repr=False)
    _store: Store = field(init=False, repr=False)

    def __post_init__(self) -> None:
        """Build the trust store once (at start-up, so a bad root list fails early)."""
        roots = _certifi_roots() if self.trusted_roots is None else self.trusted_roots
        self._store = Store(list(roots))

    def verify(self, headers: Mapping[str, str], body: bytes) -> None:
        """Return if the request is Alexa's, fresh and for this skill; else VerificationError."""
        cert_url = _header(headers, CERT_URL_HEADER)
        signature = _decode_signature(_header(headers, SIGNATURE_HEADER))
        check_cert_chain_url(cert_url)
        if not isinstance(body, bytes | bytearray):
            raise VerificationError("body is not bytes")
        envelope = _parse_envelope(body)
        now = self._now()
        self._check_timestamp(envelope, now)
        self._check_application_id(envelope)
        public_key = self._leaf_key(cert_url, now)
        try:
            public_key.verify(signature, bytes(body), padding.PKCS1v15(), hashes.SHA256())
        except (InvalidSignature, ValueError) as exc:
            raise VerificationError("signature does not match the body") from exc

    def _now(self) -> datetime:
        """The injected clock's time, taken as UTC when it is naive."""
        now = self.clock()
        return now if now.tzinfo is not None else now.replace(tzinfo=UTC)

    def _check_timestamp(self, envelope: dict[str, Any], now: datetime) -> None:
        """request.timestamp (ISO 8601, or epoch milliseconds) must be within the skew of now."""
        value = _dig(envelope, "request", "timestamp")
        if isinstance(value, int) and not isinstance(value, bool):
            skew_us = abs((now - _EPOCH) // _MICROSECOND - value * 1000)
        elif isinstance(value, str):
            try:
                sent = datetime.fromisoformat(value)
                if sent.tzinfo is None:
                    sent = sent.replace(tzinfo=UTC)
                skew_us = abs(now - sent) // _MICROSECOND
            except (ValueError, OverflowError) as exc:
                raise VerificationError("request.timestamp is not ISO 8601") from exc
        else:
            raise VerificationError("request.timestamp is neither a string nor an integer")
        limit_us = self.max_timestamp_skew // _MICROSECOND
        if skew_us > limit_us:
            reason = (
                f"request.timestamp is {_seconds_text(skew_us)} s from now"
                f" (max {_seconds_text(limit_us)} s)"
            )
            raise VerificationError(reason)

    def _check_application_id(self, envelope: dict[str, Any]) -> None:
        """Both the session's (if any) and the context's application id must be ours."""
        if self.application_id is None:
            return
        if envelope.get("session") is not None:
            found = _dig(envelope, "session", "application", "applicationId")
            if found != self.application_id:
                raise VerificationError(f"session application id {found!r:.80} is not ours")
        found = _dig(envelope, "context", "System", "application", "applicationId")
        if found != self.application_id:
            raise VerificationError(f"context application id {found!r:.80} is not ours")

    def _leaf_key(self, url: str, now: datetime) -> rsa.RSAPublicKey:
        """The leaf's public key for `url`: from the cache while valid, else fetched and checked."""
        with self._lock:
            cached = self._cache.get(url)
            if cached is not None:
                if cached.not_before <= now <= cached.not_after:
                    self._cache.move_to_end(url)
                    return cached.public_key
                del self._cache[url]
        try:
            pem = self.fetch_certificate_chain(url)
        except VerificationError:
            raise
        except Exception as exc:  # an injected fetcher may raise anything
            reason = f"could not fetch certificate chain: {type(exc).__name__}"
            raise VerificationError(reason) from exc
        entry = self._validate_chain(pem, now)
        with self._lock:
            self._cache[url] = entry
            self._cache.move_to_end(url)
            while len(self._cache) > max(self.max_cached_chains, 0):
                self._cache.popitem(last=False)
        return entry.public_key

    def _validate_chain(self, pem: bytes, now: datetime) -> _CachedKey:
        """Parse the PEM chain (leaf first), check the leaf, and validate it to a trusted root."""
        if not isinstance(pem, bytes | bytearray):
            raise VerificationError("certificate chain is not bytes")
        if len(pem) > MAX_CHAIN_BYTES:
            raise VerificationError(f"certificate chain is larger than {MAX_CHAIN_BYTES} bytes")
        try:
            certs = x509.load_pem_x509_certificates(bytes(pem))
        except ValueError as exc:
            raise VerificationError("certificate chain is not PEM") from exc
        leaf, intermediates = certs[0], certs[1:]
        if now < leaf.not_valid_before_utc:
            raise VerificationError("leaf certificate is not yet valid")
        if now > leaf.not_valid_after_utc:
            raise VerificationError("leaf certificate has expired")
        try:
            san = leaf.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
            names = [name.lower() for name in san.get_values_for_type(x509.DNSName)]
        except x509.ExtensionNotFound:
            names = []
        except ValueError as exc:
            raise VerificationError("leaf certificate extensions are malformed") from exc
        if CERT_SAN not in names:
            raise VerificationError(f"leaf certificate lacks SAN {CERT_SAN}")
        try:
            public_key = leaf.public_key()
        except Exception as exc:  # unsupported or malformed key
            raise VerificationError("leaf certificate key is unreadable") from exc
        if not isinstance(public_key, rsa.RSAPublicKey):
            raise VerificationError("leaf certificate key is not RSA")
        verifier = (
            PolicyBuilder().store(self._store).time(now).build_server_verifier(DNSName(CERT_SAN))
        )
        try:
            chain = verifier.verify(leaf, intermediates)
        except ChainVerificationError as exc:
            raise VerificationError(f"certificate chain is not trusted: {exc}") from exc
        return _CachedKey(
            public_key=public_key,
            not_before=max(cert.not_valid_before_utc for cert in chain),
            not_after=min(cert.not_valid_after_utc for cert in chain),
        )


def _header(headers: Mapping[str, str], name: str) -> str:
    """The one value of header `name`, matched case-insensitively, in a dict or Flask headers."""
    wanted = name.lower()
    try:
        values = [v for k, v in headers.items() if isinstance(k, str) and k.lower() == wanted]
    except Exception as exc:  # not a mapping at all
        raise VerificationError("headers are unreadable") from exc
    if not values:
        raise VerificationError(f"missing {name} header")
    if len(set(values)) > 1:
        raise VerificationError(f"conflicting {name} headers")
    value = values[0]
    if not isinstance(value, str) or not value.strip():
        raise VerificationError(f"empty {name} header")
    return value.strip()


def _decode_signature(value: str) -> bytes:
    """The Signature-256 header decoded from strict base64."""
    try:
        return base64.b64decode(value, validate=True)
    except ValueError as exc:  # binascii.Error, or non-ASCII text
        raise VerificationError(f"{SIGNATURE_HEADER} is not valid base64") from exc


def _parse_envelope(body: bytes | bytearray) -> dict[str, Any]:
    """The request body as a JSON object."""
    try:
        envelope = json.loads(body)
    except (ValueError, RecursionError) as exc:  # JSONDecodeError and UnicodeDecodeError too
        raise VerificationError("body is not JSON") from exc
    if not isinstance(envelope, dict):
        raise VerificationError("body is not a JSON object")
    return envelope


def _seconds_text(microseconds: int) -> str:
    """Microseconds as short seconds text for a log line ("151", "150.001", "> 1e9")."""
    whole, fraction = divmod(microseconds, 1_000_000)
    if whole >= 10**9:
        return "> 1e9"
    return f"{whole}.{fraction:06d}".rstrip("0").rstrip(".")


def _dig(envelope: dict[str, Any], *path: str) -> Any:
    """envelope[path[0]][path[1]]...; VerificationError naming the path if any step is missing."""
    node: Any = envelope
    for key in path:
        if not isinstance(node, dict) or key not in node:
            raise VerificationError(f"missing field {'.'.join(path)}")
        node = node[key]
    return node
