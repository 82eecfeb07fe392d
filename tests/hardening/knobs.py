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


def settings(examples: int = EXAMPLES):
    """hypothesis settings shared by the suites: no deadline (busy CI machines), no example database."""
    from hypothesis import HealthCheck
    from hypothesis import settings as hypothesis_settings

    return hypothesis_settings(max_examples=examples, deadline=None, database=None,
                               suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                                      HealthCheck.function_scoped_fixture])
