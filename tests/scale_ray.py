"""The local Ray instance of the scale tests: started once (2 CPUs, localhost), stopped at the end."""

from __future__ import annotations

import pytest


@pytest.fixture(scope="session")
def ray_local():
    """``ray`` joined to a local 2-CPU instance; skips when the [scale] extra is not installed."""
    ray = pytest.importorskip("ray", reason='the [scale] extra is not installed: pip install -e ".[scale]"')
    from coldstart.ray_cluster import connect

    connect(None, num_cpus=2)
    yield ray
    ray.shutdown()
