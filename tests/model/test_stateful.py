"""Longer random sequences on the same model: Hypothesis's rule-based state machine.

Each rule is one next event of the exhaustive test's alphabet, chosen by Hypothesis; after
every step the state is settled (everything succeeds, time runs out) and invariants 1, 2, 4 and
5 are checked, and the rules on who is emailed when. Settings give at least 10,000 steps per
run, from a fixed seed.
"""

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule

from tests.model.world import (
    EMAIL_BREACHES,
    World,
    invariant_breaches,
    moves,
    settle,
    start,
    start_invoiced,
)

pytestmark = pytest.mark.model

EXAMPLES = 450
STEPS = 60
STEPS_TAKEN = [0]


class OrderModel(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.world: World = start()
        self.path: list[str] = []

    @rule(invoiced=st.booleans())
    def new_order(self, invoiced: bool) -> None:
        """Start over with another order (so long runs see many of them)."""
        self.world = start_invoiced() if invoiced else start()
        self.path = ["new"]

    @rule(choice=st.integers(min_value=0, max_value=10_000))
    def next_event(self, choice: int) -> None:
        STEPS_TAKEN[0] += 1
        options = list(moves(self.world))
        if options:
            name, self.world = options[choice % len(options)]
            self.path.append(name)

    @invariant()
    def invariants_hold_once_settled(self) -> None:
        breaches = invariant_breaches(settle(self.world))
        assert not breaches, f"{self.path}: {breaches}"
        assert not EMAIL_BREACHES, f"{self.path}: {EMAIL_BREACHES}"


TestOrderModel = OrderModel.TestCase
TestOrderModel.settings = settings(
    max_examples=EXAMPLES,
    stateful_step_count=STEPS,
    derandomize=True,
    deadline=None,
    suppress_health_check=list(HealthCheck),
)


def test_the_run_took_at_least_ten_thousand_steps() -> None:
    """Runs after the state machine above (pytest keeps a module's order)."""
    assert STEPS_TAKEN[0] >= 10_000, STEPS_TAKEN[0]
