"""When `magent status --watch` ends, and with which code (pure)."""

from magent.core.status_watch import watch_end, watch_line


def _data(phase=None, in_progress=False, lock=None, rollout_done=True, reason=None):
    deploy = None if phase is None else {
        "deploy_id": "d1", "phase": phase, "in_progress": in_progress, "image": "app:v2", "previous_image": "app:v1",
        "weights": [10, 50], "step": 1, "weight": 10, "reason": reason, "last_analysis": None}
    return {"namespace": "ns", "deployment": "web", "images": ["app:v1"], "replicas": {"ready": 4, "desired": 4},
            "canary": None, "deploy": deploy, "lock": lock, "rollout": "waiting", "rollout_done": rollout_done,
            "rollout_error": False}


def test_outcomes_and_their_codes():
    assert watch_end(_data(), holder_gone_before=False).exit_code == 0
    assert watch_end(_data("promoted"), holder_gone_before=False).exit_code == 0
    aborted = watch_end(_data("aborted", reason="rolled back by x"), holder_gone_before=False)
    assert aborted.exit_code == 1 and "rolled back by x" in aborted.message
    assert watch_end(_data("promoted", rollout_done=False), holder_gone_before=False) is None


def test_a_deploy_whose_lock_lapsed_twice_is_unfinished():
    live = {"holder": "ci 1", "expired": False}
    assert watch_end(_data("progressing", True, lock=live), holder_gone_before=True) is None
    assert watch_end(_data("progressing", True, lock=None), holder_gone_before=False) is None
    end = watch_end(_data("progressing", True, lock={"holder": "ci 1", "expired": True}), holder_gone_before=True)
    assert end.exit_code == 4 and "expired" in end.message


def test_line_names_step_and_images():
    line = watch_line(_data("progressing", True, rollout_done=False))
    assert "deploy d1 progressing step 1/2 (10%): app:v1 → app:v2" in line and "waiting" in line
