"""The kubernetes Python client's own e2e tests (apps, client, watch, utils; kubernetes 36.0.3), run unmodified
against the simulator: each one a real API server passes must pass here.

Not run here: the five that exec into or port-forward to a running container (`NEEDS_CONTAINERS`: no container
runs in the simulator), and the metrics test, which sleeps 10 s for metrics-server's scrape interval (`SLOW`;
`scripts/fidelity_k8s_client.py` runs it, and `test_kube_sim_workload_kinds.py` covers the same API quickly).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import k8s_client_e2e as e2e
import pytest

from magent.sandbox.kube import KubeSimulator

ALL_IDS = e2e.test_ids()
RUN_HERE = [test_id for test_id in ALL_IDS if test_id not in e2e.NEEDS_CONTAINERS and test_id not in e2e.SLOW]


@pytest.fixture(scope="module")
def pointed_at_simulator(tmp_path_factory: pytest.TempPathFactory) -> Iterator[KubeSimulator]:
    """A simulator of its own: the e2e tests write to `default` and list pods in every namespace."""
    with KubeSimulator(ready_delay=0.2, tick=0.05, restart_interval=0.5) as sim:
        kubeconfig = sim.write_kubeconfig(tmp_path_factory.mktemp("k8s-e2e") / "kubeconfig")
        with e2e.pointed_at(Path(kubeconfig)):
            yield sim


def test_the_copied_suite_is_whole_and_the_exclusions_name_real_tests():
    assert len(ALL_IDS) == 36
    assert set(e2e.NEEDS_CONTAINERS) | set(e2e.SLOW) <= set(ALL_IDS)
    assert len(RUN_HERE) == 30


@pytest.mark.parametrize("test_id", RUN_HERE)
def test_client_e2e(pointed_at_simulator: KubeSimulator, test_id: str):
    outcome = e2e.run(test_id)
    assert outcome.status == "passed", f"{test_id} {outcome.status}:\n{outcome.detail}"
