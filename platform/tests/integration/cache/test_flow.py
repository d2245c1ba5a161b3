"""The generation pattern in a real Metaflow run: a foreach writes, the join publishes."""

from __future__ import annotations

import textwrap

import pytest
from metaflow import Runner

from mlplatform.cache import Cache

FLOW = textwrap.dedent(
    """
    from metaflow import FlowSpec, Parameter, step

    from mlplatform.cache import Cache


    class PublishScoresFlow(FlowSpec):
        fail_shard = Parameter("fail_shard", default=-1)

        @step
        def start(self):
            self.generation = Cache("scores").new_generation()  # a str artifact
            self.shards = [0, 1, 2]
            self.next(self.score, foreach="shards")

        @step
        def score(self):
            with Cache("scores").writer(self.generation) as writer:
                for i in range(10):
                    if self.input == self.fail_shard and i == 5:
                        raise RuntimeError("a failing task")
                    writer.put(f"title:{self.input}:{i}", {"shard": self.input, "score": i / 10})
            self.next(self.publish)

        @step
        def publish(self, inputs):
            self.generation = inputs[0].generation
            self.published = Cache("scores").publish(self.generation).key_count
            self.next(self.end)

        @step
        def end(self):
            pass


    if __name__ == "__main__":
        PublishScoresFlow()
    """
)


@pytest.mark.integration
@pytest.mark.timeout(600)
def test_a_foreach_publishes_one_generation_and_a_failed_run_publishes_nothing(
    cache_settings, tmp_path
):
    flow_file = tmp_path / "publish_scores_flow.py"
    flow_file.write_text(FLOW)
    cache = Cache("scores", settings=cache_settings)

    with Runner(str(flow_file), cwd=str(tmp_path)).run() as running:
        assert running.status == "successful", running.stderr
        run = running.run
        generation = run.data.generation
        assert run.data.published == 30
    assert cache.current_generation() == generation
    info = cache.generation_info(generation)
    assert info.writer_run_id == f"PublishScoresFlow/{run.id}"
    expected = {
        f"title:{s}:{i}": {"shard": s, "score": i / 10} for s in range(3) for i in range(10)
    }
    assert dict(cache.scan("title:")) == expected

    with Runner(str(flow_file), cwd=str(tmp_path)).run(fail_shard=1) as running:
        assert running.status == "failed"
    # The failed run's generation stays open and invisible; readers keep the published one.
    assert cache.current_generation() == generation
    assert dict(cache.scan("title:")) == expected
    (failed,) = [g for g in cache.generations() if g.status == "open"]
    assert failed.writer_run_id != info.writer_run_id
