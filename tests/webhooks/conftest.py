"""Fixtures that start the loopback receivers of tests/webhooks/receivers.py and stop them afterwards."""

import socket
from collections.abc import Callable, Iterator

import pytest
import trustme

from tests.webhooks.receivers import Receiver, SilentListener


@pytest.fixture
def start_receiver() -> Iterator[Callable[..., Receiver]]:
    started: list[Receiver] = []

    def start(respond, **options) -> Receiver:
        receiver = Receiver(respond=respond, **options).start()
        started.append(receiver)
        return receiver

    yield start
    for receiver in started:
        receiver.stop()


def _silent_listener(family: int, host: str) -> Iterator[SilentListener]:
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.bind((host, 0))
    except OSError as exc:
        sock.close()
        pytest.skip(f"this machine cannot listen on {host}: {exc}")
    sock.listen(8)
    yield SilentListener(sock=sock, port=sock.getsockname()[1])
    sock.close()


@pytest.fixture
def silent_listener() -> Iterator[SilentListener]:
    yield from _silent_listener(socket.AF_INET, "127.0.0.1")


@pytest.fixture
def silent_listener_v6() -> Iterator[SilentListener]:
    yield from _silent_listener(socket.AF_INET6, "::1")


@pytest.fixture(scope="session")
def certificate_authority() -> trustme.CA:
    return trustme.CA()


@pytest.fixture
def trusted_ca(certificate_authority, tmp_path, monkeypatch) -> trustme.CA:
    """Make the delivery trust the test CA (and only it): OpenSSL reads SSL_CERT_FILE when defaults are loaded."""
    bundle = tmp_path / "ca.pem"
    certificate_authority.cert_pem.write_to_path(str(bundle))
    monkeypatch.setenv("SSL_CERT_FILE", str(bundle))
    return certificate_authority
