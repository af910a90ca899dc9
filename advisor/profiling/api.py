"""Profile a workload: build its model through its model source (advisor.models.sources) and count it.

No cache here: the profiler sits below the store, so looking a profile up in the database
(and writing zoo profiles back) is advisor.db.profile_cache.profile_for's job, which calls
this on a miss. Imports torch only when a torch model is counted (ONNX files need none).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from advisor.profiling.types import Profile

if TYPE_CHECKING:
    from advisor.workload import Workload


def count_workload(workload: Workload, *, allow_code: bool = True) -> Profile:
    """The Profile of ``workload``'s model at its shape and phase, counted now.

    ``allow_code`` False refuses import paths and .pt2 files, and reads model files only from
    the service's --models-dir (the HTTP service). Raises
    InputError for an unknown model, a malformed shape or a model that cannot run.
    """
    from advisor.models.sources import LoadPolicy, default_registry
    from advisor.profiling.dispatch import count_built

    source, built = default_registry().build(workload, LoadPolicy.of(allow_code))
    return count_built(built, source=source.name)
