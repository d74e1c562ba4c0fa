#!/usr/bin/env python3
"""Run the kubernetes Python client's own e2e tests (apps, client, watch, utils) against the Kubernetes
simulator and print the pass count ("N/M passed"): the fidelity figure in the README.

    .venv/bin/python scripts/fidelity_k8s_client.py [-v]

All 36 tests run, the slow metrics one included (~25 s in all). Exit status 0 when every test passed except
those that need a running container (exec, port-forward; listed with the reason), 1 otherwise.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "fidelity"))

import k8s_client_e2e as e2e  # noqa: E402

from magent.sandbox.kube import KubeSimulator  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("-v", "--verbose", action="store_true", help="print the traceback of each failure")
    args = parser.parse_args()
    started = time.monotonic()
    outcomes = []
    with KubeSimulator(ready_delay=0.2, tick=0.05, restart_interval=0.5) as sim, \
            tempfile.TemporaryDirectory() as scratch:
        with e2e.pointed_at(sim.write_kubeconfig(Path(scratch) / "kubeconfig")):
            for test_id in e2e.test_ids():
                outcome = e2e.run(test_id)
                outcomes.append(outcome)
                reason = e2e.NEEDS_CONTAINERS.get(test_id)
                print(f"{outcome.status:8} {test_id}" + (f"  (needs a container: {reason})" if reason else ""))
                if args.verbose and outcome.detail and outcome.status != "passed":
                    print(outcome.detail)
    passed = sum(o.status == "passed" for o in outcomes)
    print(f"{passed}/{len(outcomes)} passed in {time.monotonic() - started:.1f} s")
    unexpected = [o for o in outcomes if o.status != "passed" and o.test_id not in e2e.NEEDS_CONTAINERS]
    return 1 if unexpected else 0


if __name__ == "__main__":
    sys.exit(main())
