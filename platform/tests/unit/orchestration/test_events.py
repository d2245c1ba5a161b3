"""The local event log: durable, at-least-once per consumer, deduplicated by id."""

import csv
import hashlib
import io
import json
import math

import pytest
from click.testing import CliRunner

from mlplatform.cli import cli
from mlplatform.orchestration import (
    Event,
    EventConflictError,
    EventLog,
    EventPayloadError,
    publish,
)
from mlplatform.orchestration._cli import events as events_cli
from mlplatform.orchestration._events import parse_payload


def test_publish_stores_name_payload_id_timestamp_and_source(mlp_settings):
    event = publish("titles_ready", {"region": "FR", "rows": 4}, settings=mlp_settings)
    stored = EventLog.from_settings(mlp_settings).get(event.id)
    assert stored == event
    assert stored.name == "titles_ready"
    assert stored.payload == {"region": "FR", "rows": 4}
    assert stored.source == "api"
    assert stored.timestamp.tzinfo is not None
    assert (mlp_settings.home / "events.db").is_file()


def test_log_survives_a_new_process_view(mlp_settings):
    first = EventLog.from_settings(mlp_settings)
    ids = [first.publish("e", {"n": n}).id for n in range(3)]
    reopened = EventLog(mlp_settings.home / "events.db")
    assert [event.id for event in reopened.list()] == ids
    assert [event.payload["n"] for event in reopened.read("fresh")] == [0, 1, 2]


def payload_hash(payload):
    canonical = json.dumps(payload, sort_keys=True, separators=(",", ":"), allow_nan=False)
    return hashlib.sha256(canonical.encode()).hexdigest()[:12]


def test_publishing_the_same_event_twice_stores_it_once_and_says_so(mlp_settings):
    log = EventLog.from_settings(mlp_settings)
    first = log.publish("e", {"n": 1, "m": [1, 2]}, event_id="same")
    again = log.publish("e", {"m": [1, 2], "n": 1}, event_id="same", source="cli")
    assert again == first
    assert (first.duplicate, again.duplicate) == (False, True)
    assert [event.id for event in log.list()] == ["same"]


def test_publishing_an_id_again_with_another_payload_is_an_error(mlp_settings):
    log = EventLog.from_settings(mlp_settings)
    log.publish("e", {"n": 1}, event_id="same")
    with pytest.raises(EventConflictError) as raised:
        log.publish("e", {"n": 2}, event_id="same")
    message = str(raised.value)
    assert "event id 'same' is already in the log" in message
    assert payload_hash({"n": 1}) in message and payload_hash({"n": 2}) in message
    with pytest.raises(EventConflictError, match="named 'e', not 'other'"):
        log.publish("other", {"n": 1}, event_id="same")
    [stored] = log.list()
    assert (stored.name, stored.payload) == ("e", {"n": 1})


def test_cli_says_already_published_and_refuses_a_conflicting_duplicate(mlp_settings):
    runner = CliRunner()
    args = ["events", "publish", "titles_ready", "--payload", '{"rows": 4}', "--id", "x1"]
    assert runner.invoke(cli, args).stdout == "published titles_ready id=x1\n"
    again = runner.invoke(cli, args)
    assert again.exit_code == 0
    assert again.stdout == "already published titles_ready id=x1 (same payload; nothing stored)\n"
    conflict = runner.invoke(cli, [*args[:3], "--payload", '{"rows": 5}', "--id", "x1"])
    assert conflict.exit_code == 2
    assert conflict.stdout == ""
    [line] = conflict.stderr.splitlines()
    assert line.startswith("error: event id 'x1' is already in the log")
    assert payload_hash({"rows": 4}) in line and payload_hash({"rows": 5}) in line
    assert EventLog.from_settings(mlp_settings).get("x1").payload == {"rows": 4}


@pytest.mark.parametrize("value", [math.nan, math.inf, -math.inf])
def test_nan_and_infinity_are_not_json_and_are_refused(mlp_settings, value):
    with pytest.raises(EventPayloadError, match="NaN and Infinity are not JSON"):
        publish("e", {"nested": {"x": [1, value]}}, settings=mlp_settings)
    assert EventLog.from_settings(mlp_settings).list() == []


@pytest.mark.parametrize("text", ["NaN", "Infinity", "-Infinity"])
def test_nan_and_infinity_in_payload_text_are_refused(mlp_settings, text):
    with pytest.raises(EventPayloadError, match=f"--payload has {text}, which is not JSON"):
        parse_payload(f'{{"x": {text}}}')
    result = CliRunner().invoke(cli, ["events", "publish", "e", "--payload", f'{{"x": {text}}}'])
    assert result.exit_code == 2
    assert "which is not JSON" in result.stderr
    assert EventLog.from_settings(mlp_settings).list() == []


def test_at_least_once_until_acknowledged_and_offsets_per_consumer(mlp_settings):
    log = EventLog.from_settings(mlp_settings)
    for n in range(3):
        log.publish("e", {"n": n})
    delivered = log.read("a")
    # Not acknowledged: a consumer that restarts gets the same events again.
    assert [event.seq for event in EventLog(log.path).read("a")] == [e.seq for e in delivered]
    log.ack("a", delivered[1].seq)
    assert [event.payload["n"] for event in log.read("a")] == [2]
    # Another consumer has its own offset.
    assert [event.payload["n"] for event in log.read("b")] == [0, 1, 2]
    # Acknowledging an older position never moves the offset back.
    log.ack("a", delivered[0].seq)
    assert log.offset("a") == delivered[1].seq


