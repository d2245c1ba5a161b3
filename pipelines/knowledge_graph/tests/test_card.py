"""The evaluate step's card, built without running a flow."""

import knowledge_graph as kg
import pyarrow as pa

ENTITIES = pa.table(
    {
        "entity_id": ["ent-a", "ent-b", "ent-c"],
        "size": pa.array([1, 3, 2], pa.int32()),
        "members": [
            [{"source": "s1", "source_id": "1"}],
            [{"source": "s1", "source_id": "2"}, {"source": "s2", "source_id": "7"},
             {"source": "s3", "source_id": "9"}],
            [{"source": "s2", "source_id": "4"}, {"source": "s3", "source_id": "5"}],
        ],
        "title": ["Heat", "Home", None],
    }
)  # fmt: skip


def _rendered(components):
    """Each component as Metaflow renders it, without its random id and Markdown's padding."""
    rendered = [{k: v for k, v in c.render().items() if k != "id"} for c in components]
    for component in rendered:
        if "source" in component:
            component["source"] = component["source"].strip()
    return rendered


def test_largest_entities_come_first():
    largest = kg.largest_entities(ENTITIES, count=2)
    assert [e["entity_id"] for e in largest] == ["ent-b", "ent-c"]
    assert largest[0]["members"][1] == {"source": "s2", "source_id": "7"}


def test_card_lists_metrics_rules_and_entities():
    metrics = {"f1": 0.987654, "candidate_pairs": 12, "pairs_per_second_per_core": None}
    card = _rendered(
        kg.evaluation_card(
            metrics,
            has_truth=True,
            pairs_by_rule={"title_year": 10, "cast": 2},
            entities=kg.largest_entities(ENTITIES, count=2),
            canonical_columns=["title"],
        )
    )
    assert card[0] == {"type": "markdown", "source": "# Title entity resolution"}
    assert card[1]["type"] == "table" and card[1]["columns"] == ["metric", "value"]
    assert card[1]["data"] == [
        ["f1", "0.9877"],
        ["candidate_pairs", "12"],
        ["pairs_per_second_per_core", "None"],
    ]
    assert card[2]["source"] == "Candidate pairs by blocking rule: `{'title_year': 10, 'cast': 2}`"
    assert card[3]["source"] == "## Largest entities"
    assert card[4]["columns"] == ["entity", "size", "members", "title"]
    assert card[4]["data"] == [
        ["ent-b", 3, "s1 / 2; s2 / 7; s3 / 9", "Home"],
        ["ent-c", 2, "s2 / 4; s3 / 5", "None"],
    ]


def test_card_without_truth_says_so():
    card = _rendered(
        kg.evaluation_card(
            {"entities": 0}, has_truth=False, pairs_by_rule={}, entities=[], canonical_columns=[]
        )
    )
    assert card[1]["source"] == "No truth table: quality metrics are not computed."
    assert card[-1]["columns"] == ["entity", "size", "members"]
