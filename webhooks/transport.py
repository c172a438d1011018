"""Sending one webhook request to a URL that a shop owner typed in, without letting that URL reach inside our network.

Threat model. Endpoint URLs come from customers, so an attacker can point one at anything our servers can reach:
the cloud metadata service (``169.254.169.254`` hands out credentials), the database, an admin port on
``localhost``, a neighbour on ``10.0.0.0/8``. Server-side request forgery is refused here, at the last moment,
rather than when the URL is saved:

- *Checked when the request is made.* A host name that resolved to a public address when the endpoint was saved
  can resolve to ``127.0.0.1`` tomorrow; only the answer used for this connection matters. Every address of the
  answer is checked (not just the first), so a name listing one public and one private address is refused.
- *Connected to the vetted IP itself.* Resolving once to check and letting the HTTP client resolve again to connect
  leaves a window in which a short-TTL record flips to an internal address (DNS rebinding). The connection pool is
  opened on the checked IP literal, so no second lookup happens; the hostname travels only where it belongs: the
  ``Host`` header and, for https, TLS SNI and certificate verification.
- *Addresses, not spellings.* ``http://2130706433/``, ``http://[::ffff:127.0.0.1]/`` and ``http://0x7f.1/`` are
  all loopback; the check looks at what the resolver returned, including IPv4 addresses embedded in IPv6 forms
  (IPv4-mapped, 6to4, Teredo, NAT64).
- *Redirects are never followed*: a public receiver answering ``302 Location: http://169.254.169.254/`` would
  otherwise be a trampoline past every check above.
- *A hostile receiver cannot hold us*: short connect/read timeouts, a wall-clock deadline on reading the answer,
  and at most ``max_response_bytes`` read into memory.
- *Proxies from the environment are not used* (urllib3's pools do not read ``HTTP_PROXY``), so the vetted address
  is the one connected to.

``allow_private=True`` switches the address check off for local development and tests; the other rules stay.

urllib3 does the HTTP: ``HTTPSConnectionPool(ip, server_hostname=host)`` connects to the IP, sends SNI for the host
and lets the ``ssl`` module verify the certificate against the host name during the handshake, which is exactly the
pinning above without hand-written HTTP or TLS code. (``requests`` is not used: it resolves names itself, follows
proxies from the environment and has no clean way to pin the IP.)
"""

import http.client
import ipaddress
import socket
import time
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import urlsplit

import urllib3
from urllib3.exceptions import (
    ConnectTimeoutError,
    NewConnectionError,
    ProtocolError,
    ReadTimeoutError,
    SSLError,
)

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

EXCERPT_BYTES = 1024
DEFAULT_PORTS = {"http": 80, "https": 443}
# A name with many addresses must not multiply the connect timeout without bound; two covers one per family.
MAX_ADDRESSES_TRIED = 2
_READ_CHUNK = 16 * 1024
_LOCATION_SHOWN = 200

_SHARED_ADDRESS_SPACE = ipaddress.ip_network("100.64.0.0/10")  # RFC 6598 carrier-grade NAT; not is_private in 3.11
_NAT64_PREFIX = ipaddress.ip_network("64:ff9b::/96")  # RFC 6052: the last 32 bits are an IPv4 address


