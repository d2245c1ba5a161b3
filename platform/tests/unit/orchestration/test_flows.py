"""Reading Metaflow's trigger decorators as the Argo compiler does, and matching events."""

import textwrap
from datetime import UTC, datetime

import pytest

from mlplatform.orchestration import (
    Event,
    FlowDefinitionError,
    TriggerMappingError,
    discover_flows,
    finish_event_name,
)
from mlplatform.orchestration._flows import load_flow, match_event, run_parameters
from mlplatform.orchestration._naming import branch_name, branch_options

HEADER = (
    "from metaflow import FlowSpec, JSONType, Parameter, namespaced_event_name, project, "
    "schedule, step, trigger, trigger_on_finish\n"
)
STEPS = """
    @step
    def start(self):
        self.next(self.end)

    @step
    def end(self):
        pass
"""


def write_flow(folder, name, decorators, body="", file=None):
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / (file or f"{name.lower()}.py")
    lines = "\n".join(decorators)
    path.write_text(
        HEADER
        + f"\n{lines}\nclass {name}(FlowSpec):\n"
        + textwrap.indent(textwrap.dedent(body), "    ")
        + STEPS
    )
    return path


def event(name, payload=None, event_id="e1"):
    return Event(name, payload or {}, event_id, datetime(2026, 1, 1, tzinfo=UTC), "test")


def test_finish_event_names_match_metaflow_project_naming():
    from metaflow.plugins.project_decorator import format_name

    project_flow_name, branch = format_name("TrainFlow", "demo", False, None, "alice")
    # ArgoWorkflowsInternalDecorator publishes "metaflow.<project_flow_name>.<end step>".
    assert finish_event_name("TrainFlow", "demo", branch) == f"metaflow.{project_flow_name}.end"
    assert finish_event_name("TrainFlow") == "metaflow.TrainFlow.end"
    assert branch_name(None, False, "alice") == "user.alice"
    assert branch_name("exp", False) == "test.exp"
    assert branch_name("exp", True) == "prod.exp"
    assert branch_name(None, True) == "prod"


@pytest.mark.parametrize(
    ("branch", "options"),
    [
        ("prod", ({"production": True}, {})),
        ("prod.exp", ({"production": True, "branch": "exp"}, {})),
        ("test.exp", ({"branch": "exp"}, {})),
        ("user.alice", ({}, {"METAFLOW_OWNER": "alice"})),
    ],
)
def test_branch_options(branch, options):
    assert branch_options(branch) == options


def test_branch_options_refuse_other_names():
    with pytest.raises(FlowDefinitionError, match="'main' is not a @project branch"):
        branch_options("main")


def test_trigger_with_mapping_and_types(tmp_path):
    path = write_flow(
        tmp_path,
        "MapFlow",
        ['@trigger(event={"name": "titles_ready", "parameters": {"region": "r", "rows": "n"}})'],
        """
        region = Parameter("region", default="DE")
        rows = Parameter("rows", default=3, type=int)
        ratio = Parameter("ratio", default=0.5)
        """,
    )
    flow = load_flow(path, tmp_path)
    assert flow.name == "MapFlow" and flow.key == "mapflow.py" and flow.project is None
    [dependency] = flow.dependencies
    assert (dependency.kind, dependency.prefix) == ("event", "titles_ready")
    assert dict(dependency.parameters) == {"region": "r", "rows": "n"}
    assert flow.parameters["rows"].type is int
    assert flow.parameters["ratio"].type is float
    values = run_parameters(flow, {0: event("titles_ready", {"r": "FR", "n": "4", "x": 1})})
    assert values == {"region": "FR", "rows": 4}
    # A missing optional field leaves the parameter at its default, as Argo's sensor does.
    assert run_parameters(flow, {0: event("titles_ready", {"r": "IT"})}) == {"region": "IT"}


