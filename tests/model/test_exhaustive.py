"""Every sequence of up to DEPTH events for one order, explored with state hashing.

From a new order, each step picks any next event: a payment (right, short, forged, duplicate,
after the end), Xendit's EXPIRED, a decision, a cancel by each party, a reschedule, the next
timer, and for every command under way each way it can end (done, refused, an outage until its
give-up, an attempt that lands after the machine gave up on it). After every step the state
is settled (everything succeeds, time runs to the end) and invariants 1, 2, 4 and 5 are checked;
every status change is checked against the declared table, and every step's emails against
the rules on who hears what when (`world.email_breaches`).
"""

import time

import pytest

from tests.model.world import (
    EMAIL_BREACHES,
    STATUS_CHANGES,
    World,
    invariant_breaches,
    moves,
    settle_trail,
    start,
    start_invoiced,
)
from workflows.machine.table import TRANSITIONS, allowed

pytestmark = pytest.mark.model

DEPTH = 5


def test_every_sequence_keeps_the_invariants() -> None:
    began = time.monotonic()
    seen: dict[World, int] = {}
    settled: dict[World, list[str]] = {}
    STATUS_CHANGES.clear()
    EMAIL_BREACHES.clear()
    sequences = 0
    # From a new order, and from one whose invoice exists (creation is a prefix of every order).
    frontier: list[tuple[World, tuple[str, ...]]] = [(start(), ()), (start_invoiced(), ("+",))]
    while frontier:
        world, path = frontier.pop()
        for name, after in moves(world):
            sequences += 1
            if after not in settled:
                trail = settle_trail(after)
                verdict = next((settled[w] for w in trail if w in settled), None)
                if verdict is None:
                    verdict = invariant_breaches(trail[-1])
                for passed in trail:
                    settled.setdefault(passed, verdict)
            assert not settled[after], f"{(*path, name)}: {settled[after]}"
            depth = len(path) + (0 if path[:1] == ("+",) else 1)
            if depth < DEPTH and seen.get(after, DEPTH + 1) > depth:
                seen[after] = depth
                frontier.append((after, (*path, name)))
    took = time.monotonic() - began
    print(f"\nexplored {sequences} sequences, {len(settled)} distinct states, in {took:.1f} s")
    assert sequences > 10_000
    transitions = set(STATUS_CHANGES)
    undeclared = {t for t in transitions if not allowed(*t)}
    assert not undeclared, f"status changes the table does not declare: {undeclared}"
    declared = {(t.status, t.event, to) for t in TRANSITIONS for to in t.to}
    unreached = declared - transitions
    assert not unreached, f"declared but never reached: {unreached}"
    assert not EMAIL_BREACHES, f"emails to the wrong person or time: {EMAIL_BREACHES[:5]}"
