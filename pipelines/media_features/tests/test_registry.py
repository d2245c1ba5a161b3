"""Features as code: registration checks, the closure, levels, cache keys, the drawn graph."""

import media_features as mf
import pytest
from media_features._compute import run_feature


def _registry() -> mf.FeatureRegistry:
    registry = mf.FeatureRegistry()

    @registry.feature("histogram", 1, depends_on=["frames"])
    def histogram(frames):
        return frames

    @registry.feature("palette", 1, depends_on=["histogram"])
    def palette(histogram):
        return histogram

    @registry.feature("curve", 1, depends_on=["frames"])
    def curve(frames):
        return frames

    @registry.feature("cuts", 1, depends_on=["curve"])
    def cuts(curve):
        return curve

    @registry.feature("stats", 1, depends_on=["cuts", "curve"])
    def stats(cuts, curve):
        return cuts

    return registry


def test_a_missing_dependency_is_an_error_at_registration():
    registry = _registry()
    with pytest.raises(
        mf.FeatureGraphError, match=r"'shots' depends on 'cut', .*did you mean \['cuts'\]"
    ):

        @registry.feature("shots", 1, depends_on=["cut"])
        def shots(cut):
            return cut

    assert "shots" not in registry


def test_a_cycle_is_an_error_at_registration_and_leaves_the_graph_as_it_was():
    registry = _registry()
    with pytest.raises(mf.FeatureGraphError, match="cycle: curve -> stats -> cuts -> curve"):

        @registry.feature("curve", 2, depends_on=["stats"])
        def curve(stats):
            return stats

    assert registry["curve"].version == 1
    with pytest.raises(mf.FeatureGraphError, match="cycle: cuts -> cuts"):
        registry.register("cuts", 2, ["cuts"], lambda cuts: cuts)


def test_definitions_are_checked():
    registry = _registry()
    with pytest.raises(
        mf.FeatureGraphError, match="takes \\['x'\\] but depends_on is \\['frames'\\]"
    ):
        registry.register("bad", 1, ["frames"], lambda x: x)
    with pytest.raises(mf.FeatureGraphError, match="v1 is registered already; bump the version"):
        registry.register("palette", 1, ["histogram"], lambda histogram: histogram)
    with pytest.raises(mf.FeatureGraphError, match="not a source name"):
        registry.register("frames", 1, ["audio"], lambda audio: audio)
    with pytest.raises(mf.FeatureGraphError, match="version must be an int >= 1"):
        registry.register("other", 0, ["audio"], lambda audio: audio)
    with pytest.raises(mf.FeatureGraphError, match="depends_on is empty"):
        registry.register("other", 1, [], lambda: 1)
    with pytest.raises(mf.UnknownFeatureError, match=r"unknown feature 'palete'.*\['palette'\]"):
        registry["palete"]


def test_closure_is_every_needed_feature_dependencies_first_by_level():
    registry = _registry()
    assert registry.closure(["stats", "palette"]) == [
        "curve",
        "histogram",
        "cuts",
        "palette",
        "stats",
    ]
    assert [registry.level(n) for n in ("frames", "curve", "cuts", "stats")] == [0, 1, 2, 3]
    assert registry.dependents("curve") == ["cuts", "stats"]
    assert registry.dependents("frames") == ["curve", "cuts", "histogram", "palette", "stats"]


def test_keys_hold_versions_and_a_bump_changes_a_feature_and_its_dependents_only():
    registry = _registry()
    before = {name: registry.key("asset-0001", 3, name) for name in registry.names()}
    assert before["palette"].startswith("asset-0001@3/palette@1.")
    bumped = registry.copy()

    @bumped.feature("curve", 2, depends_on=["frames"])
    def curve(frames):
        return frames

    after = {name: bumped.key("asset-0001", 3, name) for name in bumped.names()}
    changed = {name for name in before if before[name] != after[name]}
    assert changed == {"curve", "cuts", "stats"}
    assert after["curve"].startswith("asset-0001@3/curve@2.")
    assert registry.key("asset-0001", 3, "curve") == before["curve"]  # the copy is apart
    new_asset_version = {name: registry.key("asset-0001", 4, name) for name in registry.names()}
    assert all(new_asset_version[n] != before[n] for n in before)
    assert registry.key("asset-0002", 3, "curve") != before["curve"]


def test_the_graph_is_drawn_down_to_the_sources():
    drawn = _registry().render("stats").splitlines()
    assert drawn[0].startswith("stats v1  [")
    assert drawn[1:] == [
        "├── cuts v1",
        "│   └── curve v1",
        "│       └── frames (source)",
        "└── curve v1",
        "    └── frames (source)",
    ]


def test_a_feature_returning_what_the_cache_cannot_store_fails_with_a_clear_error(
    mlp_home, small_config
):
    registry = mf.registry.copy()

    @registry.feature("opaque", 1, depends_on=["synopsis"])
    def opaque(synopsis):
        return {"words": object()}

    mf.ensure_assets(small_config)
    record = mf.load_assets(small_config)["asset-0000"]
    values, failures = mf.compute_assets(
        registry, [record], ["opaque", "palette"], mf.ObjectStore()
    )
    [failure] = failures.values()
    assert failure.message == (
        "opaque of asset-0000 v1 failed: opaque v1 of asset-0000 v1 returned a value of type "
        "object; a feature returns a numpy array or JSON-able data (numbers, strings, lists, dicts)"
    )
    assert registry.key("asset-0000", 1, "palette") in values  # the other branch completes
    with pytest.raises(
        mf.FeatureComputationError, match="opaque v1 of a v1 returned a value of type object"
    ):
        run_feature(registry, "opaque", {"synopsis": "text"}, what="a v1")


def test_the_built_in_graph_has_the_issues_chains():
    registry = mf.registry
    assert len(registry) >= 10
    assert registry.closure(["palette"]) == ["color_histogram", "palette"]
    assert registry.closure(["shot_stats"]) == ["brightness_curve", "shot_boundaries", "shot_stats"]
    assert registry.closure(["loud_moments"]) == ["loudness_curve", "loud_moments"]
    assert registry["text_embedding"].depends_on == ("synopsis",)
    assert registry["dominant_colors"].depends_on == ("artwork",)
    assert isinstance(registry["palette"], mf.Feature)
    assert {s for f in registry.names() for s in registry[f].sources} == set(mf.SOURCES)
    assert registry.level("shot_stats") == 3
