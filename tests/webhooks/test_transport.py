"""Deliveries over real loopback sockets to receivers started here; only DNS answers are ever faked."""

import ipaddress
import json
import socket
import threading
import time

import pytest
from standardwebhooks import Webhook
from standardwebhooks.webhooks import WebhookVerificationError

from tests.webhooks.receivers import answer, server_tls
from webhooks.signing import generate_secret, signed_headers
from webhooks.transport import EXCERPT_BYTES, deliver, forbidden_reason


def _signed(secret: str, payload: dict, msg_id: str = "msg_1") -> tuple[bytes, dict[str, str]]:
    body = json.dumps(payload).encode()
    return body, signed_headers(secret=secret, msg_id=msg_id, timestamp=int(time.time()), body=body)


def _verifying(secret: str):
    """A receiver that does what a customer's would: 200 for a valid signature, 401 otherwise."""

    def respond(handler, request):
        try:
            Webhook(secret).verify(request.body, request.headers)
        except WebhookVerificationError as exc:
            answer(handler, status=401, body=str(exc).encode())
        else:
            answer(handler, status=200, body=b'{"received": true}', headers={"Content-Type": "application/json"})

    return respond


def _fake_dns(monkeypatch, answers: dict[str, list[list[str]]]) -> list[str]:
    """Answer the given names from lists of address lists (one list per lookup); every other name resolves for real.

    Returns the log of faked lookups, so a test can count them.
    """
    real_getaddrinfo = socket.getaddrinfo
    lookups: list[str] = []

    def getaddrinfo(host, port, *args, **kwargs):
        if host not in answers:
            return real_getaddrinfo(host, port, *args, **kwargs)
        lookups.append(host)
        turn = min(len(lookups), len(answers[host])) - 1
        results = []
        for address in answers[host][turn]:
            family = socket.AF_INET6 if ":" in address else socket.AF_INET
            sockaddr = (address, port, 0, 0) if family == socket.AF_INET6 else (address, port)
            results.append((family, socket.SOCK_STREAM, socket.IPPROTO_TCP, "", sockaddr))
        return results

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    return lookups


# -- a working receiver -------------------------------------------------------------------------------------------


def test_every_delivery_to_a_listening_receiver_passes_its_signature_check(start_receiver):
    secret = generate_secret()
    receiver = start_receiver(_verifying(secret))
    payloads = [{"type": "cart.abandoned", "cart_id": n, "note": "crème brûlée" * n} for n in range(1, 4)]

    outcomes = []
    for number, payload in enumerate(payloads):
        body, headers = _signed(secret, payload, msg_id=f"msg_{number}")
        outcomes.append(deliver(url=receiver.url("/hook?shop=7"), body=body, headers=headers, allow_private=True))

    assert [outcome.status_code for outcome in outcomes] == [200, 200, 200]
    assert all(outcome.ok and outcome.error == "" for outcome in outcomes)
    assert all(json.loads(outcome.response_excerpt) == {"received": True} for outcome in outcomes)
    assert [json.loads(request.body) for request in receiver.requests] == payloads
    assert {request.path for request in receiver.requests} == {"/hook?shop=7"}


def test_the_receiver_sees_the_host_name_it_was_addressed_by_not_our_ip(start_receiver):
    secret = generate_secret()
    receiver = start_receiver(_verifying(secret))
    body, headers = _signed(secret, {"type": "ping"})

    outcome = deliver(url=receiver.url(host="localhost"), body=body, headers=headers, allow_private=True)

    assert outcome.ok
    assert receiver.requests[0].headers["host"] == f"localhost:{receiver.port}"


def test_a_receiver_answering_an_error_status_is_a_failed_delivery_with_its_answer_kept(start_receiver):
    receiver = start_receiver(lambda handler, _request: answer(handler, status=503, body=b"maintenance until 3pm"))

    outcome = deliver(url=receiver.url(), body=b"{}", headers={}, allow_private=True)

    assert not outcome.ok
    assert outcome.status_code == 503
    assert "503" in outcome.error
    assert outcome.response_excerpt == "maintenance until 3pm"


def test_a_wrong_signature_reaches_the_receiver_and_comes_back_as_its_refusal(start_receiver):
    receiver = start_receiver(_verifying(generate_secret()))
    body, headers = _signed(generate_secret(), {"type": "ping"})

    outcome = deliver(url=receiver.url(), body=body, headers=headers, allow_private=True)

    assert outcome.status_code == 401
    assert not outcome.ok


