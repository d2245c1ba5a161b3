"""Shared fixtures of the knowledge_graph tests."""

from pathlib import Path

import knowledge_graph as kg
import pytest

CONFIG_PATH = Path(__file__).resolve().parents[1] / "match_config.json"


@pytest.fixture(scope="session")
def config() -> kg.MatchConfig:
    """The pipeline's default matching configuration."""
    return kg.load_match_config(CONFIG_PATH)


@pytest.fixture(scope="session")
def small_sample() -> kg.SampleData:
    """2,000 generated records from 4 sources."""
    return kg.generate_title_records(n_records=2_000, n_sources=4, seed=7)
