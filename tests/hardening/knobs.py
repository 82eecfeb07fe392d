"""How hard the hardening suites push: modest for `make test`, much more with FLOWSHEET_STRESS=1 (`make stress`)."""

from __future__ import annotations

import os

STRESS = os.environ.get("FLOWSHEET_STRESS", "") not in ("", "0")

# hypothesis examples per property, SIGKILLs per crash test, writer sizes for the concurrency tests
EXAMPLES = 500 if STRESS else 60
BUILD_EXAMPLES = 60 if STRESS else 12  # each example builds a whole site
KILLS = 200 if STRESS else 20
WRITERS = 8 if STRESS else 4
EVENTS_PER_WRITER = 20_000 if STRESS else 3_000


# A hang catcher, not a speed check: one example (a whole site build at most) takes well under a second.
DEADLINE_SECONDS = 60


def settings(examples: int = EXAMPLES):
    """hypothesis settings shared by the suites, chosen so that a run cannot fail or stall by chance.

    - derandomize: the examples follow from the test's code, so every run of `make test` tries the same
      ones and a failure reproduces by running the test again (`make stress` draws fresh ones);
    - a bounded example count and a generous per-example deadline;
    - no shrinking under CI (CI is set): a failing example is printed as found instead of being
      shrunk for minutes with no output; run the test locally to get the shrunk one;
    - no example database, so no state carries from one run to the next.
    """
    from datetime import timedelta

    from hypothesis import HealthCheck, Phase
    from hypothesis import settings as hypothesis_settings

    phases = [Phase.explicit, Phase.generate] if os.environ.get("CI") else list(Phase)
    return hypothesis_settings(max_examples=examples, deadline=timedelta(seconds=DEADLINE_SECONDS),
                               database=None, derandomize=not STRESS, print_blob=True, phases=phases,
                               suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                                      HealthCheck.function_scoped_fixture])
