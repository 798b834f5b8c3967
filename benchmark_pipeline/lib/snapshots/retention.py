"""Which snapshots a backup schedule keeps: a retention policy over the snapshot history.

``select_retained`` is the rule, pure: the newest ``keep_last`` snapshots, then for each period (hour,
day, ISO week, month; UTC) the newest snapshot of each of the ``keep_hourly`` / ``keep_daily`` / ...
most recent periods that have one. Periods are counted among those holding a snapshot, not back from
now: when backups stop, the last ones are kept however old they get (a policy that aged everything out
would leave nothing to restore after a long outage). A snapshot kept by several rules says so.

``apply_retention`` prunes what the policy does not keep, as ``store.prune`` does (data blocks dropped,
manifests kept, no block a kept snapshot uses), but for any set of snapshots rather than the newest N.
Only snapshots whose data is still here take part: one already pruned cannot fill an hour or a day, or
the restorable snapshot of that period would be dropped in its place.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Callable, Hashable, Sequence, TypeVar

from benchmark_pipeline.lib.warehouse.connection import DEFAULT_LOCK_TIMEOUT_S

from .store import DamagedManifest, Manifest, SnapshotStore, _key, remove_snapshot_data

K = TypeVar("K", bound=Hashable)

# The periods a policy can keep, finest first, each with how a UTC time names its period.
PERIODS: dict[str, Callable[[datetime], str]] = {
    "hourly": lambda t: t.strftime("%Y-%m-%dT%H:00Z"),
    "daily": lambda t: t.strftime("%Y-%m-%d"),
    "weekly": lambda t: "{0}-W{1:02d}".format(*t.isocalendar()[:2]),
    "monthly": lambda t: t.strftime("%Y-%m"),
}


@dataclass(frozen=True)
class RetentionPolicy:
    """How many snapshots to keep: the newest ``keep_last``, and one per period for that many periods.

    The default keeps an hourly backup for a day and a daily one for 30 days (the seed's "30 days full").
    """

    keep_last: int = 1
    keep_hourly: int = 24
    keep_daily: int = 30
    keep_weekly: int = 0
    keep_monthly: int = 0

    def __post_init__(self) -> None:
        for name in ("keep_last", "keep_hourly", "keep_daily", "keep_weekly", "keep_monthly"):
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or value < 0:
                raise ValueError(f"{name} must be a whole number >= 0, got {value!r}")
        if self.keep_last < 1:
            raise ValueError("keep_last must be at least 1: the newest snapshot is always kept")

    def counts(self) -> dict[str, int]:
        return {period: getattr(self, f"keep_{period}") for period in PERIODS}

    def describe(self) -> str:
        parts = [f"the newest {self.keep_last}"]
        parts += [f"{n} {period}" for period, n in self.counts().items() if n]
        return "keep " + ", ".join(parts)


def parse_time(text: str) -> datetime:
    """A manifest's ``created_at`` (ISO 8601) as an aware UTC time; a naive one is taken as UTC."""
    value = datetime.fromisoformat(text.replace("Z", "+00:00"))
    return value.astimezone(timezone.utc) if value.tzinfo else value.replace(tzinfo=timezone.utc)


def select_retained(snapshots: Sequence[tuple[K, datetime]], policy: RetentionPolicy) -> dict[K, list[str]]:
    """The snapshots ``policy`` keeps, each with why (``last``, ``hourly 2026-05-01T13:00Z``, ...).

    ``snapshots`` are (key, creation time) in any order; times may be naive (UTC) or aware. The newest
    is always kept. Of two snapshots taken at the same time, the one listed first counts as newer.
    """
    ordered = sorted(enumerate(snapshots), key=lambda item: (_utc(item[1][1]), -item[0]), reverse=True)
    newest_first = [(key, _utc(created)) for _, (key, created) in ordered]
    kept: dict[K, list[str]] = {}
    for key, _created in newest_first[:policy.keep_last]:
        kept.setdefault(key, []).append("last")
    for period, count in policy.counts().items():
        if not count:
            continue
        name = PERIODS[period]
        seen: set[str] = set()
        for key, created in newest_first:
            bucket = name(created)
            if bucket in seen:
                continue
            seen.add(bucket)
            kept.setdefault(key, []).append(f"{period} {bucket}")
            if len(seen) == count:
                break
    return kept


def _utc(value: datetime) -> datetime:
    return value.astimezone(timezone.utc) if value.tzinfo else value.replace(tzinfo=timezone.utc)


@dataclass
class RetentionReport:
    policy: RetentionPolicy
    kept: list[tuple[Manifest, list[str]]] = field(default_factory=list)
    pruned: list[Manifest] = field(default_factory=list)  # pruned now (or, in a dry run, that would be)
    dry_run: bool = False
    blocks_removed: int = 0
    bytes_removed: int = 0
    notes: list[str] = field(default_factory=list)


def _candidates(store: SnapshotStore) -> tuple[list[Manifest], list[Manifest], list[DamagedManifest]]:
    """(snapshots whose data is here, snapshots whose data went missing (not by prune), damaged entries),
    newest first; pruned snapshots are in none of them."""
    journal_state = store.journal_state()
    present, missing, damaged = [], [], []
    for entry in store.chain():
        if isinstance(entry, DamagedManifest):
            damaged.append(entry)
            continue
        state = store.state(entry, journal_state)
        if state in ("local", "published"):
            present.append(entry)
        elif state == "missing":
            missing.append(entry)
    return present, missing, damaged


def plan_retention(store: SnapshotStore, policy: RetentionPolicy) -> RetentionReport:
    """What ``apply_retention`` would do now; nothing is changed."""
    present, _missing, damaged = _candidates(store)
    report = RetentionReport(policy, dry_run=True)
    _split(report, present, policy)
    report.notes += [f"passed over {entry.describe()}" for entry in damaged]
    return report


def _split(report: RetentionReport, present: list[Manifest], policy: RetentionPolicy) -> None:
    reasons = select_retained([(m.cid, parse_time(m.created_at)) for m in present], policy)
    by_key = {_key(cid): why for cid, why in reasons.items()}
    for manifest in present:
        why = by_key.get(_key(manifest.cid))
        if why is None:
            report.pruned.append(manifest)
        else:
            report.kept.append((manifest, why))


def apply_retention(store: SnapshotStore, policy: RetentionPolicy,
                    lock_timeout_s: float = DEFAULT_LOCK_TIMEOUT_S) -> RetentionReport:
    """Prune the data of every snapshot ``policy`` does not keep, under the chain lock.

    The chain is read under the lock, so a snapshot taken meanwhile is either seen (and judged) or comes
    after. Blocks that a kept snapshot, a snapshot whose data went missing (it may yet be healed) or a
    damaged entry may still need are protected; if a kept snapshot's blocks cannot all be listed, nothing
    is deleted (as ``store.prune``). Manifests stay: the history still lists pruned snapshots.
    """
    with store.chain_lock(lock_timeout_s):
        store._ensure_journal()
        present, missing, damaged = _candidates(store)
        report = RetentionReport(policy)
        _split(report, present, policy)
        if not report.pruned:
            report.notes += [f"passed over {entry.describe()}" for entry in damaged]
            return report
        removed = remove_snapshot_data(store, [m for m, _ in report.kept], report.pruned, damaged, report.notes,
                                       also_protect=missing)  # data gone, not pruned: it may yet be healed
        if removed is None:
            report.pruned = []
        else:
            report.blocks_removed, report.bytes_removed = removed
        return report
