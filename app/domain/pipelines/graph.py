"""Step ordering rules shared by the validator and the planner, so they cannot disagree."""

from __future__ import annotations

import itertools
from collections.abc import Mapping, Sequence


def effective_needs(steps: Sequence[tuple[str, list[str] | None]]) -> list[list[str]]:
    """Base-name needs of each (name, needs) step per the CONTRACT ordering rules.

    No `needs` (None) waits for the step listed before it; `needs: []` starts at once;
    explicit needs are kept in the order written, without repeats.
    """
    result: list[list[str]] = []
    for index, (_, needs) in enumerate(steps):
        if needs is None:
            result.append([steps[index - 1][0]] if index > 0 else [])
        else:
            result.append(list(dict.fromkeys(needs)))
    return result


def find_cycles(order: Sequence[str], graph: Mapping[str, Sequence[str]]) -> list[list[str]]:
    """One cycle per cyclic group of steps, e.g. [a, b, a] for "a needs b, b needs a".

    Each cycle starts (and ends) at its earliest-listed step so messages are stable. Edges to
    names missing from graph are ignored (they are reported as unknown elsewhere).
    """
    position = {name: index for index, name in enumerate(order)}
    done: set[str] = set()
    cycles: list[list[str]] = []
    reported: set[frozenset[str]] = set()
    for root in order:
        if root in done:
            continue
        path = [root]
        on_path = {root}
        stack = [iter(graph.get(root, ()))]
        while stack:
            nxt = next(stack[-1], None)
            if nxt is None:
                finished = path.pop()
                on_path.discard(finished)
                done.add(finished)
                stack.pop()
                continue
            if nxt not in graph or nxt in done:
                continue
            if nxt in on_path:
                cycle = path[path.index(nxt) :]
                if frozenset(cycle) not in reported:
                    reported.add(frozenset(cycle))
                    start = cycle.index(min(cycle, key=lambda name: position.get(name, 0)))
                    rotated = cycle[start:] + cycle[:start]
                    cycles.append([*rotated, rotated[0]])
                continue
            path.append(nxt)
            on_path.add(nxt)
            stack.append(iter(graph.get(nxt, ())))
    return cycles


def matrix_combinations(matrix: Mapping[str, Sequence[str]]) -> list[dict[str, str]]:
    """Cartesian product of the matrix values, keys in the order written ([{}] for no matrix)."""
    keys = list(matrix)
    return [dict(zip(keys, values, strict=True)) for values in itertools.product(*matrix.values())]


def expanded_name(base: str, combination: Mapping[str, str]) -> str:
    """`unit[PY=3.11,OS=linux]` for a matrix combination; the base name when there is none."""
    if not combination:
        return base
    return base + "[" + ",".join(f"{key}={value}" for key, value in combination.items()) + "]"
