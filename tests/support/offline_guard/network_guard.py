"""Refuse every network connection that does not go to this machine (loopback or a Unix socket).

Installed for the whole test session by conftest.py, and in subprocesses through the
sitecustomize.py next to this file, so the suite proves the product needs no network.
"""

from __future__ import annotations

import ipaddress
import socket

_original_connect = socket.socket.connect
_original_connect_ex = socket.socket.connect_ex


class NonLoopbackConnectionRefused(ConnectionRefusedError):
    pass


def _is_loopback(sock: socket.socket, address) -> bool:
    if sock.family == getattr(socket, "AF_UNIX", None):
        return True
    host = address[0] if isinstance(address, tuple) else address
    if host in ("localhost", ""):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False  # a host name: resolving it would already be a network lookup


def _guarded_connect(self: socket.socket, address):
    if not _is_loopback(self, address):
        raise NonLoopbackConnectionRefused(f"test network guard: connection to {address!r} refused")
    return _original_connect(self, address)


def _guarded_connect_ex(self: socket.socket, address):
    if not _is_loopback(self, address):
        raise NonLoopbackConnectionRefused(f"test network guard: connection to {address!r} refused")
    return _original_connect_ex(self, address)


def install() -> None:
    socket.socket.connect = _guarded_connect
    socket.socket.connect_ex = _guarded_connect_ex
