"""The evaluate step's card, built without running a flow."""

import knowledge_graph as kg
import numpy as np
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
    assert card[0] == {"type": "markdown", "source": "# Entity resolution"}
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


def _model_and_fields():
    config = kg.load_match_config(
        {
            "input_table": "x.r", "pairs_table": "x.p", "matches_table": "x.m",
            "entities_table": "x.e", "id_columns": ["id"], "link_type": "dedupe_only",
            "fields": [
                {"name": "name", "column": "name", "comparator": "jaro_winkler",
                 "thresholds": [0.9], "swapped_with": "surname"},
                {"name": "born", "column": "born", "comparator": "date",
                 "day_month_swapped": True},
            ],
            "blocking": {"rules": [{"name": "n", "keys": [{"column": "name"}]}]},
            "threshold": 0.5,
        }
    )  # fmt: skip
    m = [np.array([0.1, 0.1, 0.1, 0.7]), np.array([0.05, 0.05, 0.9])]
    u = [np.array([0.9, 0.05, 0.01, 0.04]), np.array([0.98, 0.001, 0.019])]
    return kg.FellegiSunterModel(["name", "born"], m, u, prior=0.01), config.fields


def test_match_weights_figure_has_one_panel_per_comparison_with_every_level():
    model, fields = _model_and_fields()
    figure = kg.match_weights_figure(model, fields)
    axes = figure.get_axes()
    assert len(axes) == 3  # the prior, then one panel per comparison
    labels = [[t.get_text() for t in axis.get_yticklabels()] for axis in axes]
    # one tick per level at y = level: "else" at the bottom, the best level on top
    assert [list(axis.get_yticks()) for axis in axes[1:]] == [[0, 1, 2, 3], [0, 1, 2]]
    assert labels[1] == ["else", "jaro_winkler >= 0.9", "swapped with surname", "exact"]
    assert labels[2] == ["else", "day/month swapped", "exact"]
    widths = [[bar.get_width() for bar in axis.patches] for axis in axes]
    assert widths[0] == [model.prior_weight]
    np.testing.assert_allclose(widths[1], np.log2(model.m[0] / model.u[0]))
    np.testing.assert_allclose(widths[2], np.log2(model.m[1] / model.u[1]))


def test_card_charts_the_model_when_given_one():
    model, fields = _model_and_fields()
    card = _rendered(
        kg.evaluation_card(
            {"f1": 1.0}, has_truth=True, pairs_by_rule={}, entities=[], canonical_columns=[],
            model=model, fields=fields,
        )
    )  # fmt: skip
    position = card.index({"type": "markdown", "source": "## Match weights"})
    image = card[position + 1]
    assert image["type"] == "image" and image["src"].startswith("data:image/png;base64,")
    assert image["label"] == "match weight of each level"
