"""Launch claims: a run's runtime holds its claim while it lives; a restart reads it."""

import signal
import subprocess
import sys
import textwrap

import pytest

from mlplatform.orchestration._claims import ClaimState, claim_path, close, inspect

HOLDER = textwrap.dedent(
    """
    import sys
    from mlplatform.orchestration._claims import take

    take(sys.argv[1], sys.argv[2])
    print("taken", flush=True)
    sys.stdin.read()  # hold the claim until killed
    """
)


def holder(path, run_id):
    """A process that takes the claim like a run's runtime does, and keeps it."""
    process = subprocess.Popen(
        [sys.executable, "-c", HOLDER, str(path), run_id],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    return process


@pytest.mark.timeout(60)
def test_a_claim_is_alive_while_its_process_lives_and_keeps_the_run_id(tmp_path):
    path = claim_path(tmp_path, "token-1")
    assert inspect(path) is None
    process = holder(path, "42")
    try:
        assert process.stdout.readline() == "taken\n"
        assert inspect(path) == ClaimState(run_id="42", alive=True)
        assert close(path) == ClaimState(run_id="42", alive=True)  # taken: not closed
    finally:
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=30)
    assert inspect(path) == ClaimState(run_id="42", alive=False)


@pytest.mark.timeout(60)
def test_a_closed_claim_stops_a_launch_that_is_only_late(tmp_path):
    path = claim_path(tmp_path, "token-2")
    assert close(path) == ClaimState(run_id=None, alive=False)
    late = holder(path, "43")
    _, stderr = late.communicate(timeout=30)
    assert late.returncode != 0
    assert "was closed by a restarted orchestrator" in stderr
    assert "run 43 stops here" in stderr
    assert inspect(path) == ClaimState(run_id=None, alive=False)
