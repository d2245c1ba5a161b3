"""The hosted feature service: ``uv run mlp serve pipelines/media_features/service.py``.

One async job per (asset, feature) node over the built-in feature graph; see the package's
``_service`` module. A team with its own features builds the service from its registry:
``svc = media_features.feature_service(my_registry)``.
"""

import media_features as mf

svc = mf.feature_service()