# -- private destinations -----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "refused_address"),
    [
        ("http://127.0.0.1:{port}/hook", "127.0.0.1"),
        ("http://localhost:{port}/hook", "127.0.0.1"),
        ("http://2130706433:{port}/hook", "127.0.0.1"),  # 127.0.0.1 spelt as one decimal number
        ("http://[::ffff:127.0.0.1]:{port}/hook", "::ffff:127.0.0.1"),
    ],
)
def test_loopback_is_refused_without_even_connecting(silent_listener, url, refused_address):
    # given a listener on 127.0.0.1 that would see any connection
    # when a delivery that does not allow private targets is pointed at it
    outcome = deliver(url=url.format(port=silent_listener.port), body=b"{}", headers={}, allow_private=False)

    # then it is refused by address and nothing reached the listener
    assert outcome.status_code is None
    assert not outcome.ok
    assert f"refused to connect to {refused_address}" in outcome.error
    assert "loopback" in outcome.error
    assert not silent_listener.was_connected_to()


def test_ipv6_loopback_is_refused_without_even_connecting(silent_listener_v6):
    outcome = deliver(url=f"http://[::1]:{silent_listener_v6.port}/", body=b"{}", headers={}, allow_private=False)

    assert "refused to connect to ::1: loopback" in outcome.error
    assert not silent_listener_v6.was_connected_to()


@pytest.mark.parametrize(
    ("url", "words"),
    [
        ("http://10.20.30.40/hook", ["10.20.30.40", "private"]),
        ("http://169.254.169.254/latest/meta-data/", ["169.254.169.254", "link-local"]),
        ("https://100.64.0.7/", ["100.64.0.7", "shared"]),
        ("http://[fd00::1]/", ["fd00::1", "private"]),
        ("http://0.0.0.0:8000/", ["0.0.0.0", "unspecified"]),  # noqa: S104 (an address under test, not a bind)
    ],
)
def test_addresses_inside_private_networks_are_refused(url, words):
    # No listener can be bound on these here; were the check missing, the outcome would be a connect error instead.
    outcome = deliver(url=url, body=b"{}", headers={}, allow_private=False, connect_timeout=0.5)

    assert outcome.status_code is None
    assert outcome.error.startswith("refused to connect to")
    for word in words:
        assert word in outcome.error


def test_a_name_resolving_to_one_public_and_one_private_address_is_refused(monkeypatch):
    _fake_dns(monkeypatch, {"mixed.example": [["93.184.215.14", "10.0.0.5"]]})

    outcome = deliver(url="https://mixed.example/hook", body=b"{}", headers={}, allow_private=False)

    assert "refused to connect to 10.0.0.5 (from mixed.example): private" in outcome.error


@pytest.mark.parametrize(
    ("address", "reason"),
    [
        ("127.0.0.1", "loopback"),
        ("127.255.0.9", "loopback"),
        ("::1", "loopback"),
        ("10.1.2.3", "private"),
        ("172.16.5.4", "private"),
        ("192.168.0.1", "private"),
        ("fc00::1", "private"),
        ("169.254.169.254", "link-local"),
        ("fe80::1", "link-local"),
        ("100.64.0.1", "shared"),
        ("100.127.255.254", "shared"),
        ("224.0.0.251", "multicast"),
        ("ff02::1", "multicast"),
        ("0.0.0.0", "unspecified"),  # noqa: S104 (an address under test, not a bind)
        ("::", "unspecified"),
        ("240.0.0.1", "reserved"),
        ("255.255.255.255", "reserved"),
        ("::ffff:127.0.0.1", "IPv4-mapped loopback"),
        ("::ffff:169.254.169.254", "IPv4-mapped link-local"),
        ("::ffff:10.0.0.1", "IPv4-mapped private"),
        ("2002:7f00:1::", "6to4 form of a loopback"),
        ("2002:a9fe:a9fe::1", "6to4 form of a link-local"),
        ("2001:0:4136:e378:8000:0:f5ff:fffe", "Teredo form of a private"),  # client 10.0.0.1, bits inverted
        ("64:ff9b::7f00:1", "NAT64 form of a loopback"),
        ("192.0.2.10", "private"),  # documentation range: never on the internet
    ],
)
def test_the_address_check_names_why_an_address_is_not_public(address, reason):
    assert reason in (forbidden_reason(ipaddress.ip_address(address)) or "public")


@pytest.mark.parametrize(
    "address", ["93.184.215.14", "1.1.1.1", "2606:4700:4700::1111", "::ffff:8.8.8.8", "2002:808:808::1"]
)
def test_the_address_check_lets_public_addresses_through(address):
    assert forbidden_reason(ipaddress.ip_address(address)) is None


def test_allow_private_reaches_a_receiver_on_ipv6_loopback(start_receiver):
    try:
        receiver = start_receiver(_verifying(secret := generate_secret()), host="::1")
    except OSError as exc:
        pytest.skip(f"this machine cannot listen on ::1: {exc}")
    body, headers = _signed(secret, {"type": "ping"})

    outcome = deliver(url=receiver.url(), body=body, headers=headers, allow_private=True)

    assert outcome.ok
    assert receiver.requests[0].headers["host"] == f"[::1]:{receiver.port}"


