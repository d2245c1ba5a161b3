"""The explainer card: pictures (PNG) of importance, beeswarm and drift."""

import explainers as ex
import numpy as np
from explainers._card import beeswarm_figure, card_images, drift_figure, importance_figure

FEATURES = ["a", "b", "c"]
IMPORTANCE = {"a": 0.6, "b": 0.3, "c": 0.1}


def _arrays():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(50, 3))
    data = ex.pack_arrays(x=x, background=x[:5], title_ids=np.array([f"t{i}" for i in range(50)]),
                          features=np.array(FEATURES))  # fmt: skip
    return data, ex.pack_arrays(values=x * [0.6, 0.3, 0.1], expected=np.zeros(50), output=x.sum(1))


def _png(figure) -> bytes:
    from io import BytesIO

    buffer = BytesIO()
    figure.savefig(buffer, format="png")
    return buffer.getvalue()


def test_each_figure_renders_to_a_png():
    x = np.random.default_rng(1).normal(size=(40, 3))
    for figure in (
        importance_figure(IMPORTANCE, {"a": 0.5, "b": 0.4}),
        beeswarm_figure(x * 0.1, x, FEATURES, IMPORTANCE),
        drift_figure(IMPORTANCE, {"a": 0.2, "b": 0.5, "c": 0.3}),
    ):
        assert _png(figure).startswith(b"\x89PNG")
    axes = importance_figure(IMPORTANCE).axes[0]
    assert [t.get_text() for t in axes.get_yticklabels()] == ["a", "b", "c"]  # top = most


def test_the_card_holds_images_and_the_drift_only_when_there_is_a_previous_explainer():
    from metaflow.cards import Image, Markdown

    data, arrays = _arrays()
    first = ex.explainer_card(summary={"model run": "F/1"}, importance=IMPORTANCE,
                              explain_data=data, explanation_arrays=arrays, drift=None,
                              previous=None)  # fmt: skip
    assert sum(isinstance(c, Image) for c in first) == 2
    assert any(isinstance(c, Markdown) and "nothing to compare" in c._text for c in first)
    previous = {"a": 0.2, "b": 0.5, "c": 0.3}
    drift = ex.importance_drift(IMPORTANCE, previous, previous_run="E/7")
    later = ex.explainer_card(summary={"model run": "F/2"}, importance=IMPORTANCE,
                              explain_data=data, explanation_arrays=arrays, drift=drift,
                              previous=previous)  # fmt: skip
    assert sum(isinstance(c, Image) for c in later) == 3
    assert any(isinstance(c, Markdown) and "Drift against E/7" in c._text for c in later)


def test_the_images_of_a_rendered_card_are_counted():
    import base64
    import json

    image = {"type": "image", "src": "data:image/png;base64,iVBORw0KGgo="}
    payload = json.dumps({"components": [image, {"type": "table"}, image]}, separators=(", ", ": "))
    html = f'<script>window.__MF_DATA__["abc"] = "{base64.b64encode(payload.encode()).decode()}"'
    assert card_images(html + ";</script>") == 2
    assert card_images("<html>no card data</html>") == 0
