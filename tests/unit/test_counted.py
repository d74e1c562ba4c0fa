"""Counts in words as kubectl and gh write them: `1 image not pinned`, `2 canary pods`, never `image(s)`."""

from __future__ import annotations

import textwrap

import pytest
from fixtures.preflight import PreflightOptions, run_check
from hypothesis import given
from hypothesis import strategies as st

from magent.core.text import counted

_CONTAINER = "      - {name: NAME, image: 'IMAGE'}\n"
_DEPLOYMENT = textwrap.dedent("""\
    apiVersion: apps/v1
    kind: Deployment
    metadata: {name: agent, namespace: shop}
    spec:
      replicas: 1
      template:
        metadata: {labels: {app: agent}}
        spec:
          containers:
    """)


@pytest.mark.parametrize(("n", "expected"), [
    (0, "0 images"), (1, "1 image"), (2, "2 images"), (1234, "1,234 images"), (-1, "-1 images"),
])
def test_counted_regular_nouns(n, expected):
    assert counted(n, "image") == expected


def test_counted_irregular_and_invariant_nouns():
    assert counted(1, "policy", "policies") == "1 policy"
    assert counted(3, "policy", "policies") == "3 policies"
    assert counted(2, "binary", "binary") == "2 binary"
    assert counted(2, "workload or HPA", "workloads or HPAs") == "2 workloads or HPAs"


@given(st.integers(min_value=-10**12, max_value=10**12), st.from_regex(r"[a-z][a-z ]{0,20}[a-z]", fullmatch=True))
def test_counted_is_the_number_then_the_noun_in_its_number(n, noun):
    number, word = counted(n, noun).split(" ", 1)
    assert int(number.replace(",", "")) == n
    assert word == (noun if n == 1 else noun + "s")
    assert counted(n, noun, "PLURAL") == f"{number} {noun if n == 1 else 'PLURAL'}"


def _manifest(tmp_path, images):
    containers = "".join(_CONTAINER.replace("NAME", f"c{i}").replace("IMAGE", image) for i, image in enumerate(images))
    path = tmp_path / "deploy.yaml"
    path.write_text(_DEPLOYMENT + containers)
    return path


@pytest.mark.parametrize(("images", "line"), [
    (["app:latest"], "fail: 1 image not pinned"),
    (["app:latest", "proxy"], "fail: 2 images not pinned"),
])
def test_the_preflight_report_counts_unpinned_images_in_words(cli, tmp_path, images, line):
    result = cli("preflight", "--manifests", str(_manifest(tmp_path, images)), "--only", "k8s.image-pinned")
    assert result.exit_code == 1 and line in result.stdout and "(s)" not in result.stdout, result.output


@pytest.mark.parametrize(("images", "probes", "replicas"), [
    (["app:1.0"], "1 container without liveness or readiness probes", "1 workload or HPA below 2 replicas"),
    (["app:1.0", "proxy:2"], "2 containers without liveness or readiness probes", None),
])
def test_k8s_checks_judged_together_say_their_count_in_words(tmp_path, images, probes, replicas):
    options = PreflightOptions(manifests=[_manifest(tmp_path, images)])
    assert run_check("k8s.probes", options=options).message == probes
    assert run_check("k8s.resources", options=options).message.startswith(
        probes.split(" without")[0] + " without requests.cpu")
    if replicas:
        assert run_check("k8s.replicas", options=options).message == replicas
