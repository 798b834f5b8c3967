"""Simulation markers written into the original files, read per hardware type.

Only explicit markers count: ``is_simulation: true``, ``platform_support.simulated``, ``simulated_hardware``
lists (and the ``affected_hardware`` of ``warnings`` entries), and the "POTENTIALLY MISLEADING DATA" warnings
a clean-up tool injected. A list names hardware, so it marks only rows of that hardware; the other markers
mark every row of the document. Suspicious-looking numbers without a marker are not flagged here.
"""

from __future__ import annotations

from dataclasses import dataclass

from benchmark_pipeline.lib import normalize

MISLEADING = "POTENTIALLY MISLEADING DATA"


@dataclass(frozen=True)
class SimulationMarkers:
    whole_document: str | None = None  # reason that applies to every row
    hardware: frozenset[str] = frozenset()  # canonical types listed as simulated

    @classmethod
    def from_document(cls, document: object) -> "SimulationMarkers":
        if not isinstance(document, dict):
            return cls()
        reason = None
        if document.get("is_simulation") is True:
            reason = "is_simulation flag"
        elif isinstance(document.get("platform_support"), dict) and document["platform_support"].get("simulated") is True:
            reason = "platform_support.simulated flag"
        elif _misleading(document.get("WARNING")) or _misleading(document.get("warnings")):
            reason = f'"{MISLEADING}" warning'
        listed: set[str] = set()
        for name in _names(document.get("simulated_hardware")):
            listed.add(name)
        warnings = document.get("warnings") if isinstance(document.get("warnings"), list) else []
        for warning in warnings:
            if isinstance(warning, dict):
                listed.update(_names(warning.get("affected_hardware")))
        return cls(reason, frozenset(listed))

    def merged(self, other: "SimulationMarkers") -> "SimulationMarkers":
        return SimulationMarkers(self.whole_document or other.whole_document, self.hardware | other.hardware)

    def reason_for(self, hardware_type: str | None) -> str | None:
        if self.whole_document:
            return self.whole_document
        if hardware_type is not None and hardware_type in self.hardware:
            return f"{hardware_type} listed in simulated_hardware"
        return None


def _names(value: object) -> list[str]:
    if not isinstance(value, list):
        return []
    return [t for t in (normalize.canonical_hardware_type(v) for v in value) if t is not None]


def _misleading(value: object) -> bool:
    if isinstance(value, dict):
        return MISLEADING.lower() in str(value.get("message", "")).lower()
    if isinstance(value, list):
        return any(_misleading(item) for item in value)
    return False
