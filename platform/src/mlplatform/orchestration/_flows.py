"""Discover flows and read their ``@trigger``, ``@trigger_on_finish``, ``@schedule``, ``@project``.

The decorators are Metaflow's own; this module reads their attributes the way Metaflow's Argo
Workflows compiler does, so a flow behaves the same under the local orchestrator and once
deployed: the same event names, the same parameter mapping rules, the same branches.
"""

from __future__ import annotations

import importlib.util
import inspect
import json
import logging
import re
import sys
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from croniter import croniter

from mlplatform.orchestration._errors import FlowDefinitionError, TriggerMappingError
from mlplatform.orchestration._events import EVENT_NAME, Event
from mlplatform.orchestration._naming import (
    FINISH_PREFIX,
    NAMESPACED_PREFIX,
    SCHEDULE_PREFIX,
    branch_name,
    finish_event_name,
    namespaced_name,
)

logger = logging.getLogger(__name__)

_FLOW_CLASS = re.compile(r"^class\s+\w+\s*\([^)]*FlowSpec[^)]*\)\s*:", re.MULTILINE)
_SKIP_DIRS = {"tests", "test", "src", "benchmarks", "__pycache__", "node_modules"}
_FIELD = re.compile(r"^[A-Za-z0-9_]+$")
_BRANCH = re.compile(r"^(prod|prod\.[a-z0-9_]+|test\.[a-z0-9_]+|user\.[^.]+)$")


@dataclass(frozen=True)
class ParameterSpec:
    """A flow parameter as the orchestrator needs it: name, type and whether it is required."""

    name: str
    type: Any
    required: bool


@dataclass(frozen=True)
class Dependency:
    """One event a flow waits for (all of a flow's dependencies must arrive, as in Argo).

    Attributes:
        kind: ``event`` (``@trigger``) or ``run`` (``@trigger_on_finish``).
        prefix: The event name, or for a name that embeds the flow's own branch, the part
            before the branch.
        suffix: The part after the branch (empty when ``branch_relative`` is False).
        branch_relative: The name contains the running flow's own ``@project`` branch.
        parameters: ``(parameter, payload field)`` pairs (``@trigger`` only).
        upstream_flow: The flow whose finish is awaited (``@trigger_on_finish`` only).
    """

    kind: Literal["event", "run"]
    prefix: str
    suffix: str = ""
    branch_relative: bool = False
    parameters: tuple[tuple[str, str], ...] = ()
    upstream_flow: str | None = None

    def name_for(self, branch: str | None) -> str:
        """The event name this dependency waits for when the flow runs on ``branch``."""
        return f"{self.prefix}{branch}{self.suffix}" if self.branch_relative else self.prefix

    def branch_of(self, event_name: str) -> str | None:
        """For a branch-relative name: the branch ``event_name`` belongs to, if it matches."""
        if not (event_name.startswith(self.prefix) and event_name.endswith(self.suffix)):
            return None
        branch = event_name[len(self.prefix) : len(event_name) - len(self.suffix)]
        return branch if _BRANCH.match(branch) else None


@dataclass(frozen=True)
class ScheduleSpec:
    """A ``@schedule`` as Argo Workflows runs it: a five-field cron and an optional timezone."""

    cron: str
    timezone: str | None = None


@dataclass(frozen=True)
class FlowDefinition:
    """What the orchestrator knows about one flow file.

    Attributes:
        file: The flow file.
        key: Its path relative to the flows folder (the flow's consumer id in the event log).
        name: The flow class name.
        project: The ``@project`` name, if any.
        fixed_branch: The branch pinned in ``@project(branch=..., production=...)``, if any.
        dependencies: What starts it (``@trigger`` events and ``@trigger_on_finish`` flows).
        schedule: Its ``@schedule``, if any.
        parameters: Its parameters by name.
    """

    file: Path
    key: str
    name: str
    project: str | None = None
    fixed_branch: str | None = None
    dependencies: tuple[Dependency, ...] = ()
    schedule: ScheduleSpec | None = None
    parameters: Mapping[str, ParameterSpec] = field(default_factory=dict)

    def run_branch(self, default_branch: str) -> str | None:
        """The branch of a run that its event does not pin (schedules, plain events)."""
        if self.project is None:
            return None
        return self.fixed_branch or default_branch

    def schedule_event_name(self) -> str:
        """The name of the events that record this flow's schedule ticks."""
        return f"{SCHEDULE_PREFIX}{self.name}"


