"""Allocating co-consulting groups and their case rota. Pure functions: no database.

Allocation maximises mix. Groups are as equal in size as possible (sizes differ by at most one).
Each person has three attributes: organisation kind, profession and region. The allocation
minimises, over every group and attribute, the sum of squared counts of each value, which
spreads every kind, profession and region as evenly as the numbers allow. It starts from a
greedy placement in a seeded random order and improves it by swapping pairs of people between
groups until no swap helps, so the same seed always gives the same groups. The mix score shown to
the team is the number of different kinds, professions and regions summed over the groups
(higher is more mixed).
"""

from __future__ import annotations

import math
import random
from collections import Counter
from dataclasses import dataclass

ATTRIBUTES = ("kind", "profession", "region")


@dataclass(frozen=True)
class Member:
    id: int
    kind: str
    profession: str
    region: str


def group_sizes(count: int, size: int) -> list[int]:
    """As many groups as `size` needs, their sizes differing by at most one (largest first)."""
    if count <= 0:
        return []
    groups = max(1, math.ceil(count / max(size, 1)))
    base, extra = divmod(count, groups)
    return [base + 1] * extra + [base] * (groups - extra)


def _penalty(group: list[Member]) -> int:
    return sum(n * n for attribute in ATTRIBUTES for n in Counter(getattr(m, attribute) for m in group).values())


def mix_score(groups: list[list[Member]]) -> int:
    """Different kinds + professions + regions, summed over the groups. Higher is more mixed."""
    return sum(len({getattr(m, attribute) for m in group}) for group in groups for attribute in ATTRIBUTES)


def allocate(members: list[Member], size: int, seed: int = 0) -> list[list[Member]]:
    sizes = group_sizes(len(members), size)
    order = sorted(members, key=lambda m: m.id)
    random.Random(seed).shuffle(order)
    groups: list[list[Member]] = [[] for _ in sizes]
    for member in order:
        # The open group where this person adds least repetition; ties go to the emptier group.
        best = min((i for i in range(len(groups)) if len(groups[i]) < sizes[i]),
                   key=lambda i: (_penalty(groups[i] + [member]) - _penalty(groups[i]), len(groups[i]), i))
        groups[best].append(member)
    for _ in range(200):
        best_gain, best_swap = 0, None
        for a in range(len(groups)):
            for b in range(a + 1, len(groups)):
                before = _penalty(groups[a]) + _penalty(groups[b])
                for i, x in enumerate(groups[a]):
                    for j, y in enumerate(groups[b]):
                        ga = groups[a][:i] + [y] + groups[a][i + 1:]
                        gb = groups[b][:j] + [x] + groups[b][j + 1:]
                        gain = before - _penalty(ga) - _penalty(gb)
                        if gain > best_gain:
                            best_gain, best_swap = gain, (a, i, b, j)
        if best_swap is None:
            break
        a, i, b, j = best_swap
        groups[a][i], groups[b][j] = groups[b][j], groups[a][i]
    return [sorted(group, key=lambda m: m.id) for group in groups]


def plan_rota(members: list[int], sessions: list[int],
              fixed: dict[int, tuple[int | None, int | None]] | None = None) -> dict[int, tuple[int, int | None]]:
    """Presenter and timekeeper for each session.

    Sessions in `fixed` (those that have happened) keep their people. The rest go to whoever has
    presented least so far (in member order), so each member presents once where the group's size
    allows and as evenly as possible otherwise; the timekeeper is the next member round, never the
    presenter when the group has two or more people.
    """
    fixed = fixed or {}
    if not members:
        return {}
    presented = Counter(p for p, _ in fixed.values() if p in members)
    plan: dict[int, tuple[int, int | None]] = {}
    for session in sessions:
        if session in fixed and fixed[session][0] is not None:
            plan[session] = fixed[session]  # type: ignore[assignment]
            continue
        presenter = min(members, key=lambda m: (presented[m], members.index(m)))
        presented[presenter] += 1
        index = members.index(presenter)
        timekeeper = members[(index + 1) % len(members)] if len(members) > 1 else None
        plan[session] = (presenter, timekeeper)
    return plan
