"""The HTTP client for sources: SSRF-safe, capped, conditional, redirect-aware.

Every URL an administrator adds is fetched through :class:`Fetcher` (httpx over httpcore, the
HTTP stack python-telegram-bot already loads, so no second one). What it guarantees:

* **Addresses.** Only ``http``/``https``; a host that is a loopback, private, link-local,
  site-local, multicast, reserved, unspecified or IPv4-mapped address is refused (a NAT64
  address, DNS64's answer on an IPv6-only network, by the IPv4 address inside), whether
  written as an IP literal or reached through DNS: httpcore's network backend
  (:class:`SafeBackend`) resolves the name through :class:`SafeResolver`, which drops such
  addresses, and connects to an address that was checked (no second lookup to rebind); it checks
  the peer address of each new connection again before a request is written to it. Legacy
  numeric forms (``2130706433``, ``0x7f.1``) are refused. Redirects are followed by hand (at
  most ``MAX_REDIRECTS``) and every hop is checked. ``DIGESTBOT_FETCH_ALLOW`` (comma-separated
  host names and CIDRs) exempts a self-hosted RSSHub or a test server.
* **Caps.** The body is read raw (not decoded by httpx) and inflated here with a bound on the
  output, so a gzip bomb stops at the cap (``max_bytes``, on the decompressed size) like a huge
  plain body does; the body as sent is held to the same cap. Timeouts on connect, on each read
  and in total.
* **Politeness.** A truthful User-Agent, at most ``PER_HOST`` connections per host, conditional
  GET (``If-None-Match``/``If-Modified-Since``; a 304 is :attr:`Response.not_modified`).
* **Redirects.** :attr:`Response.permanent_url` is the new address when every hop was permanent
  (301/308); a temporary hop (302/303/307) keeps the stored URL.

Every failure is a :class:`FetchError` whose message is one line for administrators.
"""

from __future__ import annotations

import asyncio
import ipaddress
import os
import re
import socket
import ssl
import zlib
from collections.abc import AsyncIterable, AsyncIterator, Iterable
from dataclasses import dataclass, field
from email.utils import parsedate_to_datetime
from typing import Any, Protocol
from urllib.parse import urljoin, urlsplit

import httpcore
import httpx

from .errors import DigestError
from .once import once

FEED_MAX_BYTES = 5 * 1024 * 1024
PAGE_MAX_BYTES = 2 * 1024 * 1024
PER_HOST = 2
MAX_REDIRECTS = 5
CONNECT_TIMEOUT = 10.0
READ_TIMEOUT = 20.0
TOTAL_TIMEOUT = 40.0
USER_AGENT = "digestbot/0.1 (news digest bot; feed reader; httpx)"
ALLOW_ENV = "DIGESTBOT_FETCH_ALLOW"
_NUMERIC_HOST = re.compile(r"^(0x[0-9a-f]+|\d+)(\.(0x[0-9a-f]+|\d+)){0,3}\.?$", re.IGNORECASE)


class FetchError(DigestError):
    """A URL could not be fetched; ``str(error)`` is a one-line reason."""

    def __init__(self, reason: str, *, status: int | None = None, retry_after: float | None = None):
        super().__init__(reason)
        self.reason = reason
        self.status = status
        self.retry_after = retry_after


class Refused(FetchError):
    """The URL points at an address or scheme this program will not fetch."""


@dataclass(frozen=True)
class Policy:
    """Which hosts and networks are exempt from the address checks."""

    hosts: frozenset[str] = frozenset()
    networks: tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...] = ()

    @classmethod
    def from_env(cls, env: dict[str, str] | None = None) -> Policy:
        return cls.parse((env if env is not None else os.environ).get(ALLOW_ENV, ""))

    @classmethod
    def parse(cls, text: str) -> Policy:
        hosts: set[str] = set()
        networks = []
        for part in re.split(r"[,\s]+", text.strip()):
            if not part:
                continue
            try:
                networks.append(ipaddress.ip_network(part, strict=False))
            except ValueError:
                hosts.add(part.lower().rstrip("."))
        return cls(frozenset(hosts), tuple(networks))

    def host_allowed(self, host: str) -> bool:
        return host.lower().rstrip(".") in self.hosts

    def address_allowed(self, address: str) -> bool:
        try:
            ip = ipaddress.ip_address(address.split("%", 1)[0])
        except ValueError:
            return False
        return any(ip in net for net in self.networks)