@dataclass(frozen=True)
class Match:
    """An event satisfies dependency ``dependency`` (-1: the schedule) of a flow on a branch."""

    flow: FlowDefinition
    branch: str | None
    dependency: int
    event: Event


def find_flow_files(flows_dir: Path) -> list[Path]:
    """Python files under ``flows_dir`` that define a FlowSpec subclass.

    Folders named tests, src, benchmarks and hidden folders are skipped: they hold library
    code and tests, not flows.
    """
    if not flows_dir.is_dir():
        return []
    found = []
    for path in sorted(flows_dir.rglob("*.py")):
        relative = path.relative_to(flows_dir).parts[:-1]
        if any(part in _SKIP_DIRS or part.startswith(".") for part in relative):
            continue
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError):
            continue
        if _FLOW_CLASS.search(text):
            found.append(path)
    return found


def load_flow(file: Path, flows_dir: Path | None = None) -> FlowDefinition:
    """Import one flow file and read its orchestration decorators.

    Raises:
        FlowDefinitionError: The file does not import, holds no flow, or its decorators
            cannot be honoured (a deploy-time callable trigger, a bad cron).
        TriggerMappingError: A ``@trigger`` mapping names a parameter the flow does not have.
    """
    from metaflow.flowspec import FlowStateItems

    file = Path(file).resolve()
    key = str(file.relative_to(flows_dir.resolve())) if flows_dir else file.name
    try:
        flow_cls = _import_flow_class(file)
    except Exception as error:
        raise FlowDefinitionError(
            f"flow file {file} cannot be imported: {type(error).__name__}: {error}. "
            f"Fix the file (`uv run {file.name} check` shows the problem); events for it "
            "stay in the log and are handled once it imports"
        ) from None
    decorators = flow_cls._flow_state[FlowStateItems.FLOW_DECORATORS]
    name = flow_cls.__name__
    parameters = _parameters(flow_cls)
    project, fixed_branch = _project(decorators.get("project", []))
    dependencies = []
    for deco in decorators.get("trigger", []):
        dependencies.extend(_trigger_dependencies(name, file, deco, project, parameters))
    for deco in decorators.get("trigger_on_finish", []):
        dependencies.extend(_finish_dependencies(name, file, deco, project))
    schedule = None
    for deco in decorators.get("schedule", []):
        schedule = _schedule(name, file, deco.attributes)
    return FlowDefinition(
        file=file,
        key=key,
        name=name,
        project=project,
        fixed_branch=fixed_branch,
        dependencies=tuple(dependencies),
        schedule=schedule,
        parameters=parameters,
    )


def _import_flow_class(file: Path) -> Any:
    """Execute a flow file as a fresh module and return its one FlowSpec subclass.

    Like Metaflow's Runner (``extract_flow_class_from_file``) but never cached, so a file
    fixed while the orchestrator runs is read again at the next discovery.
    """
    from metaflow import FlowSpec
    from metaflow.user_decorators.user_flow_decorator import FlowMutator

    module_name = f"_mlp_flow_{abs(hash((str(file), time.time_ns())))}"
    spec = importlib.util.spec_from_file_location(module_name, file)
    if spec is None or spec.loader is None:
        raise ImportError(f"{file} is not a Python module")
    module = importlib.util.module_from_spec(spec)
    folder = str(file.parent)
    added = folder not in sys.path
    if added:
        sys.path.insert(0, folder)
    try:
        spec.loader.exec_module(module)
    finally:
        if added:
            sys.path.remove(folder)
    found = []
    for value in vars(module).values():
        candidate = value._flow_cls if isinstance(value, FlowMutator) else value
        if (
            inspect.isclass(candidate)
            and issubclass(candidate, FlowSpec)
            and candidate is not FlowSpec
            and candidate.__module__ == module_name
            and candidate not in found
        ):
            found.append(candidate)
    if len(found) != 1:
        names = [flow.__name__ for flow in found]
        raise ImportError(f"expected exactly one FlowSpec subclass in {file.name}, found {names}")
    return found[0]


