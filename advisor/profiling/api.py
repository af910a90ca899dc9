"""Profile a workload: load its model (zoo, callable or .pt2) and count it.

No cache here: the profiler sits below the store, so looking a profile up in the database
(and writing zoo profiles back) is advisor.db.profile_cache.profile_for's job, which calls
this on a miss. Imports torch only when called.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from advisor.profiling.types import Profile

if TYPE_CHECKING:
    from advisor.workload import Workload


def count_workload(workload: Workload, *, allow_code: bool = True) -> Profile:
    """The Profile of ``workload``'s model at its shape and phase, counted now.

    ``allow_code`` False refuses files and import paths (the HTTP service). Raises
    InputError for an unknown model, a malformed shape or a model that cannot run.
    """
    from advisor.models import load_model
    from advisor.profiling.counter import count

    return count(load_model(workload, allow_code=allow_code))
