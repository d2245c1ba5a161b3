"""Title performance explorer (Streamlit), talking to the performance service over HTTP only.

    uv run mlp app perf_viz                       # starts the service and this app, prints the URL
    PERF_VIZ_SERVICE_URL=http://127.0.0.1:8000 uv run streamlit run pipelines/perf_viz/app.py

Settings from the environment: ``PERF_VIZ_SERVICE_URL`` (default http://127.0.0.1:8000),
``PERF_VIZ_TIMEOUT_S`` (how long to wait for an answer, default 5). Answers are cached with
``st.cache_data`` for a few minutes, keyed by the cache generation they came from, so a new
publication shows up at the next look at ``/meta`` (every 15 s). A link can carry a selection:
``?titles=t0001,t0002&country=FR&metric=hours_viewed&start=2026-03-01&breakdown=genre&peers=7``.
"""

import os

import pandas as pd
import perf_viz as pv
import streamlit as st

SERVICE_URL = os.environ.get("PERF_VIZ_SERVICE_URL", pv.DEFAULT_SERVICE_URL)
TIMEOUT_S = float(os.environ.get("PERF_VIZ_TIMEOUT_S", "5"))
META_TTL_S = 15
ANSWER_TTL_S = 300


@st.cache_data(ttl=META_TTL_S, show_spinner=False)
def fetch_meta(url: str, timeout_s: float) -> dict:
    """The service's ``/meta``: the generation, dates, countries, regions, titles."""
    return pv.PerformanceClient(url, timeout_s).meta()


@st.cache_data(ttl=ANSWER_TTL_S, show_spinner=False)
def fetch(url: str, timeout_s: float, generation: str, path: str, body: dict) -> dict:
    """One query's answer; ``generation`` is part of the cache key."""
    return pv.PerformanceClient(url, timeout_s).request(path, body)


def show_problem(error: Exception) -> None:
    level, message = pv.problem_message(error)
    getattr(st, level)(message)


def ask(path: str, body: dict, generation: str) -> dict | None:
    """The answer, or None after showing what went wrong."""
    try:
        return fetch(SERVICE_URL, TIMEOUT_S, generation, path, body)
    except pv.PerfVizError as error:
        show_problem(error)
        return None


def reset_country() -> None:
    st.session_state.country = pv.ALL_COUNTRIES


st.set_page_config(page_title="Title performance", layout="wide")
st.title("Title performance")
try:
    meta = fetch_meta(SERVICE_URL, TIMEOUT_S)
except pv.PerfVizError as error:
    show_problem(error)
    st.stop()
st.caption(pv.freshness_text(meta))

titles_by_id = {title["title_id"]: title for title in meta["titles"]}
regions = meta["regions"]
if "link" not in st.session_state:  # first run of this session: the link's selection
    link = pv.selection_from_link(st.query_params.to_dict(), meta)
    st.session_state.link = link
    st.session_state.update(
        titles=link.titles,
        region=link.region,
        country=link.country,
        metric=link.metric,
        dates=link.dates,
        breakdown=link.breakdown,
        compare=link.compare,
        window=link.window,
    )
for problem in st.session_state.link.problems:
    st.warning(problem)
# A newer generation may have dropped a title or changed the regions.
st.session_state.titles = [t for t in st.session_state.titles if t in titles_by_id]
if st.session_state.region not in (pv.ALL_REGIONS, *regions):
    st.session_state.region = pv.ALL_REGIONS

with st.sidebar:
    st.header("Explore")
    st.multiselect(
        "Titles",
        options=list(titles_by_id),
        format_func=lambda title_id: pv.title_label(titles_by_id[title_id]),
        key="titles",
        max_selections=pv.MAX_TITLES,
    )
    st.selectbox("Region", [pv.ALL_REGIONS, *regions], key="region", on_change=reset_country)
    region = None if st.session_state.region == pv.ALL_REGIONS else st.session_state.region
    countries = regions[region] if region else meta["countries"]
    if st.session_state.country not in (pv.ALL_COUNTRIES, *countries):
        reset_country()
    st.selectbox("Country", [pv.ALL_COUNTRIES, *countries], key="country")
    st.radio("Metric", list(meta["metrics"]), format_func=meta["metrics"].get, key="metric")
    first, last = pv.parse_date(meta["date_min"]), pv.parse_date(meta["date_max"])
    st.date_input("Date range", min_value=first, max_value=last, key="dates")
    st.radio(
        "Breakdown by",
        list(pv.BREAKDOWNS),
        format_func=pv.BREAKDOWNS.get,
        key="breakdown",
        horizontal=True,
    )
    st.toggle("Compare to peers", key="compare")
    if st.session_state.compare:
        st.radio(
            "Launch window",
            meta["launch_windows"],
            format_func=lambda days: f"First {days} days",
            key="window",
            horizontal=True,
        )

dates = st.session_state.dates
selection = pv.Selection(
    titles=list(st.session_state.titles),
    region=region,
    country=None if st.session_state.country == pv.ALL_COUNTRIES else st.session_state.country,
    metric=st.session_state.metric,
    start=dates[0] if dates else first,
    end=dates[1] if len(dates) > 1 else last,  # while a range is being picked
    breakdown=st.session_state.breakdown,
    peers_window=st.session_state.window if st.session_state.compare else None,
)
generation = meta["generation"]
metric_label = meta["metrics"][selection.metric]

if not selection.titles:
    st.info("Pick one or more titles in the sidebar to see their series, retention and launch.")
else:
    series = ask("/timeseries", selection.timeseries_body(), generation)
    if series is not None:
        st.subheader(
            f"{metric_label}, {series['scope']['label']}, {series['start']} to {series['end']}"
        )
        for column, total in zip(st.columns(len(series["totals"])), series["totals"], strict=True):
            column.metric(total["title"], pv.format_metric(selection.metric, total["value"]))
        st.altair_chart(pv.timeseries_chart(series), width="stretch")

left, right = st.columns(2)
with left:
    st.subheader(f"By {selection.breakdown}")
    bars = ask("/breakdown", selection.breakdown_body(), generation)
    if bars is not None:
        st.altair_chart(pv.breakdown_chart(bars), width="stretch")
        table = pd.DataFrame(
            {
                pv.BREAKDOWNS[selection.breakdown]: [bar["label"] for bar in bars["bars"]],
                metric_label: [
                    pv.format_metric(selection.metric, bar["value"]) for bar in bars["bars"]
                ],
            }
        )
        st.table(table, hide_index=True)
with right:
    st.subheader("Retention")
    if selection.titles:
        curves = ask("/retention", selection.retention_body(), generation)
        if curves is not None:
            st.altair_chart(pv.retention_chart(curves), width="stretch")

if selection.peers_window and selection.titles:
    st.subheader(f"First {selection.peers_window} days against comparable titles")
    launch = ask("/peers", selection.peers_body(), generation)
    for comparison in launch["comparisons"] if launch else []:
        with st.container(border=True):
            if comparison["note"]:
                st.caption(comparison["note"])
            if not comparison["observable"]:
                st.markdown(f"**{comparison['title']}**")
                continue
            value = pv.format_metric(selection.metric, comparison["value"])
            median = pv.format_metric(selection.metric, comparison["peer_median"])
            delta = (
                f"{comparison['ratio'] - 1:+.0%} vs peer median {median}"
                if comparison["ratio"]
                else None
            )
            st.metric(f"{comparison['title']}: first {comparison['days']} days", value, delta)
            if comparison["peers"]:
                st.altair_chart(
                    pv.peers_chart(comparison, selection.metric, metric_label), width="stretch"
                )
