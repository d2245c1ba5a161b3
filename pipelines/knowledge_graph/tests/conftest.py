"""Shared fixtures of the knowledge_graph tests."""

from pathlib import Path

import knowledge_graph as kg
import pytest

CONFIG_PATH = Path(__file__).resolve().parents[1] / "match_config.json"
PERSON_CONFIG_PATH = Path(__file__).resolve().parents[1] / "person_match_config.json"


@pytest.fixture(scope="session")
def config() -> kg.MatchConfig:
    """The pipeline's default matching configuration."""
    return kg.load_match_config(CONFIG_PATH)


@pytest.fixture(scope="session")
def small_sample() -> kg.SampleData:
    """2,000 generated records from 4 sources."""
    return kg.generate_title_records(n_records=2_000, n_sources=4, seed=7)


@pytest.fixture(scope="session")
def person_config() -> kg.MatchConfig:
    """The person-records example configuration."""
    return kg.load_match_config(PERSON_CONFIG_PATH)


@pytest.fixture(scope="session")
def person_sample() -> kg.SampleData:
    """3,000 generated person records from 2 sources."""
    return kg.generate_person_records(n_records=3_000, n_sources=2, seed=7)
