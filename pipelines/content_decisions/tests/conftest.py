"""Shared fixtures of the content_decisions tests: small seeded worlds."""

import content_decisions as cd
import pytest


@pytest.fixture(scope="session")
def small_world() -> cd.World:
    """200 titles, 15 countries (3 per region), 6 weeks of viewing (generated once)."""
    return cd.World(cd.WorldSpec(n_titles=200, countries_per_region=3, history_weeks=6, seed=3))


@pytest.fixture(scope="session")
def region_configs() -> dict[str, cd.RegionConfig]:
    """The pipeline's own five region configurations."""
    return {region: cd.load_region_config(region) for region in cd.REGIONS}