def discover_flows(
    flows_dir: Path,
) -> tuple[list[FlowDefinition], dict[str, FlowDefinitionError]]:
    """Load every flow under ``flows_dir``.

    Returns:
        The flows that loaded, and for each file that did not, its key and the error.
        One broken flow never hides the others.
    """
    flows: list[FlowDefinition] = []
    errors: dict[str, FlowDefinitionError] = {}
    seen: dict[str, str] = {}
    for file in find_flow_files(flows_dir):
        key = str(file.resolve().relative_to(flows_dir.resolve()))
        try:
            flow = load_flow(file, flows_dir)
        except FlowDefinitionError as error:
            logger.error("%s", error)
            errors[key] = error
            continue
        if flow.name in seen:
            errors[key] = FlowDefinitionError(
                f"flow {flow.name} in {key} has the same name as the flow in {seen[flow.name]}; "
                "flow names must be unique because events name flows. Rename one of them"
            )
            logger.error("%s", errors[key])
            continue
        seen[flow.name] = key
        flows.append(flow)
    return flows, errors


def _parameters(flow_cls: Any) -> dict[str, ParameterSpec]:
    specs = {}
    for _, param in flow_cls._get_parameters():
        if getattr(param, "IS_CONFIG_PARAMETER", False):
            continue
        overrides = {k: v for k, v in param._override_kwargs.items() if v is not None}
        kwargs = {**param.kwargs, **overrides}
        default = kwargs.get("default")
        param_type = kwargs.get("type") or (
            type(default) if default is not None and not callable(default) else str
        )
        specs[param.name] = ParameterSpec(
            name=param.name, type=param_type, required=bool(kwargs.get("required"))
        )
    return specs


def _project(decos: list[Any]) -> tuple[str | None, str | None]:
    if not decos:
        return None, None
    deco = decos[0]
    attributes = deco.attributes
    pinned = getattr(deco, "_user_defined_attributes", set()) or set()
    fixed = None
    if "branch" in pinned or ("production" in pinned and attributes.get("production")):
        fixed = branch_name(attributes.get("branch"), bool(attributes.get("production")))
    return attributes["name"], fixed


def _namespaced_event(value: Any) -> str | None:
    keywords = getattr(value, "keywords", None) or {}
    func = getattr(value, "func", None)
    if getattr(func, "__name__", "") == "_delayed_name_generator" and "event_name" in keywords:
        return str(keywords["event_name"])
    return None


def _event_name(flow: str, file: Path, value: Any, project: str | None) -> Dependency:
    logical = _namespaced_event(value)
    if logical is not None:
        if project:
            return Dependency(
                "event", f"{NAMESPACED_PREFIX}{project}.", f".{logical}", branch_relative=True
            )
        return Dependency("event", namespaced_name(logical, None, None))
    if isinstance(value, str):
        if not EVENT_NAME.match(value):
            raise FlowDefinitionError(
                f"{file}: @trigger event name {value!r} of {flow} is invalid; Argo Events "
                "accepts letters, digits, '_', '.' and '-' only"
            )
        return Dependency("event", value)
    raise FlowDefinitionError(
        f"{file}: @trigger of {flow} uses a deploy-time callable for an event name ({value!r}); "
        "the local orchestrator supports plain names and metaflow.namespaced_event_name(...). "
        "Use one of those"
    )


def _mapping(flow: str, file: Path, event: str, raw: Any) -> list[tuple[str, str]]:
    if raw in (None, {}, []):
        return []
    pairs: list[tuple[str, str]] = []
    if isinstance(raw, Mapping):
        pairs = [(str(k), str(v)) for k, v in raw.items()]
    elif isinstance(raw, list | tuple):
        for item in raw:
            if isinstance(item, str):
                pairs.append((item, item))
            elif isinstance(item, list | tuple) and len(item) == 2:
                pairs.append((str(item[0]), str(item[1])))
            else:
                raise TriggerMappingError(
                    f"{file}: @trigger event {event!r} of {flow}: parameter mapping entry "
                    f"{item!r} is invalid; expected 'name' or ('parameter', 'payload_field')"
                )
    else:
        raise TriggerMappingError(
            f"{file}: @trigger event {event!r} of {flow}: parameters must be a dict "
            f"{{parameter: payload_field}} or a list, got {raw!r}"
        )
    return pairs


