"""Rotate a Mistral API key stored in AWS Secrets Manager: the AWS rotation protocol, driven from the CLI
(Mistral keys cannot be created through an API, so a human brings the new key and magent does the rest).

    prepare   read AWSCURRENT (by stage), the labels, the Deployment; compute the new value   (changes nothing)
    pending   PutSecretValue staged AWSPENDING, with a ClientRequestToken (the new version id)
    verified  read AWSPENDING back and verify that key against the Mistral API (the `key verify` code)
    promoted  UpdateSecretVersionStage: AWSCURRENT → new version (AWSPREVIOUS follows to the old one)
    restarted the Deployment's pod template stamped `kubectl.kubernetes.io/restartedAt`
    rolled_out the rollout awaited as `kubectl rollout status` does
    healthy   the health endpoint answers healthy, and reports Mistral ok when it reports Mistral at all
    finished  AWSPENDING taken off the new version

Every step is recorded before it acts (`attempted`), so that a failure anywhere rolls back exactly what may have
happened, judged from the live state: AWSCURRENT (and AWSPREVIOUS) back on their old versions, AWSPENDING off the
new version, and, if the Deployment was restarted, a second restart on the old key and its rollout awaited.
A clean rollback raises `RotationFailed` with the exit code of the cause (1 refused key or unhealthy app, 2 bad
input, 3 unreachable, 130 interrupted); a rollback that could not finish raises it with 4 and the commands to
finish by hand. The workflow never prints: each step is an event for `on_event`.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

from magent.core.errors import (
    EXIT_CHECK_FAILED,
    EXIT_INCONSISTENT,
    EXIT_INTERRUPTED,
    EXIT_UNREACHABLE,
    EXIT_USAGE,
    CheckFailed,
    InconsistentState,
    MagentError,
    Unreachable,
    UsageError,
)
from magent.core.redact import SECRETS, fingerprint
from magent.core.rotation import CURRENT, PENDING, PREVIOUS, SecretRef, key_in_value, short_version, value_with_key
from magent.core.timeutil import isoformat, utcnow

if TYPE_CHECKING:
    from magent.core.keycheck import KeyReport
    from magent.services.app_health import HealthAnswer
    from magent.services.aws.versions import Staging

STEPS = ("pending", "verified", "promoted", "restarted", "rolled_out", "healthy", "finished")
_DOING = {"pending": "storing the new key as AWSPENDING", "verified": "verifying the new key",
          "promoted": "moving AWSCURRENT to the new key", "restarted": "restarting the Deployment",
          "rolled_out": "waiting for the rollout", "healthy": "waiting for the app to be healthy",
          "finished": "removing AWSPENDING"}


class SecretsPort(Protocol):
    secret_id: str

    def staging(self) -> Staging: ...
    def read(self, stage: str) -> tuple[str, str | None]: ...
    def put_pending(self, value: str, token: str) -> str: ...
    def move(self, stage: str, to_version: str, from_version: str | None) -> None: ...
    def remove(self, stage: str, from_version: str) -> None: ...


class RestartPort(Protocol):
    name: str
    namespace: str
    context: str | None

    def check(self) -> Any: ...
    def current_stamp(self) -> str | None: ...
    def restart(self) -> str: ...
    def wait(self, on_poll: Any = None) -> Any: ...


class HealthPort(Protocol):
    url: str  # masked, for display

    def wait(self) -> HealthAnswer: ...
    def probe(self) -> HealthAnswer: ...


@dataclass
class Adapters:
    secrets: SecretsPort
    verify: Callable[[str], KeyReport]  # key → verdict (magent.core.keycheck)
    restarter: RestartPort | None = None
    health: HealthPort | None = None


@dataclass
class RotationPlan:
    ref: SecretRef
    new_key_from: str
    old_version: str
    old_fingerprint: str
    new_fingerprint: str
    previous_version: str | None  # AWSPREVIOUS before the rotation
    token: str  # ClientRequestToken, i.e. the new version's id
    stamp_before: str | None  # the Deployment's restartedAt before the rotation
    deployment: str | None = None
    namespace: str | None = None
    context: str | None = None
    health_url: str | None = None
    warnings: list[str] = field(default_factory=list)
    new_value: str = field(default="", repr=False)

    def steps(self) -> list[str]:
        skip = {"restarted", "rolled_out"} if not self.deployment else set()
        return [s for s in STEPS if s not in skip and not (s == "healthy" and not self.health_url)]

    def to_dict(self) -> dict[str, Any]:
        return {"secret_id": self.ref.secret_id, "field": self.ref.field, "new_key_from": self.new_key_from,
                "old_key": self.old_fingerprint, "new_key": self.new_fingerprint,
                "versions": {"old": self.old_version, "new": self.token, "previous": self.previous_version},
                "deployment": self.deployment, "namespace": self.namespace, "context": self.context,
                "health_url": self.health_url, "steps": self.steps(), "warnings": self.warnings}


class RotationFailed(MagentError):
    """The rotation failed; `result` says what was done and undone, and the state left."""

    def __init__(self, message: str, *, exit_code: int, hint: str | None, result: dict[str, Any]) -> None:
        super().__init__(message, hint=hint, exit_code=exit_code)
        self.result = result


def prepare(adapters: Adapters, ref: SecretRef, new_key: str, *, new_key_from: str,
            health_url: str | None = None) -> RotationPlan:
    """Read everything the rotation needs, change nothing; UsageError / Unreachable / InconsistentState early."""
    secrets = adapters.secrets
    staging = secrets.staging()
    version, value = secrets.read(CURRENT)
    if value is None:
        raise UsageError(f"secret {ref.secret_id} has no SecretString (binary secrets are not supported)")
    old_key = key_in_value(value, ref)
    if old_key == new_key.strip():
        raise UsageError(f"the new key is the key already current in {ref.spec} ({fingerprint(old_key)})",
                         hint="create a new key in console.mistral.ai (API Keys) and pass it with --new-key-from")
    pending = staging.holder(PENDING)
    if pending and pending != version:
        raise InconsistentState(
            f"secret {ref.secret_id} has an AWSPENDING version ({pending}): a rotation is in progress or was "
            "left half-way",
            hint=f"finish or undo it: aws secretsmanager update-secret-version-stage --secret-id {ref.secret_id} "
                 f"--version-stage AWSPENDING --remove-from-version-id {pending}")
    restarter = adapters.restarter
    if restarter is not None:
        restarter.check()
    warnings = []
    if staging.rotation_enabled:
        warnings.append("automatic rotation is enabled on this secret: its Lambda will replace this key at its "
                        "next schedule")
    return RotationPlan(
        ref=ref, new_key_from=new_key_from, old_version=version, old_fingerprint=fingerprint(old_key),
        new_fingerprint=fingerprint(new_key.strip()), previous_version=staging.holder(PREVIOUS),
        token=str(uuid.uuid4()), stamp_before=restarter.current_stamp() if restarter else None,
        deployment=restarter.name if restarter else None, namespace=restarter.namespace if restarter else None,
        context=restarter.context if restarter else None, health_url=health_url, warnings=warnings,
        new_value=value_with_key(value, ref, new_key.strip()))


class Rotation:
    """Run a prepared plan step by step; on any failure roll back what may have happened, then raise."""

    def __init__(self, adapters: Adapters, plan: RotationPlan, *, on_event: Callable[[dict[str, Any]], None]) -> None:
        self.a, self.plan, self._emit_to = adapters, plan, on_event
        self.attempted: list[str] = []
        self.steps: list[dict[str, Any]] = []
        self.health: str | None = None

    # --- events --------------------------------------------------------------------------------------------

    def _event(self, kind: str, message: str, **fields: Any) -> dict[str, Any]:
        p = self.plan
        record = {"at": isoformat(utcnow()), "event": f"key_{kind}", "secret_id": p.ref.secret_id,
                  "deployment": p.deployment, "namespace": p.namespace, "message": SECRETS.mask(message), **fields}
        self._emit_to(record)
        return record

    def _step(self, name: str, message: str, status: str = "done", **fields: Any) -> None:
        record = self._event(name, message, **fields)
        self.steps.append({"step": name, "status": status, "at": record["at"], "detail": record["message"]})

    # --- the forward steps ------------------------------------------------------------------------------------

    def run(self) -> dict[str, Any]:
        p = self.plan
        self._event("rotation_started",
                    f"rotating the key in {p.ref.spec}: {p.old_fingerprint} → {p.new_fingerprint}",
                    old_key=p.old_fingerprint, new_key=p.new_fingerprint)
        try:
            for name in p.steps():
                self.attempted.append(name)
                getattr(self, f"_do_{name}")()
        except (Exception, KeyboardInterrupt) as exc:  # noqa: BLE001 - every failure rolls back, then re-raises
            raise self._fail(exc) from exc
        self._event("rotated", f"rotated: AWSCURRENT is version {short_version(p.token)} ({p.new_fingerprint})",
                    outcome="rotated")
        return self.result("rotated")

    def _do_pending(self) -> None:
        version = self.a.secrets.put_pending(self.plan.new_value, self.plan.token)
        self._step("pending", f"new key {self.plan.new_fingerprint} stored as AWSPENDING (version "
                              f"{short_version(version)})", version=version)

    def _do_verified(self) -> None:
        version, value = self.a.secrets.read(PENDING)
        if version != self.plan.token or value is None:
            raise InconsistentState(f"AWSPENDING of {self.plan.ref.secret_id} is version {version}, not ours "
                                    f"({self.plan.token}): another rotation is running",
                                    hint="wait for it to finish, then retry")
        report = self.a.verify(key_in_value(value, self.plan.ref))
        if report.exit_code == EXIT_UNREACHABLE:
            raise Unreachable(f"the new key could not be verified: {report.label}: {report.explanation}",
                              hint=report.hint or "retry when the Mistral API answers")
        if not report.ok:
            raise CheckFailed(f"Mistral refused the new key {self.plan.new_fingerprint}: {report.label}: "
                              f"{report.explanation}", hint=report.hint)
        self._step("verified", f"new key verified against the Mistral API: {report.explanation}",
                   verdict=report.verdict)

    def _do_promoted(self) -> None:
        p = self.plan
        self.a.secrets.move(CURRENT, p.token, p.old_version)
        version, _ = self.a.secrets.read(CURRENT)
        if version != p.token:
            raise InconsistentState(f"AWSCURRENT of {p.ref.secret_id} reads as version {version} after the move "
                                    f"to {p.token}", hint="check the secret's staging labels")
        self._step("promoted", f"AWSCURRENT moved to version {short_version(p.token)} (AWSPREVIOUS: "
                               f"{short_version(p.old_version)}, the old key {p.old_fingerprint})")

    def _do_restarted(self) -> None:
        stamp = self.a.restarter.restart()
        self._step("restarted", f"deployment {self.plan.deployment} restarted (restartedAt {stamp})", stamp=stamp)

    def _do_rolled_out(self) -> None:
        status = self.a.restarter.wait()
        self._step("rolled_out", status.message)

    def _do_healthy(self) -> None:
        answer = self.a.health.wait()
        self.health = answer.detail
        if not answer.ok:
            raise CheckFailed(f"the application did not come back healthy at {self.plan.health_url}: {answer.detail}",
                              hint="check the pods' logs: the app may not accept the new key")
        how = "the app reports Mistral ok with the new key" if answer.reports_mistral else \
            "healthy (it does not report Mistral: the key was verified against the API only)"
        self._step("healthy", f"{self.plan.health_url}: {answer.detail}: {how}", reports_mistral=answer.reports_mistral)

    def _do_finished(self) -> None:
        """Cleanup only: the new key is current and serving, so a failure here is a warning, never a rollback."""
        try:
            self.a.secrets.remove(PENDING, self.plan.token)
        except MagentError as exc:
            warning = (f"AWSPENDING is still on version {self.plan.token} ({exc.message}): remove it before the "
                       f"next rotation")
            self.plan.warnings.append(warning)
            self._step("finished", warning, status="warning")
            return
        self._step("finished", f"AWSPENDING taken off version {short_version(self.plan.token)}")

    # --- failure and rollback -----------------------------------------------------------------------------

    def _fail(self, exc: BaseException) -> RotationFailed:
        failed = self.attempted[-1] if self.attempted else "prepare"
        cause = _message(exc)
        doing = _DOING.get(failed, failed)
        self._step(failed, f"FAILED {doing}: {cause}", status="failed")
        problems = self._rollback()
        if problems:
            result = self.result("rollback_failed", cause=cause, rollback_errors=problems)
            self._event("rollback_failed", "ROLLBACK FAILED: " + "; ".join(problems), outcome="rollback_failed")
            return RotationFailed(f"the rotation failed {doing} ({cause}) and the rollback could not finish: "
                                  + "; ".join(problems), exit_code=EXIT_INCONSISTENT, result=result,
                                  hint="run the commands under `fix` (-o json) or listed above, in order")
        result = self.result("rolled_back", cause=cause)
        self._event("rolled_back", f"ROLLED BACK: AWSCURRENT is version {short_version(self.plan.old_version)} "
                                   f"({self.plan.old_fingerprint}), as before", outcome="rolled_back")
        return RotationFailed(f"the rotation failed {doing}: {cause}; everything was rolled back",
                              exit_code=_exit_code(exc), hint=getattr(exc, "hint", None), result=result)

    def _rollback(self) -> list[str]:
        """Undo, in the order that is safe: the secret first, then a restart on the old key."""
        self._event("rollback_started", "rolling back")
        problems: list[str] = []
        if "promoted" in self.attempted:
            self._undo("promoted", self._undo_promoted, problems)
        if "pending" in self.attempted:
            self._undo("pending", self._undo_pending, problems)
        if "restarted" in self.attempted and not problems:
            self._undo("restarted", self._undo_restarted, problems)
        elif "restarted" in self.attempted:
            problems.append(f"deployment {self.plan.deployment} not restarted again (the secret is not back)")
        return problems

    def _undo(self, name: str, action: Callable[[], str], problems: list[str]) -> None:
        try:
            detail = action()
        except (Exception, KeyboardInterrupt) as exc:  # noqa: BLE001 - reported, and the next undo still runs
            problems.append(f"undo {name}: {_message(exc)}")
            self._step(f"undo_{name}", f"undo {name} FAILED: {_message(exc)}", status="undo_failed")
            return
        self._step(f"undo_{name}", detail, status="undone")

    def _undo_promoted(self) -> str:
        p, secrets = self.plan, self.a.secrets
        staging = secrets.staging()
        if staging.holder(CURRENT) == p.token:
            secrets.move(CURRENT, p.old_version, p.token)
        previous = secrets.staging().holder(PREVIOUS)
        if p.previous_version and previous != p.previous_version:
            secrets.move(PREVIOUS, p.previous_version, previous)
        elif not p.previous_version and previous:
            secrets.remove(PREVIOUS, previous)
        version, _ = secrets.read(CURRENT)
        if version != p.old_version:
            raise InconsistentState(f"AWSCURRENT reads as version {version}, not the old {p.old_version}")
        return f"AWSCURRENT back on version {short_version(p.old_version)} ({p.old_fingerprint})"

    def _undo_pending(self) -> str:
        if self.a.secrets.staging().holder(PENDING) == self.plan.token:
            self.a.secrets.remove(PENDING, self.plan.token)
        return f"AWSPENDING taken off version {short_version(self.plan.token)} (the refused or unused new key)"

    def _undo_restarted(self) -> str:
        restarter = self.a.restarter
        if restarter.current_stamp() == self.plan.stamp_before:
            return f"deployment {self.plan.deployment} was not restarted: nothing to undo"
        stamp = restarter.restart()
        status = restarter.wait()
        detail = f"deployment {self.plan.deployment} restarted again on the old key ({stamp}): {status.message}"
        if self.a.health is not None:
            answer = self.a.health.probe()
            self.health = answer.detail
            detail += f"; health: {answer.detail}"
        return detail

    # --- the summary ---------------------------------------------------------------------------------------

    def result(self, outcome: str, **fields: Any) -> dict[str, Any]:
        data = {"outcome": outcome, **self.plan.to_dict(), "steps": self.steps, "health": self.health, **fields}
        if outcome != "rotated":
            data["state"] = self.final_state(outcome)
        if outcome == "rollback_failed":
            data["fix"] = self.fix()
        return data

    def _staging(self) -> Staging | None:
        try:
            return self.a.secrets.staging()
        except Exception:  # noqa: BLE001 - the state report is best effort: say it is unknown
            return None

    def final_state(self, outcome: str) -> list[str]:
        """What everything is, read live where possible: the secret's labels, the Deployment."""
        p, staging = self.plan, self._staging()
        if staging is None:
            lines = ["secret: state unknown (AWS did not answer)"]
        else:
            current = staging.holder(CURRENT)
            which = ("the old key " + p.old_fingerprint if current == p.old_version
                     else "the NEW key " + p.new_fingerprint if current == p.token else "another version")
            lines = [f"secret {p.ref.secret_id}: AWSCURRENT on version {current} ({which})",
                     f"new version {p.token} ({p.new_fingerprint}): labels "
                     f"{', '.join(staging.stages.get(p.token, ())) or 'none (unused; AWS removes unlabeled versions)'}"]
        if p.deployment:
            undo = next((s for s in self.steps if s["step"] == "undo_restarted"), None)
            if "restarted" not in self.attempted:
                lines.append(f"deployment {p.namespace}/{p.deployment}: not restarted")
            elif undo is not None and undo["status"] == "undone":
                lines.append(f"deployment {p.namespace}/{p.deployment}: "
                             + undo["detail"].removeprefix(f"deployment {p.deployment} "))
            else:
                lines.append(f"deployment {p.namespace}/{p.deployment}: restarted with the new key, NOT restarted "
                             "on the old one")
        return lines

    def fix(self) -> list[str]:
        from magent.core.rotation import fix_commands

        p, staging = self.plan, self._staging()
        labels = staging.stages.get(p.token, ()) if staging else (CURRENT, PENDING)
        undone = any(s["step"] == "undo_restarted" and s["status"] == "undone" for s in self.steps)
        restart = p.deployment if "restarted" in self.attempted and not undone else None
        return fix_commands(p.ref, p.old_version, p.token, current_on_new=CURRENT in labels,
                            pending_on_new=PENDING in labels, deployment=restart, namespace=p.namespace,
                            context=p.context)


def _message(exc: BaseException) -> str:
    if isinstance(exc, KeyboardInterrupt):
        return "interrupted"
    return SECRETS.mask(getattr(exc, "message", None) or f"{type(exc).__name__}: {exc}")


def _exit_code(exc: BaseException) -> int:
    """The exit code of a cleanly rolled-back failure: what caused it, except that a rollout that failed or timed
    out (4 on its own) is here the app not coming back, rolled back: 1."""
    if isinstance(exc, KeyboardInterrupt):
        return EXIT_INTERRUPTED
    if isinstance(exc, MagentError) and exc.exit_code in (EXIT_UNREACHABLE, EXIT_USAGE, EXIT_INTERRUPTED):
        return exc.exit_code
    return EXIT_CHECK_FAILED

