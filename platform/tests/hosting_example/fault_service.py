"""A service for the hosting layer's fault tests: slow answers, crashing workers, jobs that
record each run to a file (``FAULTS_LOG``) and can be told to fail."""

import json
import os
import time
from pathlib import Path

from pydantic import BaseModel

from mlplatform.hosting import Context, Service

svc = Service("faults")


class Work(BaseModel):
    n: int = 0
    seconds: float = 0.0
    fail_times: int = 0


class Done(BaseModel):
    n: int
    pid: int


def _record(event: str, **fields) -> None:
    log = os.environ.get("FAULTS_LOG")
    if log:
        with Path(log).open("a") as handle:  # one line per write: O_APPEND is atomic
            handle.write(json.dumps({"event": event, **fields}) + "\n")


@svc.endpoint("/work")
def work(request: Work, ctx: Context) -> Done:
    time.sleep(request.seconds)
    return Done(n=request.n, pid=os.getpid())


@svc.endpoint("/crash")
def crash(request: Work, ctx: Context) -> Done:
    os._exit(3)  # the worker dies mid-request


@svc.endpoint("/error")
def error(request: Work, ctx: Context) -> Done:
    raise RuntimeError("this endpoint always fails")


@svc.endpoint("/job", mode="async")
def job(request: Work, ctx: Context) -> Done:
    _record("start", job=ctx.job_id, n=request.n)
    time.sleep(request.seconds)
    failures = (
        sum(
            1
            for line in Path(os.environ["FAULTS_LOG"]).read_text().splitlines()
            if json.loads(line) == {"event": "fail", "job": ctx.job_id}
        )
        if os.environ.get("FAULTS_LOG")
        else 0
    )
    if failures < request.fail_times:
        _record("fail", job=ctx.job_id)
        raise ValueError(f"failing on purpose ({failures + 1} of {request.fail_times})")
    _record("finish", job=ctx.job_id, n=request.n)
    return Done(n=request.n * 2, pid=os.getpid())