def _trigger_dependencies(
    flow: str,
    file: Path,
    deco: Any,
    project: str | None,
    parameters: Mapping[str, ParameterSpec],
) -> list[Dependency]:
    attributes = deco.attributes
    raw_events = [attributes["event"]] if attributes.get("event") else attributes.get("events")
    if not isinstance(raw_events, list) or not raw_events:
        raise FlowDefinitionError(
            f"{file}: @trigger of {flow} needs event='name' or events=[...]; got {attributes!r}"
        )
    by_lower = {name.lower(): name for name in parameters}
    dependencies = []
    for raw in raw_events:
        if isinstance(raw, Mapping):
            if "name" not in raw:
                raise FlowDefinitionError(f"{file}: @trigger event {raw!r} of {flow} has no 'name'")
            dependency = _event_name(flow, file, raw["name"], project)
            pairs = _mapping(flow, file, dependency.prefix, raw.get("parameters"))
        else:
            dependency = _event_name(flow, file, raw, project)
            pairs = []
        mapped, seen = [], set()
        for param, payload_field in pairs:
            if param.lower() not in by_lower:
                raise TriggerMappingError(
                    f"{file}: @trigger of {flow} maps payload field {payload_field!r} of event "
                    f"{dependency.name_for('<branch>')!r} to parameter {param!r}, but {flow} has "
                    f"no such parameter; its parameters are {sorted(parameters)}. Fix the "
                    "mapping or add the Parameter"
                )
            if not _FIELD.match(payload_field):
                raise TriggerMappingError(
                    f"{file}: @trigger of {flow}: payload field {payload_field!r} is invalid; "
                    "Argo Events accepts letters, digits and '_' only"
                )
            if param.lower() in seen:
                raise TriggerMappingError(
                    f"{file}: @trigger of {flow} maps parameter {param!r} twice"
                )
            seen.add(param.lower())
            mapped.append((by_lower[param.lower()], payload_field))
        dependencies.append(_with_parameters(dependency, tuple(mapped)))
    # As Argo: one event without a mapping fills every parameter of the same name.
    if len(dependencies) == 1 and not dependencies[0].parameters:
        dependencies[0] = _with_parameters(
            dependencies[0], tuple((name, name) for name in parameters if _FIELD.match(name))
        )
    return dependencies


def _with_parameters(dependency: Dependency, parameters: tuple[tuple[str, str], ...]) -> Dependency:
    return Dependency(
        kind=dependency.kind,
        prefix=dependency.prefix,
        suffix=dependency.suffix,
        branch_relative=dependency.branch_relative,
        parameters=parameters,
        upstream_flow=dependency.upstream_flow,
    )


def _finish_dependencies(flow: str, file: Path, deco: Any, project: str | None) -> list[Dependency]:
    from metaflow.plugins.events_decorator import TriggerOnFinishDecorator

    attributes = deco.attributes
    raw = [attributes["flow"]] if attributes.get("flow") else attributes.get("flows")
    if callable(raw) or any(callable(item) for item in raw or []):
        raise FlowDefinitionError(
            f"{file}: @trigger_on_finish of {flow} uses a deploy-time callable; the local "
            "orchestrator supports flow names ('Flow' or 'project.branch.Flow') and dicts"
        )
    if not raw:
        raise FlowDefinitionError(f"{file}: @trigger_on_finish of {flow} names no flow")
    try:
        triggers = TriggerOnFinishDecorator._parse_static_triggers(list(raw))
    except Exception as error:
        raise FlowDefinitionError(f"{file}: @trigger_on_finish of {flow}: {error}") from None
    dependencies = []
    for trigger in triggers:
        fq_name = trigger["fq_name"]
        if fq_name.count(".") == 0:
            upstream = fq_name
        elif fq_name.count(".") >= 2:
            trigger["project"], tail = fq_name.split(".", maxsplit=1)
            trigger["branch"], upstream = tail.rsplit(".", maxsplit=1)
        else:
            raise FlowDefinitionError(
                f"{file}: @trigger_on_finish of {flow}: {fq_name!r} is neither 'Flow' nor "
                "'project.branch.Flow'"
            )
        upstream_project = trigger.get("project") or project
        if trigger.get("branch"):
            name = finish_event_name(upstream, upstream_project, trigger["branch"])
            dependencies.append(Dependency("run", name, upstream_flow=upstream))
        elif upstream_project:
            if not project:
                raise FlowDefinitionError(
                    f"{file}: @trigger_on_finish of {flow} names project {upstream_project!r} "
                    "without a branch; give 'project_branch' too or use @project"
                )
            dependencies.append(
                Dependency(
                    "run",
                    f"{FINISH_PREFIX}{upstream_project}.",
                    f".{upstream}.end",
                    branch_relative=True,
                    upstream_flow=upstream,
                )
            )
        else:
            name = finish_event_name(upstream)
            dependencies.append(Dependency("run", name, upstream_flow=upstream))
    return dependencies


