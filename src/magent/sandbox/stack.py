"""The whole offline world in one process: the Mistral API simulator, the Kubernetes API simulator with a
sample agent Deployment, the sample agent app (health + metrics), and a directory for the embedded Postgres.
`magent sandbox up` also asks for moto (the key in Secrets Manager), Prometheus and an eagerly started Postgres.

    with SandboxStack(root) as stack:
        stack.env        # MISTRAL_API_KEY, MAGENT_MISTRAL_URL, KUBECONFIG, MAGENT_DATA_DIR, MAGENT_CONFIG
        stack.describe() # what runs where (the API key only as a fingerprint)

`magent demo` runs magent's commands against it; tests and users can use it to rehearse a release.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass, field
from pathlib import Path

NAMESPACE = "shop"
DEPLOYMENT = "agent"
IMAGE_REPOSITORY = "registry.local/agent"
MODELS = ("mistral-small-2506", "mistral-large-2411")
_EXTRAS = ("aws", "ecs", "prometheus")
# One canary pod at 30 requests a second fills a 5-second window with 150: enough for the judge's default minimum
# sample sizes (50 requests, 20 latencies) and for its effect-size bar to hold against chance (at the app's
# default 5 a second, a healthy canary was held inconclusive, then failed on a latency fluke of n = 24).
SANDBOX_RPS_PER_POD = 30.0
WARMUP_S = 1.5  # a new track's series at 0 for a scrape or more first (`AgentApp.warmup_s`): Prometheus scrapes every 1 s


@dataclass
class SandboxStack:
    root: Path
    replicas: int = 4
    conversations: int = 60
    seed: int = 7
    aws: bool = False         # moto in server mode with the key in Secrets Manager (needs magent[sandbox])
    prometheus: bool = False  # a Prometheus scraping the agent app, when `prometheus` is on PATH
    postgres: bool = False    # start the embedded Postgres now, not on first use
    ecs: bool = False         # an ECS service behind an ALB in moto (with `aws`), its ALB played by AlbTraffic
    env: dict[str, str] = field(default_factory=dict)
    components: list[dict] = field(default_factory=list)  # name, url, note: what runs (or why not)
    child_pids: list[int] = field(default_factory=list)
    ecs_app_url: str | None = None  # the sample app as the ECS service's tasks (metrics only), when ecs runs
    ecs_cluster: str | None = None  # the ECS cluster's name, when ecs runs
    _stack: contextlib.ExitStack = field(default_factory=contextlib.ExitStack)

    def __enter__(self) -> SandboxStack:
        try:
            self._start()
        except BaseException:
            self._stack.close()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        self._stack.close()

    def _start(self) -> None:
        from magent.sandbox.agentapp import AgentApp, Behaviour, serve_agent_app
        from magent.sandbox.kube import KubeSimulator
        from magent.sandbox.kube.manifests import deployment_manifest, service_manifest
        from magent.sandbox.mistral import KeySpec, MistralSimulator, SimulatorConfig, generate_key

        self.root.mkdir(parents=True, exist_ok=True)
        self._stack.callback(self._stop_embedded_postgres)
        self.api_key = generate_key()
        self.next_key = generate_key()  # a second key the simulator accepts: the one a rotation drill moves to
        config = SimulatorConfig(keys=[KeySpec(key=self.api_key), KeySpec(key=self.next_key)], agents=4, conversations=self.conversations,
                                 seed=self.seed, days=14)
        self.mistral = self._stack.enter_context(MistralSimulator(config))
        self.kube = self._stack.enter_context(KubeSimulator(ready_delay=0.3, tick=0.05))
        self.kube.create_namespace(NAMESPACE)
        image = f"{IMAGE_REPOSITORY}:v1"
        self.kube.create(_key_secret(self.api_key))
        manifest = deployment_manifest(DEPLOYMENT, image, replicas=self.replicas, namespace=NAMESPACE,
                                       annotations={"kubernetes.io/change-cause": f"initial release {image}"})
        manifest["spec"]["template"]["spec"]["containers"][0].update(_production_ready_container())
        self.kube.create(manifest)
        self.kube.create(service_manifest(DEPLOYMENT, NAMESPACE))
        self.kube.create(_pdb())
        self.agent_url = self._stack.enter_context(
            serve_agent_app(AgentApp(sim=self.kube, namespace=NAMESPACE, deployment=DEPLOYMENT,
                                     default=Behaviour(rps_per_pod=SANDBOX_RPS_PER_POD), warmup_s=WARMUP_S))
        )
        kubeconfig = self.kube.write_kubeconfig(self.root / "kubeconfig", namespace=NAMESPACE)
        from magent.sandbox.sample_repo import write_sample_repo

        self.repo = write_sample_repo(self.root)
        config_path = self._write_config()
        self.env = {
            "MISTRAL_API_KEY": self.api_key,
            "MISTRAL_API_KEY_NEXT": self.next_key,
            "MAGENT_MISTRAL_URL": self.mistral.url,
            "KUBECONFIG": str(kubeconfig),
            "MAGENT_DATA_DIR": str(self.root / "data"),
            "MAGENT_CONFIG": str(config_path),
        }
        self.components = [
            {"name": "mistral", "url": self.mistral.url, "note": "Mistral API simulator"},
            {"name": "kubernetes", "url": self.kube.url, "note": f"Kubernetes API simulator, {NAMESPACE}/{DEPLOYMENT}"},
            {"name": "agent-app", "url": self.agent_url, "note": "sample agent app: /health, /metrics"},
        ]
        self._start_extras()

    def _start_extras(self) -> None:
        from magent.sandbox import extras

        if self.aws:
            moto = self._optional("aws", lambda: extras.serve_moto(self.api_key))
            if moto is not None:
                self.env.update(AWS_ENDPOINT_URL=moto.url, AWS_DEFAULT_REGION=extras.AWS_REGION,
                                **extras.AWS_DUMMY_CREDENTIALS)
                self.components.append({"name": "aws", "url": moto.url,
                                        "note": f"moto; Secrets Manager {moto.secret_id} (JSON, field api_key)"})
                if self.ecs:
                    self._start_ecs(moto.url)
        if self.prometheus:
            # each app's series under its own namespace label: the Deployment's namespace, the ECS cluster (what
            # `$namespace` is in an ECS deploy's queries), so that neither deploy judges the other's stable traffic
            targets = {self.agent_url.removeprefix("http://"): NAMESPACE}
            if self.ecs_app_url and self.ecs_cluster:
                targets[self.ecs_app_url.removeprefix("http://")] = self.ecs_cluster
            prometheus = self._optional("prometheus", lambda: extras.run_prometheus(self.root / "prometheus", targets))
            if prometheus is not None:
                self.child_pids.append(prometheus.pid)
                self.components.append({"name": "prometheus", "url": prometheus.url,
                                        "note": "scrapes the agent app every second"})
                # The sample app's faults (-5xx, -slow) show only in its traffic, never in /health: without this
                # the README's drill would promote a canary answering 30 % 5xx. Windows of 5 s (scraped every
                # second): SANDBOX_RPS_PER_POD gives the judge its default sample sizes within a step.
                self._edit_config(lambda document: document["deploy"]["analysis"].update(
                    prometheus={"url": prometheus.url, "min_window": "5s", "selector": 'namespace="$namespace"'}))
        if self.postgres:
            from magent.services.store.embedded import ensure_running

            self.env["MAGENT_DATABASE_URL"] = ensure_running(self.root / "data")
            self.components.append({"name": "postgres", "url": self.env["MAGENT_DATABASE_URL"],
                                    "note": f"embedded Postgres in {self.root / 'data'}"})

    def _start_ecs(self, moto_url: str) -> None:
        """The ECS twin of the Deployment: service `agent` in a cluster, 2 tasks of v1, an ALB with a stable and a
        canary target group; magent.yaml's deploy.ecs names them (moto computes no percentiles: Average latency)."""
        from magent.sandbox.agentapp import AgentApp, Behaviour, serve_agent_app
        from magent.sandbox.ecs_stack import serve_ecs

        ecs = self._stack.enter_context(serve_ecs(moto_url, f"{IMAGE_REPOSITORY}:v1"))
        self.ecs_cluster = ecs.cluster
        # The ECS tasks' own /metrics, split as the ALB splits requests: magent.yaml's Prometheus analysis judges
        # every deploy, so without it an ECS canary had no series there and was aborted as inconclusive.
        if self.prometheus:
            self.ecs_app_url = self._stack.enter_context(serve_agent_app(AgentApp(
                traffic_source=ecs.traffic.tracks, default=Behaviour(rps_per_pod=SANDBOX_RPS_PER_POD), warmup_s=WARMUP_S)))
        self._edit_config(lambda document: document["deploy"].update(
            ecs={"cluster": ecs.cluster, "service": ecs.service, "canary_target_group": ecs.canary_tg,
                 "latency_stat": "Average"}))
        self.components.append({"name": "ecs", "url": moto_url,
                                "note": f"ECS cluster {ecs.cluster}, service {ecs.service} (2 × {IMAGE_REPOSITORY}:v1) "
                                        "behind an ALB (played by AlbTraffic)"})

    def _edit_config(self, edit) -> None:
        """Apply `edit` to the sandbox's magent.yaml (a component that started adds what judges it)."""
        import yaml

        config = Path(self.env["MAGENT_CONFIG"])
        document = yaml.safe_load(config.read_text())
        edit(document)
        config.write_text(yaml.safe_dump(document, sort_keys=False))

    def _optional(self, name: str, start):
        """Enter an optional component; when it cannot run here, note why (with how to fix it) and go on."""
        from magent.sandbox.extras import Missing

        try:
            return self._stack.enter_context(start())
        except Missing as exc:
            self.components.append({"name": name, "url": None, "note": str(exc)})
            return None

    def _stop_embedded_postgres(self) -> None:
        """The commands start an embedded Postgres in the stack's directory on first use; it goes with the stack."""
        from magent.services.store.embedded import stop_embedded

        stop_embedded(self.root / "data")

    def _write_config(self) -> Path:
        import yaml

        document = {
            "mistral": {"models": list(MODELS)},
            "kubernetes": {"namespace": NAMESPACE},
            "deploy": {
                "steps": [25, 50],
                "pause": "3s",
                "interval": "1s",
                "max_inconclusive": 3,
                "analysis": {"web": {"url": f"{self.agent_url}/health", "expect_status": 200,
                                     "json_path": "status", "expect": "ok"}},
            },
        }
        from magent.sandbox.sample_repo import CHECKLIST_YAML, tests_command

        checklist = self.root / "checklist.yaml"
        checklist.write_text(CHECKLIST_YAML)
        document["preflight"] = {
            "checklist": str(checklist), "repo": str(self.repo), "deployment": DEPLOYMENT,
            "model_config": ["config/*.yaml"], "tests_cmd": tests_command(),
            "health_url": f"{self.agent_url}/health",
        }
        path = self.root / "magent.yaml"
        path.write_text(yaml.safe_dump(document, sort_keys=False))
        return path

    def describe(self) -> list[tuple[str, str]]:
        from magent.core.redact import fingerprint

        return [
            ("Mistral API simulator", f"{self.mistral.url}  (key {fingerprint(self.api_key)})"),
            ("Kubernetes API simulator", f"{self.kube.url}  (kubeconfig {self.env['KUBECONFIG']})"),
            ("sample agent app", f"{self.agent_url}/health, /metrics"),
            ("Deployment", f"{NAMESPACE}/{DEPLOYMENT}: {self.replicas} × {IMAGE_REPOSITORY}:v1"),
            ("embedded Postgres", f"{self.env['MAGENT_DATA_DIR']} (started on first use)"),
            *((c["name"], f"{c['url']}  ({c['note']})") for c in self.components if c["name"] in _EXTRAS and c["url"]),
            ("sample app repository", f"{self.repo} (one planted flaw)"),
            ("config", self.env["MAGENT_CONFIG"]),
        ]