def test_a_dns_answer_that_changes_after_the_check_does_not_move_the_connection(monkeypatch, start_receiver):
    # given a name that resolves to our receiver once, then (rebinding) to somewhere else
    secret = generate_secret()
    receiver = start_receiver(_verifying(secret))
    lookups = _fake_dns(monkeypatch, {"rebind.example": [["127.0.0.1"], ["203.0.113.9"]]})
    body, headers = _signed(secret, {"type": "ping"})

    # when we deliver
    outcome = deliver(url=receiver.url(host="rebind.example"), body=body, headers=headers, allow_private=True)

    # then the name was looked up once and the connection went to the address that was checked
    assert outcome.ok
    assert lookups == ["rebind.example"]
    assert receiver.requests[0].headers["host"] == f"rebind.example:{receiver.port}"


def test_when_the_first_address_refuses_the_next_one_is_tried(monkeypatch, start_receiver):
    # given a name whose first address has nothing listening (the receiver is bound to 127.0.0.1 only)
    secret = generate_secret()
    receiver = start_receiver(_verifying(secret))
    _fake_dns(monkeypatch, {"two.example": [["127.0.0.2", "127.0.0.1"]]})
    body, headers = _signed(secret, {"type": "ping"})

    outcome = deliver(url=receiver.url(host="two.example"), body=body, headers=headers, allow_private=True)

    assert outcome.ok
    assert len(receiver.requests) == 1


# -- hostile or broken receivers ----------------------------------------------------------------------------------


def test_a_redirect_is_reported_and_not_followed(start_receiver):
    # given a receiver that redirects to another one
    elsewhere = start_receiver(lambda handler, _request: answer(handler, status=200))
    redirecting = start_receiver(
        lambda handler, _request: answer(handler, status=302, headers={"Location": elsewhere.url("/stolen")})
    )

    # when we deliver to the first
    outcome = deliver(url=redirecting.url(), body=b"{}", headers={}, allow_private=True)

    # then the redirect is a failure and the target of the redirect never heard from us
    assert not outcome.ok
    assert outcome.status_code == 302
    assert outcome.error == f"redirect not followed (302 to {elsewhere.url('/stolen')})"
    assert elsewhere.requests == []


def test_a_receiver_that_does_not_answer_in_time_is_a_read_timeout(start_receiver):
    answer_now = threading.Event()
    receiver = start_receiver(lambda _handler, _request: answer_now.wait(5))  # holds the request, never answers

    started = time.monotonic()
    outcome = deliver(url=receiver.url(), body=b"{}", headers={}, allow_private=True, read_timeout=0.5)
    elapsed = time.monotonic() - started

    assert outcome.status_code is None
    assert "read timeout" in outcome.error
    assert 0.5 <= elapsed < 2
    assert 500 <= outcome.latency_ms < 2000
    answer_now.set()


def test_a_huge_answer_is_read_only_up_to_the_cap(start_receiver):
    # given a receiver answering 200 with 50 MB, counting what it manages to send
    total = 50 * 1024 * 1024
    sent = {"bytes": 0}
    finished = threading.Event()

    def respond(handler, _request):
        handler.send_response(200)
        handler.send_header("Content-Length", str(total))
        handler.end_headers()
        chunk = b"0123456789abcdef" * 4096
        try:
            while sent["bytes"] < total:
                handler.wfile.write(chunk)
                sent["bytes"] += len(chunk)
        except OSError:
            pass  # we hung up, as we should
        finally:
            finished.set()

    receiver = start_receiver(respond)

    # when we deliver with a 64 KB cap
    outcome = deliver(url=receiver.url(), body=b"{}", headers={}, allow_private=True, max_response_bytes=64 * 1024)

    # then the delivery counts, the excerpt is the first KB, and we hung up long before the end
    assert outcome.ok
    assert outcome.response_excerpt == ("0123456789abcdef" * 64)[:EXCERPT_BYTES]
    assert finished.wait(10)
    assert sent["bytes"] < total


def test_a_receiver_dribbling_its_answer_is_cut_off_at_the_read_deadline(start_receiver):
    def respond(handler, _request):
        handler.send_response(200)
        handler.send_header("Content-Length", "1000")
        handler.end_headers()
        try:
            for _ in range(1000):  # one byte every 50 ms: each wait is short, the whole would take 50 s
                handler.wfile.write(b"x")
                time.sleep(0.05)
        except OSError:
            pass

    receiver = start_receiver(respond)

    started = time.monotonic()
    outcome = deliver(url=receiver.url(), body=b"{}", headers={}, allow_private=True, read_timeout=0.5)

    assert time.monotonic() - started < 2
    assert outcome.ok
    assert 0 < len(outcome.response_excerpt) < 1000