def _schedule(flow: str, file: Path, attributes: Mapping[str, Any]) -> ScheduleSpec | None:
    # Metaflow's ScheduleDecorator.flow_init, then Argo's "first five fields" conversion.
    if attributes.get("cron"):
        expression = attributes["cron"]
    elif attributes.get("weekly"):
        expression = "0 0 ? * SUN *"
    elif attributes.get("hourly"):
        expression = "0 * * * ? *"
    elif attributes.get("daily"):
        expression = "0 0 * * ? *"
    else:
        return None
    cron = " ".join(str(expression).split()[:5])
    if not croniter.is_valid(cron):
        raise FlowDefinitionError(
            f"{file}: @schedule(cron={expression!r}) of {flow} is not a valid cron expression "
            "(Argo uses its first five fields: minute hour day-of-month month day-of-week)"
        )
    timezone = attributes.get("timezone")
    if timezone:
        try:
            ZoneInfo(timezone)
        except (ZoneInfoNotFoundError, ValueError):
            raise FlowDefinitionError(
                f"{file}: @schedule(timezone={timezone!r}) of {flow} is not an IANA timezone "
                "such as 'Europe/Berlin'"
            ) from None
    return ScheduleSpec(cron=cron, timezone=timezone)


def match_event(flow: FlowDefinition, event: Event, default_branch: str) -> list[Match]:
    """The dependencies of ``flow`` that ``event`` satisfies, each with the run's branch.

    Branch isolation: a name that embeds a branch (finish events and namespaced events of a
    ``@project``) starts the flow on that same branch only, and never a flow pinned to another
    branch; plain names start the flow on its pinned branch or the orchestrator's default.
    """
    if event.name == flow.schedule_event_name():
        if event.payload.get("flow_file") == flow.key:
            return [Match(flow, event.payload.get("branch"), -1, event)]
        return []
    matches = []
    for index, dependency in enumerate(flow.dependencies):
        if dependency.branch_relative:
            branch = dependency.branch_of(event.name)
            if branch is None or (flow.fixed_branch and branch != flow.fixed_branch):
                continue
        elif event.name == dependency.prefix:
            branch = flow.run_branch(default_branch)
        else:
            continue
        matches.append(Match(flow, branch, index, event))
    return matches


def _convert(spec: ParameterSpec, value: Any) -> Any:
    from metaflow.parameters import JSONTypeClass

    kind = spec.type
    if isinstance(kind, JSONTypeClass):
        return json.loads(value) if isinstance(value, str) else value
    if kind is bool:
        if isinstance(value, bool):
            return value
        text = str(value).strip().lower()
        if text in {"true", "1", "yes"}:
            return True
        if text in {"false", "0", "no"}:
            return False
        raise ValueError(f"{value!r} is not a boolean")
    if kind is int:
        if isinstance(value, bool) or (isinstance(value, float) and not value.is_integer()):
            raise ValueError(f"{value!r} is not an integer")
        return int(value)
    if kind is float:
        if isinstance(value, bool):
            raise ValueError(f"{value!r} is not a number")
        return float(value)
    return value if isinstance(value, str) else json.dumps(value)


def run_parameters(flow: FlowDefinition, events: Mapping[int, Event]) -> dict[str, Any]:
    """The parameters of a run started by ``events`` (dependency index -> event).

    A mapped payload field that is absent leaves the parameter at its default, as Argo's
    sensor does; for a required parameter that is an error.

    Raises:
        TriggerMappingError: A required parameter's field is missing, or a value does not
            convert to the parameter's type.
    """
    values: dict[str, Any] = {}
    for index, event in sorted(events.items()):
        if index < 0:
            continue
        for param, payload_field in flow.dependencies[index].parameters:
            spec = flow.parameters[param]
            if payload_field not in event.payload:
                if spec.required:
                    raise TriggerMappingError(
                        f"event {event.name!r} ({event.id}) has no payload field "
                        f"{payload_field!r}, which {flow.name} needs for its required parameter "
                        f"{param!r}; publish it with that field"
                    )
                continue
            raw = event.payload[payload_field]
            try:
                values[param] = _convert(spec, raw)
            except (TypeError, ValueError) as error:
                type_name = getattr(spec.type, "__name__", str(spec.type))
                raise TriggerMappingError(
                    f"event {event.name!r} ({event.id}): payload field {payload_field!r} = "
                    f"{raw!r} does not convert to {type_name} for parameter {param!r} of "
                    f"{flow.name} ({error})"
                ) from None
    return values