_NAT64 = ipaddress.IPv6Network("64:ff9b::/96")  # the well-known NAT64 prefix (RFC 6052)


def address_problem(address: str) -> str | None:
    """Why ``address`` may not be connected to, or ``None`` when it is a public address."""
    try:
        ip = ipaddress.ip_address(address.split("%", 1)[0])
    except ValueError:
        return "not an IP address"
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            return "an IPv4-mapped IPv6 address"
        if ip.sixtofour is not None or ip.teredo is not None:
            return "a tunnelled IPv6 address"
        if ip.is_site_local:  # fec0::/10, deprecated but routed where still configured
            return "a site-local address"  # (ipaddress counts it neither private nor reserved)
        if ip in _NAT64:  # DNS64's answer for an IPv4-only host on an IPv6-only network: the
            return address_problem(str(ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)))  # IPv4 in it
    checks = (
        ("is_loopback", "a loopback address"),
        ("is_private", "a private address"),
        ("is_link_local", "a link-local address"),
        ("is_multicast", "a multicast address"),
        ("is_unspecified", "an unspecified address"),
        ("is_reserved", "a reserved address"),
    )
    for attribute, reason in checks:
        if getattr(ip, attribute):
            return reason
    if not ip.is_global:
        return "not a public address"
    return None


def check_url(url: str, policy: Policy) -> None:
    """Refuse a URL whose scheme or literal host may not be fetched (DNS is checked later)."""
    try:
        parts = urlsplit(url)
        host = parts.hostname or ""
        parts.port  # noqa: B018 - raises on a malformed port
    except ValueError as exc:
        raise Refused(f"malformed URL ({exc})") from None
    if parts.scheme not in ("http", "https"):
        raise Refused(f"only http and https URLs are fetched, not {parts.scheme or 'this'}:")
    if not host:
        raise Refused("the URL has no host")
    if parts.username or parts.password:
        raise Refused("URLs with a user name or password are not fetched")
    if policy.host_allowed(host):
        return
    try:
        ipaddress.ip_address(host)
    except ValueError:
        if _NUMERIC_HOST.match(host):
            raise Refused(
                f"{host} is a numeric IP form; write the address in dotted form"
            ) from None
        return
    if policy.address_allowed(host):
        return
    problem = address_problem(host)
    if problem:
        raise Refused(f"{host} is {problem}")


class Resolver(Protocol):
    """A DNS lookup: the addresses ``host`` answers, in the order to try them."""

    async def resolve(self, host: str, port: int) -> list[str]: ...


class SystemResolver:
    """The system's resolver (``getaddrinfo`` on the event loop's thread pool)."""

    async def resolve(self, host: str, port: int) -> list[str]:
        try:
            infos = await asyncio.get_running_loop().getaddrinfo(
                host, port, type=socket.SOCK_STREAM
            )
        except socket.gaierror as exc:
            raise httpcore.ConnectError(f"{host}: {exc.strerror or exc}") from None
        return list(dict.fromkeys(str(info[4][0]) for info in infos))


class SafeResolver:
    """A resolver that hands the network backend only addresses the policy allows."""

    def __init__(self, policy: Policy, inner: Resolver | None = None) -> None:
        self.policy = policy
        self.inner: Resolver = inner or SystemResolver()

    async def resolve(self, host: str, port: int) -> list[str]:
        results = await self.inner.resolve(host, port)
        if self.policy.host_allowed(host):
            return results
        kept, problems = [], []
        for address in results:
            problem = None
            if not self.policy.address_allowed(address):
                problem = address_problem(address)
            if problem:
                problems.append(f"{host} resolves to {address}, {problem}")
            else:
                kept.append(address)
        if not kept:
            raise Refused(problems[0] if problems else f"{host} does not resolve")
        return kept


