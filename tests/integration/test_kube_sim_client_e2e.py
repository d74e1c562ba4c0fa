# Adapted from kubernetes-client/python, kubernetes/e2e_test/test_watch.py (test_watch_configmaps).
#
# Copyright The Kubernetes Authors.
# Licensed under the Apache License, Version 2.0 (the "License"); you may
# not use this file except in compliance with the License. You may obtain
# a copy of the License at
#
#      http://www.apache.org/licenses/LICENSE-2.0
#
# Unless required by applicable law or agreed to in writing, software
# distributed under the License is distributed on an "AS IS" BASIS, WITHOUT
# WARRANTIES OR CONDITIONS OF ANY KIND, either express or implied. See the
# License for the specific language governing permissions and limitations
# under the License.
#
# Changes: runs against the Kubernetes simulator in this test's namespace (not `default`), takes its
# configuration from the simulator's kubeconfig, and watches for 2 s instead of 5 s to keep CI fast.
"""The kubernetes Python client's own watch e2e test, run against the simulator (fidelity check)."""

from __future__ import annotations

import uuid

import pytest
from kubernetes import config, watch
from kubernetes.client import ApiClient, Configuration
from kubernetes.client.api import core_v1_api


def short_uuid():
    return str(uuid.uuid4())[-12:]


def config_map_with_value(name, value):
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name, "labels": {"e2e-tests": "true"}},
            "data": {"key": value, "config": "dummy"}}


@pytest.fixture
def api(kubeconfig):
    configuration = Configuration()
    config.load_kube_config(config_file=str(kubeconfig), client_configuration=configuration)
    with ApiClient(configuration) as client:
        yield core_v1_api.CoreV1Api(client)


def test_watch_configmaps(api, kube_namespace):
    name_a = "configmap-a-" + short_uuid()
    api.create_namespaced_config_map(body=config_map_with_value(name_a, "a"), namespace=kube_namespace)
    rv = api.list_namespaced_config_map(kube_namespace, label_selector="e2e-tests=true").metadata.resource_version

    name_b = "configmap-b-" + short_uuid()
    configmap_b = config_map_with_value(name_b, "b")
    api.create_namespaced_config_map(body=configmap_b, namespace=kube_namespace)
    configmap_b["data"]["config"] = "{}"
    api.patch_namespaced_config_map(name=name_b, namespace=kube_namespace, body=configmap_b)
    api.delete_collection_namespaced_config_map(namespace=kube_namespace, label_selector="e2e-tests=true")

    expect = ["ADDED", "MODIFIED", "DELETED", "DELETED"]
    i = 0
    for event in watch.Watch().stream(api.list_namespaced_config_map, namespace=kube_namespace,
                                      resource_version=rv, timeout_seconds=2, label_selector="e2e-tests=true"):
        assert event["type"] == expect[i]
        if i < 2:  # Kubernetes doesn't guarantee the order of the two objects being deleted
            assert event["object"].metadata.name == name_b
        i += 1
    assert i == 4
