"""services/ecs against moto in server mode: the ECS and ALB calls an ECS canary is made of."""

from __future__ import annotations

import pytest
from fixtures.ecs import IMAGE

from magent.core.errors import UsageError
from magent.services.aws import ecs as es


@pytest.fixture
def ecs(ecs_stack):
    return es.Ecs(region="us-east-1", endpoint_url=ecs_stack.endpoint_url)


def test_the_service_is_read_with_its_task_definition_image_and_target_group(ecs, ecs_stack):
    service = es.get_service(ecs, ecs_stack.cluster, ecs_stack.service)
    assert (service.desired, service.running, service.status) == (2, 2, "ACTIVE")
    assert service.target_groups == [ecs_stack.stable_tg]
    assert es.image_of(es.describe_task_definition(ecs, service.task_definition)) == IMAGE


def test_a_missing_service_or_cluster_is_a_usage_error_naming_it(ecs, ecs_stack):
    assert es.find_service(ecs, ecs_stack.cluster, "nope") is None
    with pytest.raises(UsageError, match="ECS service nope not found in cluster"):
        es.get_service(ecs, ecs_stack.cluster, "nope")
    with pytest.raises(UsageError, match="not found") as caught:
        es.get_service(ecs, "no-such-cluster", ecs_stack.service)
    assert caught.value.hint


def test_a_new_revision_differs_only_in_the_image(ecs, ecs_stack):
    source = es.describe_task_definition(ecs, ecs_stack.task_definition)
    arn = es.register_with_image(ecs, source, "registry.example/agent:2.0", "agent")
    copy = es.describe_task_definition(ecs, arn)
    assert copy["revision"] == source["revision"] + 1
    assert es.image_of(copy, "agent") == "registry.example/agent:2.0"
    strip = ("image", )
    assert [{k: v for k, v in c.items() if k not in strip} for c in copy["containerDefinitions"]] == \
        [{k: v for k, v in c.items() if k not in strip} for c in source["containerDefinitions"]]
    with pytest.raises(UsageError, match="no container 'web'"):
        es.register_with_image(ecs, source, "x:1", "web")


def test_listener_weights_shift_in_one_call_and_read_back(ecs, ecs_stack):
    assert es.forward_weights(ecs, ecs_stack.listener_arn) == {ecs_stack.stable_tg: 1}
    es.set_forward_weights(ecs, ecs_stack.listener_arn, {ecs_stack.stable_tg: 90, ecs_stack.canary_tg: 10})
    assert es.forward_weights(ecs, ecs_stack.listener_arn) == {ecs_stack.stable_tg: 90, ecs_stack.canary_tg: 10}
    es.set_forward_weights(ecs, ecs_stack.listener_arn, {ecs_stack.stable_tg: 100, ecs_stack.canary_tg: 0})
    assert es.forward_weights(ecs, ecs_stack.listener_arn) == {ecs_stack.stable_tg: 100, ecs_stack.canary_tg: 0}
    assert es.listeners_forwarding_to(ecs, ecs_stack.stable_tg) == [ecs_stack.listener_arn]


def test_a_canary_service_is_created_beside_the_stable_scaled_and_deleted(ecs, ecs_stack):
    stable = es.get_service(ecs, ecs_stack.cluster, ecs_stack.service)
    canary = es.create_service_like(ecs, stable, "agent-canary", task_definition=stable.task_definition, count=1,
                                    target_group=ecs_stack.canary_tg, tags={"magent.dev/deploy-id": "d1"})
    assert canary.target_groups == [ecs_stack.canary_tg]
    assert canary.tags == {"magent.dev/deploy-id": "d1"}
    es.update_service(ecs, ecs_stack.cluster, "agent-canary", count=3)
    assert es.get_service(ecs, ecs_stack.cluster, "agent-canary").desired == 3
    assert es.delete_service(ecs, ecs_stack.cluster, "agent-canary") is True
    assert es.find_service(ecs, ecs_stack.cluster, "agent-canary") is None
    assert es.delete_service(ecs, ecs_stack.cluster, "agent-canary") is False


def test_the_rollout_wait_returns_once_the_new_task_definition_runs(ecs, ecs_stack):
    source = es.describe_task_definition(ecs, ecs_stack.task_definition)
    arn = es.register_with_image(ecs, source, "registry.example/agent:2.0", "agent")
    es.update_service(ecs, ecs_stack.cluster, ecs_stack.service, task_definition=arn)
    done = es.wait_for_rollout(ecs, ecs_stack.cluster, ecs_stack.service, task_definition=arn, timeout_s=5,
                               poll_s=0.05)
    assert done.task_definition == arn


def test_the_rollout_wait_gives_up_after_its_timeout(ecs, ecs_stack):
    from magent.core.errors import InconsistentState

    with pytest.raises(InconsistentState, match="did not finish its rollout"):
        es.wait_for_rollout(ecs, ecs_stack.cluster, ecs_stack.service, task_definition="arn:other", timeout_s=0.1,
                            poll_s=0.05)


def test_tags_hold_a_long_state_in_chunks_and_shrink_cleanly(ecs, ecs_stack):
    from magent.core.tag_chunks import from_tags, stale_keys, to_tags

    arn = es.get_service(ecs, ecs_stack.cluster, ecs_stack.service).arn
    import json
    import random

    rng = random.Random(4)
    text = json.dumps({"events": ["".join(rng.choice("abcdef{}\",: ") for _ in range(3000))]})
    tags = to_tags("magent.dev/state", text)
    assert len(tags) > 3 and all(len(v) <= 256 for v in tags.values())
    es.write_tags(ecs, arn, tags)
    assert from_tags("magent.dev/state", es.read_tags(ecs, arn)) == text
    short = to_tags("magent.dev/state", "{}")
    es.write_tags(ecs, arn, short, remove=stale_keys("magent.dev/state", es.read_tags(ecs, arn), short))
    read = es.read_tags(ecs, arn)
    assert from_tags("magent.dev/state", read) == "{}"
    assert sorted(k for k in read if k.startswith("magent.dev/state")) == sorted(short)


def test_an_unreachable_endpoint_is_exit_3_naming_it():
    from magent.core.errors import Unreachable

    ecs = es.Ecs(region="us-east-1", endpoint_url="http://127.0.0.1:9", timeout_s=0.5)
    with pytest.raises(Unreachable, match="127.0.0.1:9"):
        es.find_service(ecs, "c", "s")
