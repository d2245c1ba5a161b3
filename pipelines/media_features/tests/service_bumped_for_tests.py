"""The feature service of the version-bump test: brightness_curve is at version 2."""

import os

import media_features as mf

registry = mf.registry.copy()


@registry.feature("brightness_curve", 2, depends_on=["frames"])
def brightness_curve(frames):
    """Mean luma per frame, rounded to a tenth (version 2 changes the output)."""
    return mf.registry["brightness_curve"].function(frames=frames).round(1)


svc = mf.feature_service(registry, mf.load_config(os.environ.get("MEDIA_FEATURES_TEST_CONFIG")))
