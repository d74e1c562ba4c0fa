"""The canary's pure logic: plan sizing, steps parsing, state round trip, transitions, resume points, events."""

from __future__ import annotations

import json
import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from magent.core.canary import (
    STATE_ANNOTATION,
    Action,
    CanaryState,
    Phase,
    Resume,
    advance,
    canary_replicas,
    decide,
    event,
    parse_steps,
    plan,
    resume_point,
)
from magent.core.errors import InconsistentState, UsageError


def _plan(stable: int = 4, weights: list[int] | None = None, image: str = "app:v2"):
    return plan(deployment="web", namespace="shop", image=image, previous_image="app:v1", container="app",
                stable_replicas=stable, weights=weights or [10, 50], pause_s=60, interval_s=10, max_inconclusive=3)


def _state(**changes) -> CanaryState:
    base = CanaryState(deploy_id="d1", image="app:v2", previous_image="app:v1", container="app", weights=[10, 50],
                       phase=Phase.ANALYSING)
    return base.moved(**changes) if changes else base


@pytest.mark.parametrize(("stable", "weight", "expected"), [
    (4, 10, 1), (4, 50, 2), (10, 10, 1), (10, 25, 3), (3, 50, 2), (1, 1, 1), (20, 99, 20), (7, 30, 3),
])
def test_canary_replicas_is_ceil_of_share_with_at_least_one(stable, weight, expected):
    assert canary_replicas(stable, weight) == expected


@given(st.integers(min_value=1, max_value=500), st.integers(min_value=1, max_value=99))
def test_canary_replicas_never_below_the_weight_nor_zero(stable, weight):
    replicas = canary_replicas(stable, weight)
    assert replicas >= 1
    assert replicas >= stable * weight / 100
    assert replicas - 1 < max(1, math.ceil(stable * weight / 100))


def test_plan_keeps_the_stable_and_says_which_share_it_gives():
    the_plan = _plan(stable=4)
    assert [(s.weight, s.canary_replicas, s.stable_replicas) for s in the_plan.steps] == [(10, 1, 4), (50, 2, 4)]
    assert [s.share for s in the_plan.steps] == [20.0, 33.3]
    data = the_plan.to_dict()
    assert data["canary"] == "web-canary"
    assert "canary / (stable + canary)" in data["note"]


@pytest.mark.parametrize(("stable", "image", "message"), [
    (0, "app:v2", "0 replicas"),
    (3, "app:v1", "already runs app:v1"),
])
def test_plan_refuses_what_cannot_be_a_canary(stable, image, message):
    with pytest.raises(UsageError, match=message):
        _plan(stable=stable, image=image)


@pytest.mark.parametrize("image", ["bad image!!", "Registry/App:v2", "app:", "app:v2 ", "/app:v2", "app@sha256:zz"])
def test_plan_refuses_a_malformed_image(image):
    with pytest.raises(UsageError, match="not a valid image reference") as caught:
        _plan(image=image)
    assert caught.value.exit_code == 2


@pytest.mark.parametrize("image", ["app:v2", "registry.local/agent:v3-crashloop", "localhost:5000/a/b_c:1.0",
                                   "ghcr.io/org/agent@sha256:" + "a" * 64, "My-Registry.io:443/x/y:V2"])
def test_plan_accepts_image_references(image):
    assert _plan(image=image).image == image


@pytest.mark.parametrize(("text", "expected"), [("10,50", [10, 50]), ("5", [5]), (" 10, 25 ,50 ", [10, 25, 50])])
def test_parse_steps(text, expected):
    assert parse_steps(text) == expected


@pytest.mark.parametrize("text", ["", "ten", "50,10", "10,10", "0,50", "10,100", "-5"])
def test_parse_steps_rejects_bad_steps(text):
    with pytest.raises(UsageError) as caught:
        parse_steps(text)
    assert caught.value.exit_code == 2


def test_state_round_trips_through_the_annotation_json():
    state = _state(step=1, inconclusive=2, last_analysis={"verdict": "pass", "summary": "ok"}, holder="me@h 1")
    again = CanaryState.from_json(state.to_json(), where="web")
    assert again == state
    assert json.loads(state.to_json())["phase"] == "paused-for-analysis"


def test_state_ignores_unknown_fields_from_a_newer_magent():
    data = json.loads(_state().to_json()) | {"future_field": 1}
    assert CanaryState.from_json(json.dumps(data), where="web").deploy_id == "d1"


@pytest.mark.parametrize("text", ["{", "{}", '{"phase": "nope"}', "[]"])
def test_unreadable_state_needs_a_human(text):
    with pytest.raises(InconsistentState, match=STATE_ANNOTATION) as caught:
        CanaryState.from_json(text, where="web")
    assert caught.value.exit_code == 4


@pytest.mark.parametrize(("verdict", "elapsed", "count", "expected"), [
    ("fail", False, 0, (Action.ABORT, 0)),
    ("fail", True, 2, (Action.ABORT, 2)),
    ("pass", False, 2, (Action.CONTINUE, 0)),
    ("pass", True, 2, (Action.ADVANCE, 0)),
    ("inconclusive", False, 1, (Action.CONTINUE, 1)),
    ("inconclusive", True, 0, (Action.HOLD, 1)),
    ("inconclusive", True, 1, (Action.HOLD, 2)),
    ("inconclusive", True, 2, (Action.ABORT, 3)),
])
def test_decide(verdict, elapsed, count, expected):
    assert decide(verdict, pause_elapsed=elapsed, inconclusive=count, max_inconclusive=3) == expected


def test_inconclusive_never_advances_however_long_it_lasts():
    count, actions = 0, []
    for _ in range(10):
        action, count = decide("inconclusive", pause_elapsed=True, inconclusive=count, max_inconclusive=10)
        actions.append(action)
    assert Action.ADVANCE not in actions
    assert actions[-1] is Action.ABORT


def test_advance_walks_the_steps_then_promotes():
    state = _state(step=0, inconclusive=2)
    second = advance(state)
    assert (second.step, second.phase, second.inconclusive) == (1, Phase.PROGRESSING, 0)
    assert advance(second).phase is Phase.PROMOTING


@pytest.mark.parametrize(("phase", "canary", "expected"), [
    (Phase.PROGRESSING, None, Resume.RUN_STEP),
    (Phase.ANALYSING, 2, Resume.RUN_STEP),
    (Phase.ANALYSING, 0, Resume.FINISH_ABORT),
    (Phase.PROGRESSING, 0, Resume.FINISH_ABORT),
    (Phase.PROMOTING, 0, Resume.PROMOTE),
    (Phase.PROMOTING, None, Resume.PROMOTE),
])
def test_resume_point(phase, canary, expected):
    assert resume_point(_state(phase=phase), canary) is expected


@pytest.mark.parametrize("phase", [Phase.ABORTED, Phase.PROMOTED])
def test_nothing_to_resume_after_the_end(phase):
    with pytest.raises(UsageError, match="already") as caught:
        resume_point(_state(phase=phase), None)
    assert "nothing to resume" in caught.value.hint


def test_event_carries_where_and_which_step():
    record = event("analysis", deployment="web", namespace="shop", state=_state(step=1), verdict="pass")
    assert record["event"] == "analysis"
    assert (record["deployment"], record["namespace"], record["step"], record["weight"]) == ("web", "shop", 2, 50)
    assert record["at"].endswith("Z")
    assert record["verdict"] == "pass"
