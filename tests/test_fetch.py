"""The fetcher against a real local HTTP server: caps, gzip bombs, redirects, conditional GET,
timeouts, per-host connections, and the address checks (SSRF)."""

from __future__ import annotations

import asyncio
import gzip
import ssl
import zlib
from typing import Any

import pytest
from aiohttp import web  # the test server only: the fetcher itself is httpx

from digests import fetch as fetch_module
from digests.fetch import Fetcher, FetchError, Policy, Refused, check_url

from .feedserver import DATA

TLS = DATA / "tls"  # a self-signed certificate for feeds.test (tests only)


async def test_fetches_and_sends_a_truthful_user_agent(site):
    site.add("/rss.xml", (DATA / "feeds/rss20.xml").read_bytes())
    async with Fetcher() as fetcher:
        response = await fetcher.fetch(site.url("/rss.xml"))
    assert response.status == 200 and b"<rss" in response.body
    assert site.requests["/rss.xml"][0]["User-Agent"].startswith("digestbot/")


async def test_loopback_is_refused_without_the_allow_list(site, monkeypatch):
    site.add("/rss.xml", "x")
    monkeypatch.delenv("DIGESTBOT_FETCH_ALLOW")
    async with Fetcher() as fetcher:
        with pytest.raises(Refused, match="loopback"):
            await fetcher.fetch(site.url("/rss.xml"))
    assert site.hits["/rss.xml"] == 0


async def test_a_host_name_resolving_to_loopback_is_refused(site, monkeypatch):
    site.add("/rss.xml", "x")
    monkeypatch.delenv("DIGESTBOT_FETCH_ALLOW")
    async with Fetcher() as fetcher:  # "localhost" goes through DNS: the resolver refuses it
        with pytest.raises(Refused, match=r"resolves to (127\.0\.0\.1|::1), a loopback address"):
            await fetcher.fetch(f"http://localhost:{site.port}/rss.xml")
    assert site.hits["/rss.xml"] == 0


def test_nat64_addresses_are_judged_by_the_ipv4_address_inside() -> None:
    """On an IPv6-only network DNS64 answers 64:ff9b::a.b.c.d for an IPv4-only host: a public
    IPv4 inside is a public address (every such source was refused), a private one is not."""
    assert fetch_module.address_problem("64:ff9b::808:808") is None  # 8.8.8.8
    assert fetch_module.address_problem("64:ff9b::7f00:1") == "a loopback address"
    assert fetch_module.address_problem("64:ff9b::a00:1") == "a private address"  # 10.0.0.1
    assert fetch_module.address_problem("64:ff9b:1::808:808") is not None  # local-use prefix


@pytest.mark.parametrize(
    "url",
    [
        "http://10.0.0.1/feed", "http://192.168.1.1/", "http://172.16.5.5/", "http://169.254.169.254/latest",
        "http://[::1]/", "http://[::ffff:127.0.0.1]/", "http://[fe80::1]/", "http://[fec0::1]/",
        "http://[64:ff9b::7f00:1]/", "http://[64:ff9b::a00:1]/", "http://[64:ff9b:1::808:808]/",
        "http://224.0.0.1/",
        "http://0.0.0.0/", "http://2130706433/", "http://0x7f000001/", "http://0177.0.0.1/",
        "http://127.1/", "file:///etc/passwd", "ftp://example.com/x", "gopher://example.com/",
        "http://user:pw@example.com/", "http:///nohost",
    ],
)  # fmt: skip
def test_refused_addresses(url):
    with pytest.raises(Refused):
        check_url(url, Policy())


def test_public_addresses_pass_and_the_allow_list_exempts():
    check_url("https://news.example.cn/rss.xml", Policy())
    check_url("http://8.8.8.8/", Policy())
    check_url("http://10.1.2.3:1200/rsshub", Policy.parse("10.0.0.0/8"))
    check_url("http://rsshub.internal/x", Policy.parse("rsshub.internal, 127.0.0.1"))
    with pytest.raises(Refused):
        check_url("http://10.1.2.3/", Policy.parse("192.168.0.0/16"))