def test_single_event_without_mapping_fills_parameters_of_the_same_name(tmp_path):
    path = write_flow(
        tmp_path,
        "AutoFlow",
        ['@trigger(event="go")'],
        """
        alpha = Parameter("alpha", default=1)
        config = Parameter("config", default="{}", type=JSONType)
        flag = Parameter("flag", default=False, type=bool)
        """,
    )
    flow = load_flow(path, tmp_path)
    payload = {"alpha": 7, "config": '{"k": [1, 2]}', "flag": "true", "other": "x"}
    assert run_parameters(flow, {0: event("go", payload)}) == {
        "alpha": 7,
        "config": {"k": [1, 2]},
        "flag": True,
    }


def test_mapping_to_a_missing_parameter_is_a_clear_error(tmp_path):
    path = write_flow(
        tmp_path,
        "BadMapFlow",
        ['@trigger(event={"name": "go", "parameters": {"regoin": "region"}})'],
        'region = Parameter("region", default="DE")\n',
    )
    with pytest.raises(TriggerMappingError) as raised:
        load_flow(path, tmp_path)
    message = str(raised.value)
    assert "parameter 'regoin'" in message
    assert "BadMapFlow has no such parameter" in message
    assert "['region']" in message


def test_required_parameter_missing_from_payload_and_bad_values(tmp_path):
    path = write_flow(
        tmp_path,
        "ReqFlow",
        ['@trigger(event={"name": "go", "parameters": ["day", ("rows", "n")]})'],
        """
        day = Parameter("day", required=True)
        rows = Parameter("rows", default=1, type=int)
        """,
    )
    flow = load_flow(path, tmp_path)
    with pytest.raises(TriggerMappingError, match=r"no payload field 'day'.*required parameter"):
        run_parameters(flow, {0: event("go", {"n": 2})})
    with pytest.raises(TriggerMappingError, match="'n' = 'many' does not convert to int"):
        run_parameters(flow, {0: event("go", {"day": "mon", "n": "many"})})


def test_trigger_on_finish_is_project_and_branch_aware(tmp_path):
    plain = load_flow(
        write_flow(tmp_path, "AfterFlow", ['@trigger_on_finish(flow="TrainFlow")']), tmp_path
    )
    assert plain.dependencies[0].name_for(None) == "metaflow.TrainFlow.end"
    projected = load_flow(
        write_flow(
            tmp_path,
            "ProjFlow",
            ['@project(name="demo")', '@trigger_on_finish(flow="TrainFlow")'],
        ),
        tmp_path,
    )
    [dependency] = projected.dependencies
    assert dependency.branch_relative and dependency.upstream_flow == "TrainFlow"
    assert dependency.name_for("user.bob") == "metaflow.demo.user.bob.TrainFlow.end"
    pinned = load_flow(
        write_flow(
            tmp_path,
            "PinFlow",
            ['@project(name="demo")', '@trigger_on_finish(flow="other.prod.TrainFlow")'],
        ),
        tmp_path,
    )
    assert pinned.dependencies[0].name_for("user.bob") == "metaflow.other.prod.TrainFlow.end"


def test_branch_isolation_when_matching(tmp_path):
    free = load_flow(
        write_flow(
            tmp_path,
            "FreeFlow",
            ['@project(name="demo")', '@trigger_on_finish(flow="TrainFlow")'],
        ),
        tmp_path,
    )
    prod_only = load_flow(
        write_flow(
            tmp_path,
            "ProdFlow",
            [
                '@project(name="demo", production=True)',
                '@trigger_on_finish(flow="TrainFlow")',
            ],
        ),
        tmp_path,
    )
    assert prod_only.fixed_branch == "prod"
    user_event = event("metaflow.demo.user.alice.TrainFlow.end")
    prod_event = event("metaflow.demo.prod.TrainFlow.end")
    other_project = event("metaflow.other.prod.TrainFlow.end")
    assert [m.branch for m in match_event(free, user_event, "user.me")] == ["user.alice"]
    assert [m.branch for m in match_event(free, prod_event, "user.me")] == ["prod"]
    assert match_event(free, other_project, "user.me") == []
    assert match_event(prod_only, user_event, "user.me") == []
    assert [m.branch for m in match_event(prod_only, prod_event, "user.me")] == ["prod"]


