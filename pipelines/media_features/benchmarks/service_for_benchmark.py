"""The benchmark's feature service: the built-in features, plus copies of the 3-level chain
frames -> brightness_curve -> shot_boundaries -> shot_stats under other names, one per
repeat, so that each repeat of the cold measurement finds nothing cached."""

import inspect
import os

import media_features as mf

REPEATS = int(os.environ.get("MEDIA_FEATURES_BENCH_REPEATS", "3"))


def renamed(function, **arguments):
    """``function`` taking its arguments under new names (new name -> its own name)."""

    def call(**values):
        return function(**{arguments[name]: value for name, value in values.items()})

    call.__signature__ = inspect.Signature(
        [inspect.Parameter(name, inspect.Parameter.KEYWORD_ONLY) for name in arguments]
    )
    return call


def chain_registry(repeats: int) -> mf.FeatureRegistry:
    """The built-in features plus ``shot_stats_r<i>`` chains for i < repeats."""
    registry = mf.registry.copy()
    for repeat in range(repeats):
        curve, cuts = f"brightness_r{repeat}", f"cuts_r{repeat}"
        builtin = mf.registry
        registry.register(curve, 1, ["frames"], builtin["brightness_curve"].function)
        registry.register(
            cuts,
            1,
            [curve],
            renamed(builtin["shot_boundaries"].function, **{curve: "brightness_curve"}),
        )
        registry.register(
            f"shot_stats_r{repeat}",
            1,
            [cuts, curve],
            renamed(
                builtin["shot_stats"].function,
                **{cuts: "shot_boundaries", curve: "brightness_curve"},
            ),
        )
    return registry


registry = chain_registry(REPEATS)
svc = mf.feature_service(registry)