async def test_every_redirect_hop_is_checked(site, monkeypatch):
    monkeypatch.setenv("DIGESTBOT_FETCH_ALLOW", "127.0.0.1")
    site.redirect("/go", "http://169.254.169.254/latest/meta-data/", 302)
    async with Fetcher() as fetcher:
        with pytest.raises(Refused, match=r"169\.254\.169\.254"):
            await fetcher.fetch(site.url("/go"))
    site.redirect("/scheme", "file:///etc/passwd", 301)
    async with Fetcher() as fetcher:
        with pytest.raises(Refused, match="file"):
            await fetcher.fetch(site.url("/scheme"))


class FakeDNS:
    """A DNS server under the test's control: each name answers its list of addresses in turn
    (the last one repeats), as an attacker's DNS does when it rebinds a name to 127.0.0.1."""

    def __init__(self, answers: dict[str, list[str]]) -> None:
        self.answers = answers
        self.lookups: list[str] = []

    async def resolve(self, host: str, port: int) -> list[str]:
        self.lookups.append(host)
        queue = self.answers[host]
        return [queue.pop(0) if len(queue) > 1 else queue[0]]


async def test_dns_answers_are_checked_at_connect_time_on_every_redirect_hop(site, monkeypatch):
    """feeds.test is exempt by name (a self-hosted RSSHub); it redirects to rebind.test, whose
    DNS now answers 127.0.0.1. The answer the connector is about to use is the one refused, on
    that hop, before any request is sent to it."""
    monkeypatch.delenv("DIGESTBOT_FETCH_ALLOW")
    site.add("/secret", "internal")
    site.redirect("/go", f"http://rebind.test:{site.port}/secret", 302)
    dns = FakeDNS({"feeds.test": ["127.0.0.1"], "rebind.test": ["127.0.0.1"]})
    async with Fetcher(Policy.parse("feeds.test"), resolver=dns) as fetcher:
        with pytest.raises(Refused, match=r"rebind\.test resolves to 127\.0\.0\.1, a loopback"):
            await fetcher.fetch(f"http://feeds.test:{site.port}/go")
    assert dns.lookups == ["feeds.test", "rebind.test"]
    assert site.hits["/go"] == 1 and site.hits["/secret"] == 0


async def test_a_cidr_on_the_allow_list_exempts_the_resolved_address(site, monkeypatch):
    """A name resolving into an allowed network is fetched; the same answer is refused when the
    allow-list names another network (the check is on the address, not on the name)."""
    monkeypatch.delenv("DIGESTBOT_FETCH_ALLOW")
    site.add("/rss.xml", "<rss/>")
    dns = FakeDNS({"rebind.test": ["127.0.0.1"]})
    url = f"http://rebind.test:{site.port}/rss.xml"
    async with Fetcher(Policy.parse("127.0.0.0/8"), resolver=dns) as fetcher:
        assert (await fetcher.fetch(url)).body == b"<rss/>"  # allowed by the CIDR exemption
    async with Fetcher(Policy.parse("10.0.0.0/8"), resolver=dns) as fetcher:
        with pytest.raises(Refused, match="loopback"):
            await fetcher.fetch(url)
    assert site.hits["/rss.xml"] == 1


