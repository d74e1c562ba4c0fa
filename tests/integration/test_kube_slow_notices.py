"""The "waiting for the Kubernetes API" notices: one thread for every request, a notice only for a slow one."""

from __future__ import annotations

import threading
import time

from magent.core.config import KubeSettings
from magent.services.kube.client import SlowNotices, connect


def test_many_requests_start_at_most_one_thread(kubeconfig, monkeypatch):
    kube = connect(KubeSettings(kubeconfig=str(kubeconfig)))
    said: list[str] = []
    kube.on_slow = said.append
    started: list[str] = []
    real_start = threading.Thread.start

    def counting_start(thread: threading.Thread) -> None:
        started.append(thread.name)
        real_start(thread)

    monkeypatch.setattr(threading.Thread, "start", counting_start)
    for _ in range(20):
        kube.call(kube.core.read_namespace, kube.namespace)
    assert len(started) <= 1, started  # (none when an earlier test of this process started the notices' thread)
    assert said == []


def test_a_request_still_unanswered_at_its_deadline_is_announced_once_and_a_disarmed_one_never():
    notices, said = SlowNotices(), []
    slow = notices.arm(0.05, said.append, "slow one")
    quick = notices.arm(0.05, said.append, "quick one")
    notices.disarm(quick)
    later = notices.arm(0.15, said.append, "later one")
    time.sleep(0.1)
    assert said == ["slow one"]
    time.sleep(0.2)
    assert said == ["slow one", "later one"]
    notices.disarm(slow)
    notices.disarm(later)  # after its notice: nothing to undo, no error
    notices.arm(0.02, said.append, "after a quiet spell")  # the thread sleeps without a deadline until this
    time.sleep(0.15)
    assert said[-1] == "after a quiet spell" and len(said) == 3
