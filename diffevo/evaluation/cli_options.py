"""The command-line switches of the evaluation backends, shared by ``diffevo optimize``, ``bench`` and ``image``."""

from __future__ import annotations

import argparse
from typing import Any, TypeVar

from .. import cli_args as A
from . import Backend, RayCluster, make_backend
from .faults import ON_FAILURE
from .ray_reach import CONNECT_TIMEOUT, INIT_TIMEOUT, check_reachable, host_and_port

BackendT = TypeVar("BackendT", bound="Backend | None")


def ray_address(text: str) -> str:
    """A Ray address: 'local', 'auto', 'host:6379' or 'ray://host:10001' (a port, if given, from 1 to 65535)."""
    if not text.strip():
        raise argparse.ArgumentTypeError("expected a Ray address such as local, auto or host:6379, got ''")
    if text.strip() not in ("local", "auto"):
        try:
            host_and_port(text.strip())
        except ValueError as exc:
            raise argparse.ArgumentTypeError(str(exc)) from None
    return text.strip()


def add_backend_arguments(p: argparse.ArgumentParser, what: str = "evaluations") -> None:
    """--workers, --ray-address, --eval-timeout, --on-failure."""
    g = p.add_argument_group("parallel and distributed evaluation")
    g.add_argument("--workers", type=A.positive_int, default=1,
                   help=f"spread the {what} over N local worker processes (default 1: in this process); "
                        "with --ray-address, the number of Ray actors")
    g.add_argument("--ray-address", type=ray_address, default=None,
                   help=f"run the {what} on Ray actors: 'local' starts a local cluster, 'auto' or HOST:PORT joins one "
                        f"(a HOST:PORT that accepts no connection within {CONNECT_TIMEOUT:g} s, or where no Ray "
                        f"cluster answers within {INIT_TIMEOUT:g} s, stops the command in one line before any work)")
    g.add_argument("--eval-timeout", type=A.positive_float, default=None,
                   help="seconds a worker may spend on one chunk before it is replaced and the chunk re-run "
                        "(default: no limit)")
    g.add_argument("--on-failure", choices=ON_FAILURE, default="worst",
                   help="what keeps failing after retries: 'worst' (NaN fitness, a warning) or 'raise' (stop); "
                        "a generation in which every member failed stops the run either way (exit status 1)")


def check_ray_address(args: argparse.Namespace) -> None:
    """Fail in one line, within ``CONNECT_TIMEOUT`` seconds, when --ray-address names a HOST:PORT nothing answers
    at (call it before loading models: ``ray.init`` itself would wait forever)."""
    check_reachable(args.ray_address)


def connected(backend: BackendT) -> BackendT:
    """``backend``, connected at once if it is a :class:`RayCluster`: a --ray-address where no cluster answers
    fails here, in one line within ``CONNECT_TIMEOUT`` + ``INIT_TIMEOUT`` seconds, before any model loads."""
    if isinstance(backend, RayCluster):
        backend.connect()
    return backend


def backend_from_args(args: argparse.Namespace, **extra: object) -> Backend:
    """The backend the switches describe (in-process for the defaults); a Ray backend is connected at once
    (:func:`connected`)."""
    check_ray_address(args)
    options: dict[str, Any] = {}
    if args.workers > 1 or args.ray_address is not None:
        options = {"timeout": args.eval_timeout, "on_failure": args.on_failure, **extra}
    return connected(make_backend(args.workers, args.ray_address, **options))