def _production_ready_container() -> dict:
    """What preflight asks of a serving container: probes, resources, the key from a Secret."""
    probe = {"httpGet": {"path": "/health", "port": 8080}, "periodSeconds": 10}
    return {
        "ports": [{"containerPort": 8080}],
        "livenessProbe": probe, "readinessProbe": probe,
        "resources": {"requests": {"cpu": "250m", "memory": "256Mi"}, "limits": {"cpu": "1", "memory": "512Mi"}},
        "env": [
            {"name": "MISTRAL_API_KEY",
             "valueFrom": {"secretKeyRef": {"name": f"{DEPLOYMENT}-mistral", "key": "api-key"}}},
            {"name": "ENVIRONMENT", "value": "production"},
            {"name": "LOG_LEVEL", "value": "INFO"},
        ],
    }


def _key_secret(api_key: str) -> dict:
    import base64

    return {"apiVersion": "v1", "kind": "Secret", "type": "Opaque",
            "metadata": {"name": f"{DEPLOYMENT}-mistral", "namespace": NAMESPACE},
            "data": {"api-key": base64.b64encode(api_key.encode()).decode()}}


def _pdb() -> dict:
    return {"apiVersion": "policy/v1", "kind": "PodDisruptionBudget",
            "metadata": {"name": DEPLOYMENT, "namespace": NAMESPACE},
            "spec": {"maxUnavailable": 1, "selector": {"matchLabels": {"app": DEPLOYMENT}}}}