class SafeBackend(httpcore.AsyncNetworkBackend):
    """httpcore's network backend behind :class:`SafeResolver`: the host name is resolved here
    and the connection is opened to a vetted address (TLS SNI and ``Host`` stay the URL's host,
    httpcore takes them from the request's origin). The peer address of each new connection is
    checked again before httpcore writes a request to it (the second line)."""

    def __init__(
        self, policy: Policy, resolver: Resolver, inner: httpcore.AsyncNetworkBackend | None = None
    ) -> None:
        self.policy = policy
        self.resolver = resolver
        self.inner = inner or httpcore.AnyIOBackend()

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        try:
            async with asyncio.timeout(timeout):
                addresses = await self.resolver.resolve(host, port)
                error: Exception | None = None
                for address in addresses:
                    try:
                        stream = await self.inner.connect_tcp(
                            address, port, None, local_address, socket_options
                        )
                    except httpcore.ConnectError as exc:
                        error = exc  # the next address, as a browser does
                        continue
                    await self._check_peer(host, stream)
                    return stream
        except TimeoutError:
            raise httpcore.ConnectTimeout(f"{host}: connect timed out") from None
        raise error or httpcore.ConnectError(f"{host} does not resolve")

    async def _check_peer(self, host: str, stream: httpcore.AsyncNetworkStream) -> None:
        if self.policy.host_allowed(host):
            return
        peer = stream.get_extra_info("server_addr")
        if not peer:
            await stream.aclose()
            raise Refused(f"{host}: the connected address is unknown")
        address = str(peer[0])
        problem = None if self.policy.address_allowed(address) else address_problem(address)
        if problem:
            await stream.aclose()
            raise Refused(f"{host} connected to {address}, {problem}")

    async def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,
        socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        raise Refused("Unix sockets are not fetched")

    async def sleep(self, seconds: float) -> None:
        await self.inner.sleep(seconds)


class _PoolStream(httpx.AsyncByteStream):
    def __init__(self, stream: AsyncIterable[bytes]) -> None:
        self._stream = stream

    async def __aiter__(self) -> AsyncIterator[bytes]:
        async for part in self._stream:
            yield part

    async def aclose(self) -> None:
        close = getattr(self._stream, "aclose", None)
        if close is not None:
            await close()


class PoolTransport(httpx.AsyncBaseTransport):
    """An httpx transport over an httpcore connection pool given by the caller (here one whose
    network backend is :class:`SafeBackend`); httpcore's errors come through unchanged."""

    def __init__(self, pool: httpcore.AsyncConnectionPool) -> None:
        self.pool = pool

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        assert isinstance(request.stream, httpx.AsyncByteStream)
        core = httpcore.Request(
            method=request.method,
            url=httpcore.URL(
                scheme=request.url.raw_scheme,
                host=request.url.raw_host,
                port=request.url.port,
                target=request.url.raw_path,
            ),
            headers=request.headers.raw,
            content=request.stream,
            extensions=request.extensions,
        )
        response = await self.pool.handle_async_request(core)
        assert isinstance(response.stream, AsyncIterable)
        return httpx.Response(
            status_code=response.status,
            headers=response.headers,
            stream=_PoolStream(response.stream),
            extensions=response.extensions,
        )

    async def aclose(self) -> None:
        await self.pool.aclose()


@dataclass
class Response:
    """A fetched body (or a 304) and what the poller needs from the headers."""

    url: str  # the URL asked for
    final_url: str  # after redirects
    status: int
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    permanent_url: str | None = None  # set when every redirect hop was 301/308

    @property
    def not_modified(self) -> bool:
        return self.status == 304

    @property
    def etag(self) -> str | None:
        return self.headers.get("etag")

    @property
    def last_modified(self) -> str | None:
        return self.headers.get("last-modified")

    @property
    def content_type(self) -> str:
        return self.headers.get("content-type", "")

    @property
    def charset(self) -> str | None:
        match = re.search(r"charset\s*=\s*[\"']?([\w.:-]+)", self.content_type, re.IGNORECASE)
        return match.group(1).lower() if match else None

    @property
    def max_age(self) -> float | None:
        """``Cache-Control: max-age`` in seconds, when given."""
        match = re.search(r"max-age\s*=\s*(\d+)", self.headers.get("cache-control", ""))
        return float(match.group(1)) if match else None


