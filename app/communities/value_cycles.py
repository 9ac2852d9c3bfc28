"""The value-creation framework's cycles, shared by the value board (evaluation) and communities' value
evidence. They live here, below evaluation, so communities can tag evidence without importing it."""

from __future__ import annotations

from enum import StrEnum


class ValueCycle(StrEnum):
    """The value-creation framework's cycles; the last three come from its longer version."""

    IMMEDIATE = "immediate"
    POTENTIAL = "potential"
    APPLIED = "applied"
    REALISED = "realised"
    REFRAMING = "reframing"
    STRATEGIC = "strategic"
    ENABLING = "enabling"
    TRANSFORMATIVE = "transformative"

    @property
    def label(self) -> str:
        return self.value.capitalize() + " value"

    @property
    def hint(self) -> str:
        return VALUE_CYCLE_HINTS[self]


VALUE_CYCLE_HINTS = {
    ValueCycle.IMMEDIATE: "The activity itself was worthwhile: enjoyable, useful, inspiring",
    ValueCycle.POTENTIAL: "Something gained that may be useful later: a skill, a contact, an idea",
    ValueCycle.APPLIED: "Something was put into practice: a new way of running a meeting or a team",
    ValueCycle.REALISED: "Practice changed what happened: better care, time saved, results",
    ValueCycle.REFRAMING: "It changed how success is seen: new goals, new measures, new ways of thinking",
    ValueCycle.STRATEGIC: "Conversations with stakeholders about what matters",
    ValueCycle.ENABLING: "Getting the conditions right: support, resources, permission",
    ValueCycle.TRANSFORMATIVE: "Lasting change in people, practice or the system",
}


def cycles_in(values) -> list[str]:
    """Known cycles only, in the framework's order, each once."""
    chosen = set(values or ())
    return [cycle.value for cycle in ValueCycle if cycle.value in chosen]


class EvidenceKind(StrEnum):
    QUOTE = "quote"
    REFLECTION = "reflection"
    CHANGE = "change"

    @property
    def label(self) -> str:
        return {"quote": "Quote", "reflection": "Reflection", "change": "A change"}[self.value]
