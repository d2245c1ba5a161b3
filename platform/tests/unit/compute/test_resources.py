"""Resource requests against the profile's limits, and the compute settings."""

from types import SimpleNamespace

import pytest

from mlplatform.compute import (
    ComputeSettings,
    ResourceLimitError,
    available_cores,
    check_requests,
    requested_resources,
)
from mlplatform.config import ConfigError, load_settings


def deco(name, **attributes):
    return SimpleNamespace(name=name, attributes=attributes)


def test_the_largest_request_of_resources_and_kubernetes_wins():
    decorators = [
        deco("resources", cpu=2, memory="4096", gpu=None),
        deco("kubernetes", cpu="4", memory=1024, gpu=1),
        deco("retry", times=3),
    ]
    assert requested_resources(decorators) == {"cpu": 4.0, "memory": 4096.0, "gpu": 1.0}
    assert requested_resources([deco("retry")]) == {}


def test_a_request_above_a_limit_names_the_step_the_request_and_the_limit():
    options = ComputeSettings(max_memory_mb=4000, max_gpu=0)
    with pytest.raises(ResourceLimitError) as error:
        check_requests("train", {"memory": 8000.0, "gpu": 1.0, "cpu": 64.0}, options)
    message = str(error.value)
    assert message.startswith("step train asks for more than the profile allows:")
    assert "memory=8000 MB is above compute.max_memory_mb = 4000 MB" in message
    assert "gpu=1 is above compute.max_gpu = 0" in message
    assert "cpu" not in message.split("allows:")[1].split(".")[0]  # no cpu limit set
    check_requests("train", {"memory": 4000.0}, options)  # at the limit is fine


def test_workers_default_to_the_cores_and_settings_validate(tmp_path):
    assert ComputeSettings().workers == available_cores()
    assert ComputeSettings(max_workers=3).workers == 3
    with pytest.raises(ConfigError, match=r"compute\.max_workers = '0' is invalid"):
        load_settings({"MLP_HOME": str(tmp_path), "MLP_COMPUTE__MAX_WORKERS": "0"})
    with pytest.raises(ConfigError, match="expected 'key=value' pairs"):
        load_settings({"MLP_HOME": str(tmp_path), "MLP_COMPUTE__KUBERNETES_NODE_SELECTOR": "x"})
