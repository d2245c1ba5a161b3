"""Expected answers computed straight from the viewing sessions with pandas.

Independent of the pipeline's cube and cache values: a check of what the service says. The
class lives in the package (`perf_viz._oracle`), where the nightly hook uses it too.
"""

from perf_viz._oracle import CONFIG, Oracle

__all__ = ["CONFIG", "Oracle"]
