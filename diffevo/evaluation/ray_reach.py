"""Fail fast on a Ray address that nothing answers at, instead of waiting on ``ray.init`` (which retries forever).

``ray.init(address='127.0.0.1:1')`` never returns when no cluster listens there. Before connecting,
:func:`check_reachable` opens a plain TCP connection to the address's host and port, waiting at most
:data:`CONNECT_TIMEOUT` seconds, and raises one line naming the address if that fails. 'auto' and 'local' are
left to Ray ('auto' fails at once when no cluster runs on this machine; 'local' starts one). Where something
answers that is not a Ray cluster, :func:`init_within` gives ``ray.init`` at most :data:`INIT_TIMEOUT` seconds.
"""

from __future__ import annotations

import logging
import socket
import threading
from typing import Any

from .faults import EvaluationError, short

CONNECT_TIMEOUT = 10.0
"""Seconds to wait for a TCP connection to a Ray address before giving up."""

INIT_TIMEOUT = 60.0
"""Seconds ``ray.init`` may take to join a cluster at an address that accepted the TCP connection."""

DEFAULT_PORTS = {"": 6379, "ray://": 10001}
"""Ports Ray uses when an address names none: the GCS (host:port) and the Ray client (ray://host:port)."""


def host_and_port(address: str) -> tuple[str, int]:
    """(host, port) of a Ray address 'host:port', 'ray://host:port' or '[::1]:port' (Ray's default port if none)."""
    scheme = "ray://" if address.startswith("ray://") else ""
    rest = address[len(scheme):].split("/", 1)[0]
    if rest.startswith("["):                     # [IPv6]:port
        host, _, tail = rest[1:].partition("]")
        port_text = tail[1:] if tail.startswith(":") else ""
    elif rest.count(":") == 1:
        host, port_text = rest.split(":")
    else:
        host, port_text = rest, ""
    if not host:
        raise ValueError(f"Ray address {address!r} names no host; use local, auto, HOST:PORT or ray://HOST:PORT")
    if not port_text:
        return host, DEFAULT_PORTS[scheme]
    if not port_text.isdigit() or not 0 < int(port_text) < 65536:
        raise ValueError(f"Ray address {address!r}: the port must be a number from 1 to 65535, got {port_text!r}")
    return host, int(port_text)


def check_reachable(address: str | None, timeout: float = CONNECT_TIMEOUT) -> None:
    """Raise :class:`EvaluationError` (one line) unless a TCP connection to ``address`` opens within ``timeout`` s.

    None, 'auto' and 'local' are not checked (Ray resolves them itself and fails at once when it cannot).
    """
    if address is None or address in ("auto", "local"):
        return
    host, port = host_and_port(address)
    try:
        with socket.create_connection((host, port), timeout=timeout):
            pass
    except OSError as exc:
        reason = "no answer" if isinstance(exc, TimeoutError) else (exc.strerror or str(exc) or type(exc).__name__)
        raise EvaluationError(f"cannot reach a Ray cluster at {address!r} ({reason} within {timeout:g} s); "
                              f"start one with `ray start --head`, or check the address") from None


def init_within(ray: Any, address: str, timeout: float | None = None) -> None:
    """``ray.init(address=address)``, raising :class:`EvaluationError` (one line) if it fails or takes more than
    ``timeout`` seconds (default :data:`INIT_TIMEOUT`). It runs in a daemon thread, abandoned on a timeout: Ray is
    then unusable in this process, which should stop (the command line does)."""
    limit = INIT_TIMEOUT if timeout is None else timeout
    outcome: dict[str, BaseException | None] = {}

    def connect() -> None:
        try:
            ray.init(address=address)
            outcome["error"] = None
        except BaseException as exc:   # reported in the calling thread
            outcome["error"] = exc

    ray_log = logging.getLogger("ray._private.worker")
    quiet = _DropSigtermNotice()     # Ray notes that it sets no SIGTERM handler outside the main thread: expected
    ray_log.addFilter(quiet)
    thread = threading.Thread(target=connect, name="diffevo-ray-init", daemon=True)
    thread.start()
    thread.join(limit)
    ray_log.removeFilter(quiet)
    if thread.is_alive():
        raise EvaluationError(f"no Ray cluster answered at {address!r} within {limit:g} s (something else may "
                              f"listen there); check the address")
    error = outcome.get("error")
    if error is not None:
        raise EvaluationError(f"cannot connect to a Ray cluster at {address!r}: {type(error).__name__}: "
                              f"{short(str(error))}") from None


class _DropSigtermNotice(logging.Filter):
    """Drops Ray's 'SIGTERM handler is not set because current thread is not the main thread' warning."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not record.getMessage().startswith("SIGTERM handler is not set")