@dataclass(frozen=True)
class DeliveryOutcome:
    """What one delivery attempt came to; ``error`` is "" exactly when the receiver answered 2xx."""

    status_code: int | None
    latency_ms: int
    response_excerpt: str
    error: str

    @property
    def ok(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300


class _Refused(Exception):
    """The delivery stops before (or instead of) connecting; the message becomes the outcome's error."""


@dataclass(frozen=True)
class _Target:
    scheme: str
    host: str  # lower-case, ASCII (IDNA), IPv6 without brackets
    port: int
    path: str  # path and query, as sent on the request line

    @property
    def host_header(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return host if self.port == DEFAULT_PORTS[self.scheme] else f"{host}:{self.port}"


def forbidden_reason(address: IPAddress) -> str | None:
    """Return why a public webhook must not reach ``address`` (e.g. ``"loopback"``), or None if it is public.

    IPv6 forms that carry an IPv4 address (IPv4-mapped, 6to4, Teredo, NAT64) are judged by that address too.
    """
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            # ::ffff:a.b.c.d is only another spelling of a.b.c.d: a dual-stack socket connects to the IPv4 host.
            inner = forbidden_reason(address.ipv4_mapped)
            return f"IPv4-mapped {inner}" if inner else None
        embedded = [
            ("6to4", address.sixtofour),
            *(("Teredo", teredo_part) for teredo_part in address.teredo or ()),
            ("NAT64", ipaddress.IPv4Address(int(address) & 0xFFFFFFFF) if address in _NAT64_PREFIX else None),
        ]
        for form, ipv4 in embedded:
            inner = forbidden_reason(ipv4) if ipv4 is not None else None
            if inner:
                return f"{form} form of a {inner}"
    if address.is_unspecified:
        return "unspecified"
    if address.is_loopback:
        return "loopback"
    if address.is_link_local:
        return "link-local"
    if address.is_multicast:
        return "multicast"
    if isinstance(address, ipaddress.IPv4Address) and address in _SHARED_ADDRESS_SPACE:
        return "shared (carrier-grade NAT)"
    if address.is_reserved:
        return "reserved"
    if address.is_private:
        return "private"
    if not address.is_global:  # whatever else the IANA special-purpose registries say is not on the internet
        return "non-global"
    return None


def deliver(
    *,
    url: str,
    body: bytes,
    headers: dict[str, str],
    allow_private: bool,
    connect_timeout: float = 3.0,
    read_timeout: float = 5.0,
    max_response_bytes: int = 64 * 1024,
) -> DeliveryOutcome:
    """POST ``body`` with ``headers`` to ``url`` once, and say how it went; never raises for network trouble.

    The host is resolved now and, unless ``allow_private``, refused if any of its addresses is not public; the
    connection goes to the vetted address. Redirects are reported, not followed. ``read_timeout`` bounds each wait
    for the answer and, separately, the whole reading of its body, of which at most ``max_response_bytes`` are read.
    ``latency_ms`` is the wall time of the whole attempt, lookup included.
    """
    started = time.monotonic()

    def outcome(*, status_code: int | None = None, excerpt: bytes = b"", error: str) -> DeliveryOutcome:
        return DeliveryOutcome(
            status_code=status_code,
            latency_ms=round((time.monotonic() - started) * 1000),
            response_excerpt=excerpt[:EXCERPT_BYTES].decode("utf-8", errors="replace"),
            error=error,
        )

    try:
        target = _parse_target(url)
        addresses = _resolve(target)
        if not allow_private:
            _refuse_forbidden(target=target, addresses=addresses)
        return _post(
            target=target,
            addresses=addresses,
            body=body,
            headers=headers,
            connect_timeout=connect_timeout,
            read_timeout=read_timeout,
            max_response_bytes=max_response_bytes,
            outcome=outcome,
        )
    except _Refused as refused:
        return outcome(error=str(refused))


def _parse_target(url: str) -> _Target:
    parts = urlsplit(url.strip())
    scheme = parts.scheme.lower()
    if scheme not in DEFAULT_PORTS:
        raise _Refused(f"only http and https URLs are delivered, not {scheme + ':' if scheme else 'a relative URL'}")
    if parts.username is not None or parts.password is not None:
        raise _Refused("credentials in the URL are not supported")
    if not parts.hostname:
        raise _Refused("the URL has no host")
    try:
        port = parts.port or DEFAULT_PORTS[scheme]
    except ValueError:
        raise _Refused("the URL has an invalid port")
    try:
        # The Host header and SNI must be ASCII; the stdlib codec turns an internationalised name into its A-label.
        host = parts.hostname.encode("idna").decode("ascii")
    except UnicodeError:
        raise _Refused(f"invalid host name {parts.hostname!r}")
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    return _Target(scheme=scheme, host=host, port=port, path=path)


def _resolve(target: _Target) -> list[IPAddress]:
    try:
        answers = socket.getaddrinfo(target.host, target.port, type=socket.SOCK_STREAM, proto=socket.IPPROTO_TCP)
    except (OSError, UnicodeError) as exc:
        raise _Refused(f"DNS lookup failed for {target.host}: {exc}")
    addresses = [
        ipaddress.ip_address(sockaddr[0])
        for family, _type, _proto, _name, sockaddr in answers
        if family in (socket.AF_INET, socket.AF_INET6)
    ]
    if not addresses:
        raise _Refused(f"DNS lookup for {target.host} returned no IP address")
    return list(dict.fromkeys(addresses))  # unique, in the resolver's order of preference


def _refuse_forbidden(*, target: _Target, addresses: list[IPAddress]) -> None:
    for address in addresses:
        reason = forbidden_reason(address)
        if reason:
            via = "" if _is_literal(target.host, address) else f" (from {target.host})"
            raise _Refused(
                f"refused to connect to {_shown(address)}{via}: {reason} address; private targets are not allowed"
            )


def _is_literal(host: str, address: IPAddress) -> bool:
    try:
        return ipaddress.ip_address(host) == address
    except ValueError:
        return False


def _shown(address: IPAddress) -> str:
    # Python 3.11 prints ::ffff:127.0.0.1 as ::ffff:7f00:1, which hides the address a reader is looking for.
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return f"::ffff:{address.ipv4_mapped}"
    return str(address)


def _post(
    *,
    target: _Target,
    addresses: list[IPAddress],
    body: bytes,
    headers: dict[str, str],
    connect_timeout: float,
    read_timeout: float,
    max_response_bytes: int,
    outcome: Callable[..., DeliveryOutcome],
) -> DeliveryOutcome:
    # Our Host wins over any in the caller's headers: it must name the host that was vetted and verified.
    request_headers = {name: value for name, value in headers.items() if name.lower() != "host"}
    request_headers["Host"] = target.host_header
    # Compressed answers would make the byte cap meaningless and the excerpt unreadable.
    request_headers.setdefault("Accept-Encoding", "identity")
    timeout = urllib3.Timeout(connect=connect_timeout, read=read_timeout)
    last_connect_error = ""
    for address in addresses[:MAX_ADDRESSES_TRIED]:
        with _pool_for(target=target, address=address, timeout=timeout) as pool:
            try:
                response = pool.urlopen(
                    "POST",
                    target.path,
                    body=body,
                    headers=request_headers,
                    retries=False,
                    redirect=False,
                    assert_same_host=False,
                    preload_content=False,
                    decode_content=False,
                )
            except NewConnectionError as exc:
                # Nothing was sent: trying the host's next address cannot deliver twice.
                last_connect_error = f"could not connect to {address} port {target.port}: {_os_reason(exc)}"
                continue
            except ConnectTimeoutError:
                last_connect_error = f"connect timeout ({connect_timeout} s) to {address} port {target.port}"
                continue
            except ReadTimeoutError:
                return outcome(error=f"no answer within the read timeout ({read_timeout} s)")
            except SSLError as exc:
                return outcome(error=f"TLS error with {target.host}: {exc}")
            except ProtocolError as exc:
                return outcome(error=f"connection to {address} broken: {_os_reason(exc)}")
            except (urllib3.exceptions.HTTPError, http.client.HTTPException, OSError) as exc:
                return outcome(error=f"HTTP error with {target.host}: {exc}")
            try:
                excerpt = _read_capped(response, limit=max_response_bytes, seconds=read_timeout)
            finally:
                response.close()  # unread bytes stay on the wire; the socket is closed, never reused
            return outcome(status_code=response.status, excerpt=excerpt, error=_status_error(response))
    return outcome(error=last_connect_error)


def _pool_for(*, target: _Target, address: IPAddress, timeout: urllib3.Timeout) -> urllib3.HTTPConnectionPool:
    if target.scheme == "https":
        # server_hostname: SNI and the ssl module's own hostname check against the certificate, for the name,
        # while the TCP connection goes to the vetted IP.
        return urllib3.HTTPSConnectionPool(
            str(address),
            target.port,
            timeout=timeout,
            retries=False,
            maxsize=1,
            cert_reqs="CERT_REQUIRED",
            server_hostname=target.host,
        )
    return urllib3.HTTPConnectionPool(str(address), target.port, timeout=timeout, retries=False, maxsize=1)


def _read_capped(response: urllib3.BaseHTTPResponse, *, limit: int, seconds: float) -> bytes:
    # read1 returns after one receive, so the wall-clock deadline is checked between receives: a receiver that
    # dribbles one byte at a time cannot keep us reading for read_timeout per byte.
    deadline = time.monotonic() + seconds
    chunks: list[bytes] = []
    received = 0
    while received < limit and time.monotonic() < deadline:
        try:
            chunk = response.read1(min(_READ_CHUNK, limit - received), decode_content=False)
        except (urllib3.exceptions.HTTPError, http.client.HTTPException, OSError):
            break  # the status line already arrived; a broken body only shortens the excerpt
        if not chunk:
            break
        chunks.append(chunk)
        received += len(chunk)
    return b"".join(chunks)


def _status_error(response: urllib3.BaseHTTPResponse) -> str:
    status = response.status
    if 200 <= status < 300:
        return ""
    if 300 <= status < 400:
        location = response.headers.get("Location")
        if location is None:
            return f"redirect not followed ({status} without Location)"
        shown = location if len(location) <= _LOCATION_SHOWN else location[:_LOCATION_SHOWN] + "…"
        return f"redirect not followed ({status} to {shown})"
    return f"receiver answered HTTP {status}"


def _os_reason(exc: Exception) -> str:
    # urllib3 wraps the socket error; its own message repeats the pool's repr, the OS error says what happened.
    cause = exc.__cause__ or exc.__context__
    for candidate in (cause, *(exc.args if isinstance(exc, ProtocolError) else ())):
        if isinstance(candidate, OSError) and candidate.strerror:
            return candidate.strerror
    return str(cause or exc)