def retry_after_seconds(value: str | None) -> float | None:
    """``Retry-After`` as seconds (delta or HTTP date), ``None`` when absent or unreadable."""
    if not value:
        return None
    value = value.strip()
    if value.isascii() and value.isdigit():  # str.isdigit takes "²", which float() refuses
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    from datetime import UTC, datetime

    if when.tzinfo is None:  # no zone or "-0000": HTTP dates are GMT
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - datetime.now(UTC)).total_seconds())


@once
def default_ssl_context() -> ssl.SSLContext:
    """httpx's context (certifi's CAs), made once per process: each one holds the parsed CA
    bundle (~1.6 MB resident) and takes ~25 ms to load, and every poll round has a Fetcher."""
    return httpx.create_ssl_context()


class Fetcher:
    """An httpx client with the policy, caps and politeness above. Use ``async with``."""

    def __init__(
        self,
        policy: Policy | None = None,
        *,
        user_agent: str = USER_AGENT,
        connect_timeout: float = CONNECT_TIMEOUT,
        read_timeout: float = READ_TIMEOUT,
        total_timeout: float = TOTAL_TIMEOUT,
        per_host: int = PER_HOST,
        limit: int = 64,
        resolver: Resolver | None = None,
        ssl_context: ssl.SSLContext | None = None,
    ) -> None:
        self.policy = policy if policy is not None else Policy.from_env()
        self.resolver = resolver  # the DNS lookup under SafeResolver; the system's by default
        self.ssl_context = ssl_context  # httpx's (certifi's CAs) by default
        self.user_agent = user_agent
        self.timeout = httpx.Timeout(
            connect=connect_timeout, read=read_timeout, write=read_timeout, pool=total_timeout
        )
        self.total_timeout = total_timeout
        self.per_host = per_host
        self.limit = limit
        self._hosts: dict[tuple[str, str, int | None], asyncio.Semaphore] = {}
        self._client: httpx.AsyncClient | None = None

    async def __aenter__(self) -> Fetcher:
        backend = SafeBackend(self.policy, SafeResolver(self.policy, self.resolver))
        pool = httpcore.AsyncConnectionPool(
            ssl_context=self.ssl_context or default_ssl_context(),
            max_connections=self.limit,
            max_keepalive_connections=self.limit,
            keepalive_expiry=15.0,
            network_backend=backend,
        )
        self._client = httpx.AsyncClient(
            transport=PoolTransport(pool),
            timeout=self.timeout,
            follow_redirects=False,
            trust_env=False,
            headers={"User-Agent": self.user_agent, "Accept-Encoding": "gzip, deflate"},
        )
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self._client is not None:
            await self._client.aclose()
            self._client = None

    async def fetch(
        self,
        url: str,
        *,
        max_bytes: int = FEED_MAX_BYTES,
        etag: str | None = None,
        last_modified: str | None = None,
        accept: str = "*/*",
    ) -> Response:
        """GET ``url`` following redirects; raises :class:`FetchError` with a one-line reason."""
        if self._client is None:
            raise RuntimeError("use the Fetcher inside 'async with'")
        headers = {"Accept": accept}
        # a validator that is not ASCII (a server's UTF-8 ETag) cannot be sent back: httpx encodes
        # header values as ASCII; the GET is then unconditional, as on a first poll
        if etag and etag.isascii():
            headers["If-None-Match"] = etag
        if last_modified and last_modified.isascii():
            headers["If-Modified-Since"] = last_modified
        current, permanent = url, True
        reading = False  # the headers are in: a broken connection cut the body short
        try:
            async with asyncio.timeout(self.total_timeout):
                for _hop in range(MAX_REDIRECTS + 1):
                    check_url(current, self.policy)
                    request = self._client.build_request("GET", current, headers=headers)
                    async with self._slot(request.url):
                        resp = await self._client.send(request, stream=True)
                        try:
                            if resp.status_code in (301, 302, 303, 307, 308):
                                location = resp.headers.get("Location")
                                if not location:
                                    raise FetchError(f"HTTP {resp.status_code} without a Location")
                                permanent = permanent and resp.status_code in (301, 308)
                                try:  # urllib refuses some that httpx took ("http://a]/")
                                    current = urljoin(current, location)
                                except ValueError:
                                    raise FetchError(
                                        f"HTTP {resp.status_code} to a malformed Location"
                                    ) from None
                                continue
                            head = dict(resp.headers.items())
                            if resp.status_code == 304:
                                return self._response(url, current, 304, b"", head, permanent)
                            if resp.status_code >= 400:
                                raise FetchError(
                                    f"HTTP {resp.status_code} {resp.reason_phrase or ''}".strip(),
                                    status=resp.status_code,
                                    retry_after=retry_after_seconds(head.get("retry-after")),
                                )
                            reading = True
                            body = await _read_capped(resp, max_bytes)
                            return self._response(
                                url, current, resp.status_code, body, head, permanent
                            )
                        finally:
                            await resp.aclose()
                raise FetchError(f"more than {MAX_REDIRECTS} redirects")
        except FetchError:
            raise
        except (TimeoutError, httpx.TimeoutException, httpcore.TimeoutException):
            raise FetchError("timed out") from None
        except (httpx.InvalidURL, httpx.UnsupportedProtocol, httpcore.UnsupportedProtocol) as exc:
            raise Refused(f"malformed or non-canonical URL host ({exc})") from None
        except UnicodeError as exc:
            # a label over 63 characters or empty (getaddrinfo's IDNA codec) or a broken A-label
            # (httpx's idna.decode): the URL's host is at fault, not the network
            raise Refused(f"malformed URL host ({_first_line(exc)})") from None
        except (httpcore.ConnectError, httpx.ConnectError) as exc:
            raise FetchError(f"cannot connect ({_first_line(exc) or 'refused'})") from None
        except (httpcore.NetworkError, httpcore.RemoteProtocolError, httpx.TransportError) as exc:
            if reading:
                raise FetchError("the response was cut short") from None
            raise FetchError(f"{type(exc).__name__}: {_first_line(exc)}"[:200]) from None
        except (httpcore.ProtocolError, httpx.HTTPError) as exc:
            raise FetchError(f"{type(exc).__name__}: {_first_line(exc)}"[:200]) from None

    def _slot(self, url: httpx.URL) -> asyncio.Semaphore:
        """At most ``per_host`` requests in flight to one origin (one connection each)."""
        key = (url.scheme, url.host, url.port)
        if key not in self._hosts:
            self._hosts[key] = asyncio.Semaphore(self.per_host)
        return self._hosts[key]

    @staticmethod
    def _response(
        url: str, final: str, status: int, body: bytes, head: dict[str, str], permanent: bool
    ) -> Response:
        moved = final if permanent and final != url else None
        return Response(url, final, status, body, head, moved)


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else ""