async def test_the_connected_peer_is_checked_even_when_the_resolver_is_bypassed(site, monkeypatch):
    """Second line: with the resolver's filter gone, the peer address of the connection is still
    refused before a request is written to it, unless the host or its network is allowed."""

    class PassThrough(fetch_module.SafeResolver):
        async def resolve(self, host: str, port: int) -> list[str]:
            return await self.inner.resolve(host, port)

    monkeypatch.delenv("DIGESTBOT_FETCH_ALLOW")
    monkeypatch.setattr(fetch_module, "SafeResolver", PassThrough)
    site.add("/rss.xml", "<rss/>")
    url = f"http://rebind.test:{site.port}/rss.xml"
    async with Fetcher(Policy(), resolver=FakeDNS({"rebind.test": ["127.0.0.1"]})) as fetcher:
        with pytest.raises(Refused, match=r"rebind\.test connected to 127\.0\.0\.1, a loopback"):
            await fetcher.fetch(url)
    assert site.hits["/rss.xml"] == 0
    for allowed in ("rebind.test", "127.0.0.1/32"):
        dns = FakeDNS({"rebind.test": ["127.0.0.1"]})
        async with Fetcher(Policy.parse(allowed), resolver=dns) as fetcher:
            assert (await fetcher.fetch(url)).body == b"<rss/>"


async def test_tls_and_host_name_stay_the_urls_host_while_the_vetted_address_is_connected(
    monkeypatch,
):
    """https://feeds.test resolves (fake DNS) to 127.0.0.1, allowed by its network: the fetcher
    connects to that address, but the TLS handshake names feeds.test (SNI), the certificate is
    verified for feeds.test, and the request's Host is feeds.test."""
    monkeypatch.delenv("DIGESTBOT_FETCH_ALLOW", raising=False)
    server_tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server_tls.load_cert_chain(TLS / "feeds.test.crt", TLS / "feeds.test.key")
    names: list[str | None] = []
    server_tls.sni_callback = lambda _sock, name, _ctx: names.append(name)  # type: ignore[assignment,func-returns-value]
    hosts: list[str] = []

    async def handler(request: web.Request) -> web.Response:
        hosts.append(request.headers["Host"])
        return web.Response(body=b"<rss/>", content_type="application/xml")

    app = web.Application()
    app.router.add_get("/rss.xml", handler)
    runner = web.AppRunner(app, shutdown_timeout=0.5)
    await runner.setup()
    server = web.TCPSite(runner, "127.0.0.1", 0, ssl_context=server_tls)
    await server.start()
    port = server._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    try:
        client_tls = ssl.create_default_context(cafile=str(TLS / "feeds.test.crt"))
        dns = FakeDNS({"feeds.test": ["127.0.0.1"]})
        url = f"https://feeds.test:{port}/rss.xml"
        async with Fetcher(Policy.parse("127.0.0.0/8"), resolver=dns, ssl_context=client_tls) as f:
            assert (await f.fetch(url)).body == b"<rss/>"
        assert names == ["feeds.test"] and hosts == [f"feeds.test:{port}"]
        assert dns.lookups == ["feeds.test"]
        async with Fetcher(Policy(), resolver=dns, ssl_context=client_tls) as f:
            with pytest.raises(Refused, match=r"feeds\.test resolves to 127\.0\.0\.1"):
                await f.fetch(url)
        assert len(hosts) == 1
    finally:
        await runner.cleanup()


async def test_fetchers_share_one_tls_context_unless_given_one() -> None:
    """Every poll round makes a Fetcher: each would load the CA bundle again (~25 ms, ~1.6 MB)."""

    def context_of(fetcher: Fetcher) -> ssl.SSLContext:
        transport = fetcher._client._transport  # type: ignore[union-attr]
        return transport.pool._ssl_context  # type: ignore[attr-defined,no-any-return]

    async with Fetcher() as one, Fetcher() as two:
        assert context_of(one) is context_of(two)
        assert context_of(one).verify_mode == ssl.CERT_REQUIRED
    own = ssl.create_default_context()
    async with Fetcher(ssl_context=own) as three:
        assert context_of(three) is own


async def test_permanent_redirects_move_temporary_ones_do_not(site):
    site.add("/new.xml", "<rss/>")
    site.redirect("/moved", "/new.xml", 301)
    site.redirect("/moved8", "/new.xml", 308)
    site.redirect("/temp", "/new.xml", 302)
    site.redirect("/mixed", "/temp", 301)
    async with Fetcher() as fetcher:
        assert (await fetcher.fetch(site.url("/moved"))).permanent_url == site.url("/new.xml")
        assert (await fetcher.fetch(site.url("/moved8"))).permanent_url == site.url("/new.xml")
        temp = await fetcher.fetch(site.url("/temp"))
        assert temp.permanent_url is None and temp.final_url == site.url("/new.xml")
        assert (await fetcher.fetch(site.url("/mixed"))).permanent_url is None