def test_register_starts_a_new_consumer_where_told_and_keeps_an_existing_one(mlp_settings):
    log = EventLog.from_settings(mlp_settings)
    log.publish("e", {})
    log.publish("e", {})
    assert log.register("late", at=log.head()) == 2
    assert log.read("late") == []
    log.ack("early", 1)
    assert log.register("early", at=2) == 1


@pytest.mark.parametrize(
    ("name", "payload", "expected"),
    [
        ("bad name!", {}, "event name 'bad name!' is invalid"),
        ("", {}, "event name '' is invalid"),
        ("ok", ["a", "list"], "the payload must be a JSON object"),
        ("ok", {"when": object()}, "not JSON-serialisable"),
    ],
)
def test_bad_events_are_refused_and_nothing_is_stored(mlp_settings, name, payload, expected):
    with pytest.raises(EventPayloadError, match=expected):
        publish(name, payload, settings=mlp_settings)
    assert EventLog.from_settings(mlp_settings).list() == []


def test_parse_payload_names_the_problem():
    assert parse_payload('{"a": 1}') == {"a": 1}
    with pytest.raises(EventPayloadError, match=r"--payload is not valid JSON .*line 1 column"):
        parse_payload("{region: DE}")
    with pytest.raises(EventPayloadError, match="must be a JSON object, got list"):
        parse_payload("[1, 2]")


def test_cli_publish_and_ls(mlp_settings):
    runner = CliRunner()
    result = runner.invoke(
        events_cli, ["publish", "titles_ready", "--payload", '{"region": "FR"}', "--id", "x1"]
    )
    assert result.exit_code == 0, result.output
    assert "published titles_ready id=x1" in result.output
    listing = runner.invoke(events_cli, ["ls"])
    assert listing.exit_code == 0
    assert "titles_ready" in listing.output and "x1" in listing.output and "cli" in listing.output
    assert EventLog.from_settings(mlp_settings).get("x1").payload == {"region": "FR"}


def test_cli_publish_with_invalid_json_is_a_clear_error_and_loses_nothing(mlp_settings):
    log = EventLog.from_settings(mlp_settings)
    log.publish("before", {"kept": True})
    result = CliRunner().invoke(events_cli, ["publish", "x", "--payload", "{not json"])
    assert isinstance(result.exception, EventPayloadError)
    assert "--payload is not valid JSON" in str(result.exception)
    assert [event.name for event in log.list()] == ["before"]
    assert log.list()[0].payload == {"kept": True}


def test_event_dict_round_trip():
    event = Event.from_dict({"name": "n", "payload": {"a": 1}, "id": "i", "timestamp": 10.5})
    assert Event.from_dict(json.loads(json.dumps(event.to_dict()))) == event
    assert event.timestamp.timestamp() == 10.5


def test_cli_ls_formats_for_people_and_programs(mlp_settings):
    log = EventLog.from_settings(mlp_settings)
    long_id = "evt-" + "0123456789abcdef" * 4
    log.publish("titles_ready", {"region": "FR", "note": "x" * 120}, event_id=long_id)
    log.publish("other", {}, event_id="o1")
    runner = CliRunner()

    table = runner.invoke(cli, ["events", "ls"])
    assert table.exit_code == 0
    assert long_id in table.stdout  # ids are never cut, and piped output does not wrap
    assert '"note": "' + "x" * 120 in table.stdout

    as_json = json.loads(runner.invoke(cli, ["events", "ls", "--format", "json"]).stdout)
    assert [(row["name"], row["id"]) for row in as_json] == [
        ("titles_ready", long_id),
        ("other", "o1"),
    ]
    assert as_json[0]["payload"] == {"note": "x" * 120, "region": "FR"}
    assert as_json[0]["source"] == "api" and as_json[0]["seq"] == 1

    rows = list(
        csv.DictReader(io.StringIO(runner.invoke(cli, ["events", "ls", "--format", "csv"]).stdout))
    )
    assert [row["id"] for row in rows] == [long_id, "o1"]
    assert json.loads(rows[0]["payload"]) == {"note": "x" * 120, "region": "FR"}

    limited = json.loads(
        runner.invoke(cli, ["events", "ls", "--limit", "1", "--format", "json"]).stdout
    )
    assert [row["id"] for row in limited] == ["o1"]


@pytest.mark.parametrize("command", [["events", "ls"], ["runs", "ls"]])
def test_a_negative_limit_is_refused(mlp_settings, command):
    EventLog.from_settings(mlp_settings).publish("e", {})
    result = CliRunner().invoke(cli, [*command, "--limit", "-1"])
    assert result.exit_code == 2
    assert "-1 is not in the range x>=0" in result.stderr
    assert result.stdout == ""


def test_listing_apis_refuse_negative_limits_like_the_cli(mlp_settings):
    from mlplatform.orchestration import EventLog, list_runs

    log = EventLog.from_settings(mlp_settings)
    for bad in (-1, 2.5, True):
        with pytest.raises(ValueError, match="limit must be a whole number >= 0"):
            log.list(limit=bad)
        with pytest.raises(ValueError, match="limit must be a whole number >= 0"):
            list_runs(mlp_settings, limit=bad)
    assert log.list(limit=0) == []
