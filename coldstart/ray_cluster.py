"""Connecting to Ray (the ``[scale]`` extra), shared by the Ray executor and Ray Data embedding.

``connect(address)``:

- ``None``: reuse the Ray instance this process already joined, else start a local one
  (every core of this machine; stopped when the process exits);
- ``"auto"``: join the cluster whose head runs on this machine (``ray start --head``);
- ``"HOST:PORT"`` (the head's GCS port, 6379 by default) or ``"ray://HOST:PORT"`` (Ray Client,
  10001 by default): a remote cluster. The port is probed first, so an unreachable cluster is
  a :class:`ColdstartError` naming the address within seconds instead of a long hang.

Workers must see the same data root: set ``COLDSTART_DATA`` to a path on the cluster's shared
storage (docs/scale.md); :func:`connect` passes this process's data root and ``PYTHONPATH`` to
the workers' environment.
"""

from __future__ import annotations

import os
import socket

from .errors import ColdstartError
from .paths import data_root

INSTALL_HINT = 'pip install -e ".[scale]"'


def require_ray():
    """The ``ray`` module, or a ColdstartError telling how to install it."""
    try:
        import ray
    except ImportError:
        raise ColdstartError(f"Ray is not installed: install the scale extra with `{INSTALL_HINT}` "
                             "(or use --executor local)") from None
    return ray


def check_address(address: str | None) -> str | None:
    """Validate the form of ``address``; returns it stripped (None/'' = a local instance)."""
    if address is None or str(address).strip() in ("", "local"):
        return None
    a = str(address).strip()
    if a == "auto":
        return a
    hostport = a[len("ray://"):] if a.startswith("ray://") else a
    host, _, port = hostport.rpartition(":")
    if not host or not port.isdigit():
        raise ColdstartError(f"address={address!r}: write auto, HOST:PORT (the head's GCS port, e.g. "
                             "10.0.0.5:6379) or ray://HOST:PORT (Ray Client, e.g. ray://10.0.0.5:10001)")
    return a


def _probe(address: str, timeout: float = 5.0) -> None:
    hostport = address[len("ray://"):] if address.startswith("ray://") else address
    host, _, port = hostport.rpartition(":")
    try:
        socket.create_connection((host, int(port)), timeout=timeout).close()
    except OSError as e:
        raise ColdstartError(f"the Ray cluster at {address} is unreachable ({e.strerror or e}): start it with "
                             "`ray start --head` on the head node, check the host and port (and the "
                             "firewall), or run with --executor local") from None


def connect(address: str | None = None, num_cpus: int | None = None):
    """Join (or start) a Ray instance; returns the ``ray`` module. See the module docstring."""
    ray = require_ray()
    address = check_address(address)
    if address not in (None, "auto"):
        _probe(address)
    if ray.is_initialized():
        return ray
    env = {"COLDSTART_DATA": str(data_root())}
    if os.environ.get("PYTHONPATH"):
        env["PYTHONPATH"] = os.environ["PYTHONPATH"]
    kw = dict(runtime_env={"env_vars": env}, ignore_reinit_error=True, log_to_driver=False,
              include_dashboard=False, configure_logging=False)
    if address is None:  # a new instance, never another process's one found on this machine
        kw.update(address="local", num_cpus=num_cpus)
    else:
        kw.pop("include_dashboard")
        kw["address"] = address
    try:
        ray.init(**kw)
    except ConnectionError as e:
        raise ColdstartError(f"cannot connect to the Ray cluster at {address or 'a new local instance'}: "
                             f"{str(e).splitlines()[0] if str(e) else type(e).__name__}. Start one with "
                             "`ray start --head` (then --address auto), or run with --executor local") from None
    return ray