async def test_redirect_loops_end(site):
    site.redirect("/a", "/b", 302)
    site.redirect("/b", "/a", 302)
    async with Fetcher() as fetcher:
        with pytest.raises(FetchError, match="redirects"):
            await fetcher.fetch(site.url("/a"))


async def test_conditional_get_answers_304(site):
    site.add(
        "/rss.xml",
        "<rss/>",
        etag='"v1"',
        headers={"Last-Modified": "Mon, 30 Nov 2026 08:00:00 GMT"},
    )
    async with Fetcher() as fetcher:
        first = await fetcher.fetch(site.url("/rss.xml"))
        assert first.etag == '"v1"' and first.last_modified
        again = await fetcher.fetch(
            site.url("/rss.xml"), etag=first.etag, last_modified=first.last_modified
        )
    assert again.not_modified and again.body == b""
    assert site.requests["/rss.xml"][1]["If-None-Match"] == '"v1"'
    assert site.requests["/rss.xml"][1]["If-Modified-Since"] == "Mon, 30 Nov 2026 08:00:00 GMT"


def streamed(chunk: bytes, *, first: bytes = b"", encoding: str = "") -> Any:
    """A handler sending ``first`` and then ``chunk`` 40 times, chunked (no Content-Length)."""

    async def handler(request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse(headers={"Content-Encoding": encoding} if encoding else {})
        await response.prepare(request)
        if first:
            await response.write(first)
        for _ in range(40):
            await response.write(chunk)
        return response

    return handler


async def test_huge_bodies_are_refused(site):
    site.add("/big", b"x" * (3 * 1024 * 1024))  # declared length over the cap
    async with Fetcher() as fetcher:
        with pytest.raises(FetchError, match="too large"):
            await fetcher.fetch(site.url("/big"), max_bytes=2 * 1024 * 1024)

    site.add_handler("/stream", streamed(b"y" * 65536))  # no Content-Length
    async with Fetcher() as fetcher:
        with pytest.raises(FetchError, match="too large"):
            await fetcher.fetch(site.url("/stream"), max_bytes=1024 * 1024)


async def test_a_gzip_bomb_is_refused(site):
    bomb = gzip.compress(b"\0" * (64 * 1024 * 1024), compresslevel=9)  # 64 MB inflated, ~64 KB sent
    assert len(bomb) < 100_000
    site.add("/bomb", bomb, headers={"Content-Encoding": "gzip"})
    small = gzip.compress("<rss>正常</rss>".encode())
    site.add("/gz", small, headers={"Content-Encoding": "gzip"})
    site.add(
        "/deflate", zlib.compress(b"<rss>deflate</rss>"), headers={"Content-Encoding": "deflate"}
    )
    async with Fetcher() as fetcher:
        with pytest.raises(FetchError, match="decompressed"):
            await fetcher.fetch(site.url("/bomb"), max_bytes=5 * 1024 * 1024)
        assert (await fetcher.fetch(site.url("/gz"))).body == "<rss>正常</rss>".encode()
        assert (await fetcher.fetch(site.url("/deflate"))).body == b"<rss>deflate</rss>"


async def test_slow_responses_time_out(site):
    site.add("/slow", "<rss/>", delay=5)
    async with Fetcher(total_timeout=0.5) as fetcher:
        with pytest.raises(FetchError, match="timed out"):
            await fetcher.fetch(site.url("/slow"))


async def test_http_errors_carry_retry_after(site):
    site.add("/busy", "slow down", status=429, headers={"Retry-After": "3600"})
    site.add("/gone", "gone", status=404)
    async with Fetcher() as fetcher:
        with pytest.raises(FetchError) as busy:
            await fetcher.fetch(site.url("/busy"))
        with pytest.raises(FetchError, match="HTTP 404"):
            await fetcher.fetch(site.url("/gone"))
    assert busy.value.status == 429 and busy.value.retry_after == 3600


async def test_at_most_two_connections_per_host(site):
    site.add("/slow", "<rss/>", delay=0.2)
    async with Fetcher() as fetcher:
        await asyncio.gather(*(fetcher.fetch(site.url("/slow")) for _ in range(6)))
    assert site.hits["/slow"] == 6
    assert site.max_active["/slow"] == 2


async def test_malformed_host_names_are_refused_not_raised(site):
    """A label over 63 characters, an empty label or a broken A-label (typed by an administrator
    or sent in a redirect) is a Refused, not a UnicodeError out of the resolver or httpx."""
    long_label = "http://" + "a" * 64 + ".example/feed"
    site.redirect("/go", long_label, 302)
    async with Fetcher() as fetcher:
        for url in (long_label, "http://a..example/", "http://xn--/", site.url("/go")):
            with pytest.raises(Refused, match="malformed"):
                await fetcher.fetch(url)
    assert site.hits["/go"] == 1


async def test_a_malformed_redirect_location_is_a_fetch_error(site):
    site.redirect("/bad", "http://a]/feed", 302)  # httpx takes it, urllib does not
    async with Fetcher() as fetcher:
        with pytest.raises(FetchError, match="malformed Location"):
            await fetcher.fetch(site.url("/bad"))


async def test_a_corrupt_gzip_body_is_a_fetch_error(site):
    site.add("/corrupt", b"this is not gzip at all", headers={"Content-Encoding": "gzip"})
    async with Fetcher() as fetcher:
        with pytest.raises(FetchError, match="could not be decompressed"):
            await fetcher.fetch(site.url("/corrupt"))


async def test_a_compressed_body_is_capped_as_sent_too(site):
    """Bytes after the end of a gzip member inflate to nothing (zlib keeps them aside): without
    a cap on the body as sent, a server streams them until the total timeout."""

    # chunked (no length to check): a gzip member, then 2.5 MB after its end
    trailing = streamed(b"\0" * 65536, first=gzip.compress(b"<rss/>"), encoding="gzip")
    site.add_handler("/trailing", trailing)
    async with Fetcher() as fetcher:
        with pytest.raises(FetchError, match="too large"):
            await fetcher.fetch(site.url("/trailing"), max_bytes=1024 * 1024)


async def test_an_unusual_retry_after_keeps_the_http_error(site):
    """An HTTP date without a zone (HTTP dates are GMT) and a non-ASCII digit are read or
    ignored; either way the answer stays an HTTP error with its status."""
    site.add("/dated", "busy", status=503, headers={"Retry-After": "Wed, 21 Oct 2015 07:28:00"})
    site.add("/odd", "busy", status=503, headers={"Retry-After": "²"})
    async with Fetcher() as fetcher:
        with pytest.raises(FetchError) as dated:
            await fetcher.fetch(site.url("/dated"))
        with pytest.raises(FetchError) as odd:
            await fetcher.fetch(site.url("/odd"))
    assert dated.value.status == 503 and dated.value.retry_after == 0.0
    assert odd.value.status == 503 and odd.value.retry_after is None


async def test_a_non_ascii_etag_does_not_break_the_next_poll(site):
    """A server's ETag in UTF-8 comes back from httpx as text it cannot send again (it encodes
    header values as ASCII): the next poll is an unconditional GET instead of an error."""
    site.add("/rss.xml", "<rss/>", etag='"版本1"')
    async with Fetcher() as fetcher:
        first = await fetcher.fetch(site.url("/rss.xml"))
        assert first.etag == '"版本1"'
        again = await fetcher.fetch(site.url("/rss.xml"), etag=first.etag)
    assert again.status == 200 and again.body == b"<rss/>"
    assert "If-None-Match" not in site.requests["/rss.xml"][1]
