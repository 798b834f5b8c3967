"""What a change touched: the models and hardware platforms whose derived rows must be recomputed.

A derived table is partitioned by what it ranks within: ``hardware_comparison`` and
``hardware_recommendations`` by model (a model's rows rank all of its hardware), ``model_comparison``
by platform (a platform's rows rank all of its models), ``daily_model_stats`` by model. So a change to
the facts of model M on platform P is fully reflected by recomputing M's rows of the first kind and P's
rows of the second.
"""

from __future__ import annotations

from dataclasses import dataclass

# A platform as the derived tables group it: hardware type and device name (None when not given).
Platform = tuple[str, "str | None"]


@dataclass(frozen=True)
class Scope:
    """``None`` for a field means "everything"; an empty set means "nothing of this kind changed"."""

    models: frozenset[str] | None = None
    platforms: frozenset[Platform] | None = None
    compatibility: bool = True  # the compatibility facts changed (the matrix is rebuilt whole: it is small)
    # Set when the change only added facts, all of this ingestion run (nothing replaced or removed): the
    # refresh can then narrow a model's rows to the groups and days that run's results fall in.
    added_by: str | None = None

    @classmethod
    def everything(cls) -> "Scope":
        return cls()

    @property
    def is_everything(self) -> bool:
        return self.models is None and self.platforms is None

    @property
    def is_empty(self) -> bool:
        return self.models == frozenset() and self.platforms == frozenset() and not self.compatibility

    def union(self, other: "Scope") -> "Scope":
        def join(a, b):
            return None if a is None or b is None else a | b

        return Scope(join(self.models, other.models), join(self.platforms, other.platforms),
                     self.compatibility or other.compatibility,
                     self.added_by if self.added_by == other.added_by or other.is_empty else
                     other.added_by if self.is_empty else None)
