"""The deploy lock as every target holds it: who holds it, whether that lease expired, and the two refusals.

A Kubernetes target keeps the lock in a coordination.k8s.io Lease, an ECS target in the service's tags; both
describe it with `LeaseInfo` and refuse with `LeaseHeld` / `LeaseLost`, so the workflow never asks which.
"""

from __future__ import annotations

import getpass
import os
import socket
from dataclasses import dataclass
from datetime import datetime, timedelta

from magent.core.errors import InconsistentState
from magent.core.timeutil import isoformat, utcnow


def identity() -> str:
    """`user@host pid`: who holds a deploy, as shown to the one refused."""
    try:
        user = getpass.getuser()
    except (KeyError, OSError):
        user = str(os.getuid())
    return f"{user}@{socket.gethostname()} {os.getpid()}"


@dataclass(frozen=True)
class LeaseInfo:
    name: str
    holder: str | None
    duration_s: int
    renewed_at: datetime | None
    resource_version: str | None

    def expired(self, now: datetime | None = None) -> bool:
        if not self.holder or self.renewed_at is None:
            return True
        return (now or utcnow()) > self.renewed_at + timedelta(seconds=self.duration_s)

    def describe(self) -> str:
        renewed = isoformat(self.renewed_at) if self.renewed_at else "never"
        return f"{self.holder} (lease {self.name}, renewed {renewed}, {self.duration_s}s)"


class LeaseHeld(InconsistentState):
    """Another live process holds the deploy lock."""

    def __init__(self, deployment: str, lease: LeaseInfo) -> None:
        super().__init__(
            f"deployment {deployment} is being deployed by {lease.describe()}",
            hint=f"wait for it to finish, or abort it with `magent rollback --deployment {deployment}`; "
                 "`--resume` takes over once its lease has expired",
        )
        self.lease = lease


class LeaseLost(InconsistentState):
    """Our Lease was taken or removed (by `magent rollback`, or after it expired)."""


def holder_is_dead_here(holder: str | None) -> bool:
    """The holder is a process of this user on this host that no longer runs."""
    if not holder:
        return True
    who, _, pid = holder.rpartition(" ")
    mine = identity().rpartition(" ")[0]
    if who != mine or not pid.isdigit():
        return False
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    return False