def test_a_closed_port_gives_a_connection_refused_outcome():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    # the port is free again and nothing listens on it

    outcome = deliver(url=f"http://127.0.0.1:{port}/", body=b"{}", headers={}, allow_private=True)

    assert outcome.status_code is None
    assert "could not connect to 127.0.0.1" in outcome.error
    assert "refused" in outcome.error.lower()


def test_a_receiver_whose_accept_queue_is_full_gives_a_connect_timeout_outcome():
    # given a listener whose backlog is already full: the kernel drops further handshakes, so connect() hangs
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(0)
    port = listener.getsockname()[1]
    fillers = []
    for _ in range(3):
        filler = socket.socket()
        filler.setblocking(False)
        filler.connect_ex(("127.0.0.1", port))
        fillers.append(filler)
    time.sleep(0.1)

    # when we deliver with a short connect timeout
    started = time.monotonic()
    outcome = deliver(url=f"http://127.0.0.1:{port}/", body=b"{}", headers={}, allow_private=True, connect_timeout=0.5)
    elapsed = time.monotonic() - started
    for sock in [*fillers, listener]:
        sock.close()

    # then the connect timeout is the outcome, on time
    assert outcome.error == f"connect timeout (0.5 s) to 127.0.0.1 port {port}"
    assert elapsed < 2


def test_a_receiver_that_hangs_up_without_answering_gives_an_outcome():
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(1)

    def hang_up():
        connection, _ = listener.accept()
        connection.recv(65536)
        connection.close()

    threading.Thread(target=hang_up, daemon=True).start()

    outcome = deliver(url=f"http://127.0.0.1:{listener.getsockname()[1]}/", body=b"{}", headers={}, allow_private=True)
    listener.close()

    assert outcome.status_code is None
    assert outcome.error.startswith("connection to 127.0.0.1 broken")


def test_a_name_that_does_not_resolve_gives_a_dns_outcome():
    outcome = deliver(url="https://no-such-receiver.invalid/hook", body=b"{}", headers={}, allow_private=False)

    assert outcome.status_code is None
    assert outcome.error.startswith("DNS lookup failed for no-such-receiver.invalid")


@pytest.mark.parametrize(
    "url",
    ["ftp://example.com/hook", "file:///etc/passwd", "gopher://127.0.0.1:70/", "javascript:alert(1)", "example.com/x"],
)
def test_only_http_and_https_urls_are_delivered(url):
    outcome = deliver(url=url, body=b"{}", headers={}, allow_private=True)

    assert outcome.status_code is None
    assert outcome.error.startswith("only http and https URLs are delivered")


@pytest.mark.parametrize(
    ("url", "error"),
    [
        ("https://user:pass@example.com/", "credentials in the URL are not supported"),
        ("https:///hook", "the URL has no host"),
        ("https://example.com:99999/", "the URL has an invalid port"),
    ],
)
def test_malformed_urls_are_refused_with_a_reason(url, error):
    assert deliver(url=url, body=b"{}", headers={}, allow_private=True).error == error


# -- TLS ----------------------------------------------------------------------------------------------------------


def test_https_sends_the_host_name_as_sni_and_trusts_a_certificate_for_it(trusted_ca, start_receiver):
    secret = generate_secret()
    receiver = start_receiver(_verifying(secret), tls=server_tls(trusted_ca, "localhost"))
    body, headers = _signed(secret, {"type": "ping"})

    outcome = deliver(url=receiver.url(host="localhost"), body=body, headers=headers, allow_private=True)

    assert outcome.ok, outcome.error
    assert receiver.server_names == ["localhost"]
    assert receiver.requests[0].headers["host"] == f"localhost:{receiver.port}"


def test_https_refuses_a_certificate_issued_for_another_name(trusted_ca, start_receiver):
    receiver = start_receiver(_verifying(generate_secret()), tls=server_tls(trusted_ca, "elsewhere.example"))

    outcome = deliver(url=receiver.url(host="localhost"), body=b"{}", headers={}, allow_private=True)

    assert outcome.status_code is None
    assert outcome.error.startswith("TLS error with localhost")
    assert "localhost" in outcome.error
    assert receiver.requests == []


def test_https_refuses_a_certificate_from_an_unknown_authority(certificate_authority, start_receiver):
    # the test CA is not trusted here: the machine's own bundle is used
    receiver = start_receiver(_verifying(generate_secret()), tls=server_tls(certificate_authority, "localhost"))

    outcome = deliver(url=receiver.url(host="localhost"), body=b"{}", headers={}, allow_private=True)

    assert outcome.status_code is None
    assert "CERTIFICATE_VERIFY_FAILED" in outcome.error
    assert receiver.requests == []
