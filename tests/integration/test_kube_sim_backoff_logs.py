"""Crash back-off that doubles as on a node (issue 9 §6), and `kubectl logs --since / --timestamps`."""

from __future__ import annotations

import re
import time
from datetime import UTC, datetime

import httpx
import pytest
from fixtures.kube import deployment_manifest, wait_until
from hypothesis import given
from hypothesis import strategies as st

from magent.sandbox.kube.backoff import CAP_FACTOR, crash_cycle, go_duration
from magent.sandbox.kube.errors import ApiError
from magent.sandbox.kube.podlogs import LogOptions


def test_back_off_doubles_from_crash_to_crash_up_to_the_cap():
    interval = 1.0  # a run of 0.5, then back-offs of 0.5, 1, 2, 4, … capped at 15 (a node's 10 s … 5 min)
    restarts_at = []
    age, last = 0.0, 0
    while age < 200:
        cycle = crash_cycle(age, interval)
        if cycle.restarts != last:
            restarts_at.append(round(age, 2))
            last = cycle.restarts
        age = round(age + 0.05, 2)
    gaps = [round(b - a, 2) for a, b in zip(restarts_at, restarts_at[1:])]
    assert gaps[:5] == [1.0, 1.5, 2.5, 4.5, 8.5]  # each gap: a 0.5 run plus the doubled back-off
    assert max(gaps) == 0.5 + 0.5 * CAP_FACTOR and gaps[-1] == 15.5
    waiting = crash_cycle(0.6, interval)
    assert waiting.crashed and waiting.restarts == 1 and waiting.backoff == 0.5


@given(st.floats(min_value=0, max_value=1e6, allow_nan=False), st.floats(min_value=0.01, max_value=10))
def test_crash_cycle_is_consistent_at_any_age(age, interval):
    cycle = crash_cycle(age, interval)
    assert cycle.started <= age < cycle.next_change
    assert cycle.restarts >= 0 and cycle.backoff <= cycle.run * CAP_FACTOR + 1e-9
    if cycle.previous_started is not None:
        assert cycle.previous_started < cycle.started


@pytest.mark.parametrize(("seconds", "text"), [(0.25, "250ms"), (10, "10s"), (2.5, "2.5s"), (80, "1m20s"),
                                               (300, "5m0s")])
def test_back_off_is_printed_as_go_prints_a_duration(seconds, text):
    assert go_duration(seconds) == text


def test_crash_looping_pod_backs_off_longer_each_time(kube_sim, kube_namespace):
    kube_sim.set_restart_interval(0.1)  # runs of 0.05 s, back-offs of 0.05, 0.1, 0.2, 0.4 s …
    kube_sim.create(deployment_manifest("crash", "app:v1-crashloop", replicas=1, namespace=kube_namespace))
    seen: dict[int, float] = {}
    started = time.monotonic()
    messages = set()

    def restarts() -> int:
        pods = kube_sim.list("v1", "Pod", kube_namespace)
        status = ((pods[0].get("status") or {}).get("containerStatuses") or [{}])[0] if pods else {}
        count = status.get("restartCount", 0)
        seen.setdefault(count, time.monotonic() - started)
        waiting = (status.get("state") or {}).get("waiting")
        if waiting:
            messages.add(waiting["message"].split(" restarting")[0])
            assert waiting["reason"] == "CrashLoopBackOff"
        return count >= 5

    wait_until(restarts, timeout=6, interval=0.01, what="5 restarts")
    first_gap, last_gap = seen[2] - seen[1], seen[5] - seen[4]  # 0.1 s then 0.45 s on the sandbox's clock
    assert last_gap > 2.5 * first_gap, (first_gap, last_gap)  # not a constant restart interval
    assert {"back-off 100ms", "back-off 200ms"} <= messages, messages


@pytest.fixture
def web_pod(kube_sim, kube_namespace) -> str:
    kube_sim.create(deployment_manifest("web", "app:v1", replicas=1, namespace=kube_namespace))
    pod = wait_until(lambda: [p for p in kube_sim.list("v1", "Pod", kube_namespace)
                              if (p.get("status") or {}).get("podIP")], what="a running pod")[0]
    return pod["metadata"]["name"]


_STAMP = re.compile(r"^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}Z) ")


def test_kubectl_logs_timestamps_and_since(kubectl, web_pod):
    time.sleep(2.2)  # two access-log lines, one a second after the start-up banner
    plain = kubectl("logs", web_pod, check=True).stdout.splitlines()
    stamped = kubectl("logs", web_pod, "--timestamps", check=True).stdout.splitlines()
    assert len(stamped) >= len(plain) >= 5
    stamps = [_STAMP.match(line) for line in stamped]
    assert all(stamps) and [line[len(m.group(0)):] for line, m in zip(stamped, stamps)][:len(plain)] == plain
    moments = [datetime.strptime(m.group(1)[:26] + "Z", "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=UTC) for m in stamps]
    assert moments == sorted(moments) and (datetime.now(UTC) - moments[-1]).total_seconds() < 2
    recent = kubectl("logs", web_pod, "--since=1s", check=True).stdout.splitlines()
    assert 1 <= len(recent) < len(plain) and "starting app" not in "".join(recent)
    cutoff = moments[3].isoformat(timespec="microseconds").replace("+00:00", "Z")
    since_time = kubectl("logs", web_pod, f"--since-time={cutoff}", check=True).stdout.splitlines()
    assert since_time[:len(plain) - 3] == plain[3:]
    assert kubectl("logs", web_pod, "--tail=2", check=True).stdout.count("\n") == 2


def test_bad_log_options_are_refused_as_the_api_server_does(kube_sim, kube_namespace, web_pod):
    path = f"{kube_sim.url}/api/v1/namespaces/{kube_namespace}/pods/{web_pod}/log"
    both = httpx.get(path, params={"sinceSeconds": "5", "sinceTime": "2026-01-01T00:00:00Z"})
    assert both.status_code == 422 and "at most one of `sinceTime` or `sinceSeconds`" in both.json()["message"]
    assert httpx.get(path, params={"sinceSeconds": "0"}).status_code == 422
    assert httpx.get(path, params={"sinceSeconds": "x"}).status_code == 400
    assert httpx.get(path, params={"sinceTime": "yesterday"}).status_code == 400
    assert httpx.get(path, params={"tailLines": "-1"}).status_code == 422


_OPTION_TEXT = st.one_of(st.none(), st.text(max_size=30), st.integers(-10**30, 10**30).map(str),
                         st.datetimes().map(lambda d: d.isoformat() + "Z"))


@given(st.fixed_dictionaries({}, optional={"sinceSeconds": _OPTION_TEXT, "sinceTime": _OPTION_TEXT,
                                           "tailLines": _OPTION_TEXT, "timestamps": _OPTION_TEXT}))
def test_any_log_query_is_parsed_or_refused_with_an_api_error(query):
    query = {k: v for k, v in query.items() if v is not None}
    try:
        options = LogOptions.parse(query)
    except ApiError as exc:
        assert exc.code in (400, 422)
    else:
        assert options.select([(0.0, "old"), (time.time(), "new")]) in ([], ["new"], ["old", "new"]) or \
            options.timestamps