def test_namespaced_and_plain_events(tmp_path):
    flow = load_flow(
        write_flow(
            tmp_path,
            "NsFlow",
            ['@project(name="demo")', '@trigger(event=namespaced_event_name("ready"))'],
        ),
        tmp_path,
    )
    assert [m.branch for m in match_event(flow, event("mfns.demo.test.x.ready"), "user.me")] == [
        "test.x"
    ]
    assert match_event(flow, event("mfns.other.prod.ready"), "user.me") == []
    assert match_event(flow, event("ready"), "user.me") == []
    plain = load_flow(
        write_flow(tmp_path, "PlainFlow", ['@project(name="demo")', '@trigger(event="ready")']),
        tmp_path,
    )
    # A plain name carries no branch: the run goes to the orchestrator's branch.
    assert [m.branch for m in match_event(plain, event("ready"), "test.ci")] == ["test.ci"]


def test_schedules_as_argo_reads_them(tmp_path):
    hourly = load_flow(write_flow(tmp_path, "HourFlow", ["@schedule(hourly=True)"]), tmp_path)
    assert hourly.schedule.cron == "0 * * * ?"
    daily = load_flow(write_flow(tmp_path, "DayFlow", ["@schedule"]), tmp_path)
    assert daily.schedule.cron == "0 0 * * ?"
    weekly = load_flow(write_flow(tmp_path, "WeekFlow", ["@schedule(weekly=True)"]), tmp_path)
    assert weekly.schedule.cron == "0 0 ? * SUN"
    cron = load_flow(
        write_flow(
            tmp_path, "CronFlow", ['@schedule(cron="*/15 6-8 * * *", timezone="Europe/Berlin")']
        ),
        tmp_path,
    )
    assert (cron.schedule.cron, cron.schedule.timezone) == ("*/15 6-8 * * *", "Europe/Berlin")
    with pytest.raises(FlowDefinitionError, match="not a valid cron expression"):
        load_flow(write_flow(tmp_path, "BadCron", ['@schedule(cron="61 * * * *")']), tmp_path)
    with pytest.raises(FlowDefinitionError, match="not an IANA timezone"):
        load_flow(
            write_flow(tmp_path, "BadTz", ['@schedule(daily=True, timezone="Mars/Base")']),
            tmp_path,
        )


def test_discovery_reports_a_flow_that_fails_to_import_and_keeps_the_others(tmp_path):
    write_flow(tmp_path / "good", "GoodFlow", ['@trigger(event="go")'], file="flow.py")
    broken = tmp_path / "broken" / "flow.py"
    broken.parent.mkdir()
    broken.write_text(
        "from metaflow import FlowSpec\nimport not_a_module\n\nclass X(FlowSpec):\n    pass\n"
    )
    (tmp_path / "good" / "tests").mkdir()
    (tmp_path / "good" / "tests" / "test_flow.py").write_text("class T(FlowSpec):\n")
    flows, errors = discover_flows(tmp_path)
    assert [flow.name for flow in flows] == ["GoodFlow"]
    assert list(errors) == ["broken/flow.py"]
    message = str(errors["broken/flow.py"])
    assert "cannot be imported" in message and "not_a_module" in message
    assert "stay in the log" in message


def test_discovery_refuses_duplicate_flow_names(tmp_path):
    write_flow(tmp_path / "a", "SameFlow", [], file="flow.py")
    write_flow(tmp_path / "b", "SameFlow", [], file="flow.py")
    flows, errors = discover_flows(tmp_path)
    assert [flow.key for flow in flows] == ["a/flow.py"]
    assert "same name" in str(errors["b/flow.py"])
