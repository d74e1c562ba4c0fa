"""magent.yaml numbers: durations have sane lower bounds, and no float key takes `.nan` or `.inf`.

YAML reads `.nan` / `.inf` as floats, which pass every `gt`/`ge` comparison; a NaN pause never ends a step and
an infinite lease duration was a traceback. Each bad value is exit 2, one error line naming the key and line.
"""

from __future__ import annotations

import pytest

BAD_VALUES = [
    ("deploy:\n  interval: 1ms\n", ":2: deploy.interval: must be at least 1s, not 1ms"),
    ("deploy:\n  interval: 0.5\n", ":2: deploy.interval: must be at least 1s, not 500ms"),
    ("deploy:\n  interval: .nan\n", ":2: deploy.interval: invalid duration"),
    ("deploy:\n  pause: .nan\n", ":2: deploy.pause: invalid duration"),
    ("deploy:\n  pause: -1\n", ":2: deploy.pause: invalid duration"),
    ("deploy:\n  lease_duration: .inf\n", ":2: deploy.lease_duration: invalid duration"),
    ("deploy:\n  lease_duration: 2s\n", ":2: deploy.lease_duration: Input should be greater than or equal to 5"),
    ("deploy:\n  rollout_timeout: 0s\n", ":2: deploy.rollout_timeout: Input should be greater than 0"),
    ("deploy:\n  rollout_timeout: -.inf\n", ":2: deploy.rollout_timeout: invalid duration"),
    ("mistral:\n  timeout: .inf\n", ":2: mistral.timeout: invalid duration"),
    ("mistral:\n  timeout: .nan\n", ":2: mistral.timeout: invalid duration"),
    ("preflight:\n  timeout: .nan\n", ":2: preflight.timeout: invalid duration"),
    ("deploy:\n  analysis:\n    thresholds:\n      latency_p95_seconds: .inf\n",
     ":4: deploy.analysis.thresholds.latency_p95_seconds: Input should be a finite number"),
    ("deploy:\n  analysis:\n    thresholds:\n      errors_5xx_per_min: .nan\n",
     ":4: deploy.analysis.thresholds.errors_5xx_per_min: Input should be a finite number"),
    ("deploy:\n  analysis:\n    prometheus:\n      url: http://prom:9090\n      queries:\n"
     "        - {name: queue_depth, query: 'sum(queue)', max: .nan}\n",
     ":6: deploy.analysis.prometheus.queries.0.max: Input should be a finite number"),
    ("deploy:\n  analysis:\n    statistics:\n      max_error_increase: .nan\n",
     ":4: deploy.analysis.statistics.max_error_increase: Input should be a finite number"),
]


@pytest.mark.parametrize(("text", "expected"), BAD_VALUES, ids=[expected.split(": ")[1] + "=" + text.split(": ")[-1]
                                                               .strip() for text, expected in BAD_VALUES])
def test_bad_number_in_config_is_exit_2_naming_the_key(cli, tmp_path, text, expected):
    path = tmp_path / "magent.yaml"
    path.write_text(text)
    result = cli("--config", str(path), "config", "show")
    assert result.exit_code == 2, result.output
    first, *rest = result.stderr.splitlines()
    assert first.startswith(f"Error: {path}{expected}"), result.stderr
    assert rest and rest[0].startswith("Hint: ")
    assert "Traceback" not in result.output


@pytest.mark.parametrize("text", ["deploy:\n  interval: 1s\n  pause: 0s\n  lease_duration: 5s\n  rollout_timeout: 1\n"])
def test_the_lower_bounds_themselves_are_accepted(cli, tmp_path, text):
    path = tmp_path / "magent.yaml"
    path.write_text(text)
    result = cli("--config", str(path), "config", "show", "-o", "json")
    assert result.exit_code == 0, result.stderr
