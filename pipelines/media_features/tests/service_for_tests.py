"""The feature service of the tests: the built-in features plus one that raises, one that
depends on it and one that is slow. Its configuration comes from MEDIA_FEATURES_TEST_CONFIG."""

import os
import time

import media_features as mf

registry = mf.registry.copy()


@registry.feature("exploding", 1, depends_on=["palette"])
def exploding(palette):
    """Always raises."""
    raise ValueError(f"boom: {len(palette)} colours is too many")


@registry.feature("after_exploding", 1, depends_on=["exploding"])
def after_exploding(exploding):
    """Depends on the one that raises."""
    return exploding


@registry.feature("slow_brightness", 1, depends_on=["brightness_curve"])
def slow_brightness(brightness_curve):
    """Takes three seconds."""
    time.sleep(3)
    return float(brightness_curve.mean())


svc = mf.feature_service(registry, mf.load_config(os.environ.get("MEDIA_FEATURES_TEST_CONFIG")))