async def _read_capped(resp: httpx.Response, max_bytes: int) -> bytes:
    """The body, inflated when gzip/deflate-encoded, refused past ``max_bytes`` either way (as
    sent and inflated)."""
    mb = max_bytes / (1024 * 1024)
    length = resp.headers.get("Content-Length")
    if length and length.isdigit() and int(length) > max_bytes:
        raise FetchError(f"response too large ({int(length):,} bytes; the limit is {mb:g} MB)")
    encoding = resp.headers.get("Content-Encoding", "").strip().lower()
    inflater: Any = None
    if encoding in ("gzip", "x-gzip", "deflate"):
        inflater = zlib.decompressobj(47)  # 32 + 15: gzip or zlib header, detected
    elif encoding not in ("", "identity"):
        raise FetchError(f"unsupported Content-Encoding {encoding}")
    out, sent = bytearray(), 0
    try:
        async for chunk in resp.aiter_raw(64 * 1024):  # as sent: inflated here, under the cap
            sent += len(chunk)  # capped too: bytes after a gzip member's end inflate to nothing
            if sent > max_bytes:
                raise FetchError(f"response too large (over {mb:g} MB as sent)")
            if inflater is None:
                out += chunk
            else:
                data = chunk
                while data:
                    out += inflater.decompress(data, max_bytes + 1 - len(out))
                    if len(out) > max_bytes:
                        break
                    data = inflater.unconsumed_tail
            if len(out) > max_bytes:
                what = "decompressed " if inflater is not None else ""
                raise FetchError(f"response too large ({what}over {mb:g} MB)")
            await asyncio.sleep(0)
        if inflater is not None:
            out += inflater.flush()
    except zlib.error as exc:  # not gzip or zlib data after all, or corrupt
        raise FetchError(f"the {encoding} body could not be decompressed ({exc})") from None
    return bytes(out)
