"""Benchmark: the match step alone, and the whole matcher against Splink on the same data.

    uv run --package knowledge-graph --group benchmark python \
        pipelines/knowledge_graph/benchmarks/match.py [--records 20000] [--sizes 1e6,1e7] \
        [--match-records 80000] [--person-records 10000] [--samples titles,people] \
        [--charts pipelines/knowledge_graph/docs]

1. Calibration: rapidfuzz ``process.cpdist`` ratio on one core (REFERENCE_FIGURES.md measured
   4.5M pairs/s on a quiet machine like ours), so noisy runs can be judged.
2. The match step alone (`score_pairs`: compare + score, 9 comparisons of which 4 fuzzy) on
   1M and 10M candidate pairs of a larger sample (``--match-records``, 80,000 by default: over
   1M candidate pairs, so every 1M-pair chunk holds distinct pairs, as a task's shard does):
   pairs/s on one core (``workers=1``) and on all cores (per core = total / cores), and on one
   core without pruning (every comparison of every pair; same matches). Record preparation is
   reported separately: it is paid once per record, not per pair.
3. Quality and time side by side with Splink (DuckDB backend) on both samples, titles
   (``match_config.json``) and people (``person_match_config.json``): the same records, the
   same normalised columns and exactly the same candidate pairs (registered with
   ``register_blocked_pairs_for_predict``); pairwise F1 after clustering at the same
   threshold. Splink is set up as its documentation advises for each kind of record (its
   forename/surname and date-of-birth comparisons for people, u from random pairs, EM
   sessions on names and dates of birth). Ends with a Markdown table of the two side by side.
4. With ``--charts DIR``: each sample's trained match weights as a PNG (the card's chart).

Ends with one JSON line of figures.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
import time
from pathlib import Path

import knowledge_graph as kg
import numpy as np
import pandas as pd
from rapidfuzz import fuzz, process

PIPELINE = Path(__file__).resolve().parents[1]
CONFIG = PIPELINE / "match_config.json"
PERSON_CONFIG = PIPELINE / "person_match_config.json"


def _say(text: str) -> None:
    print(text, flush=True)


def calibrate(prepared: kg.PreparedRecords, rng: np.random.Generator, n: int = 1_000_000):
    titles = prepared.fields["title"].strings()
    titles = np.where(pd.isna(titles), "", titles)
    left, right = rng.integers(0, len(titles), n), rng.integers(0, len(titles), n)
    a, b = titles[left].tolist(), titles[right].tolist()
    started = time.perf_counter()
    process.cpdist(a, b, scorer=fuzz.ratio, workers=1)
    return n / (time.perf_counter() - started)


def match_rate(prepared, left, right, model, config, n_pairs, workers, rng, prune=True):
    """Compare and score ``n_pairs`` candidate pairs with `score_pairs`, as a match task does.

    Each `MATCH_CHUNK_PAIRS` chunk holds distinct candidate pairs (drawn without replacement),
    as a match task's shard does, so nothing gains from a pair repeated within a chunk.
    """
    chosen = []
    for start in range(0, n_pairs, kg.MATCH_CHUNK_PAIRS):
        size = min(kg.MATCH_CHUNK_PAIRS, n_pairs - start)
        if size > len(left):
            raise SystemExit(f"{len(left)} candidate pairs cannot fill a chunk of {size}")
        chosen.append(np.sort(rng.choice(len(left), size, replace=False)))
    chosen = np.concatenate(chosen)
    pair_left, pair_right = left[chosen], right[chosen]
    started = time.perf_counter()
    scored = kg.score_pairs(
        prepared, pair_left, pair_right, model, config.threshold, workers, prune
    )
    seconds = time.perf_counter() - started
    return n_pairs / seconds, seconds, len(scored.index)


def run_ours(records, truth, config):
    """Our pipeline's steps on the whole sample, timed."""
    started = time.perf_counter()
    left, right, _, _ = kg.block_records(records, config)
    block_seconds = time.perf_counter() - started
    started = time.perf_counter()
    prepared = kg.prepare_records(records, config)
    prepare_seconds = time.perf_counter() - started
    model = kg.train_model(prepared, left, right, config)
    train_seconds = time.perf_counter() - started  # preparing included
    started = time.perf_counter()
    result = kg.match_pairs(records, prepared, left, right, model, config)
    predict_seconds = time.perf_counter() - started
    started = time.perf_counter()
    _, labels = kg.resolve_entities(records, result.matches, config)
    cluster_seconds = time.perf_counter() - started
    metrics = kg.evaluate_resolution(records, labels, truth, config)
    # Plain connected components (Splink's clustering) on the same matches, like for like.
    plain = kg.resolve_entities(
        records,
        result.matches,
        config.model_copy(update={"cluster": kg.MatchConfig.model_fields["cluster"].default}),
    )[1]
    true_labels = truth.column("entity_id").to_numpy(zero_copy_only=False)
    metrics["f1_plain_components"] = kg.pairwise_scores(plain, true_labels)["f1"]
    return {
        "left": left,
        "right": right,
        "prepared": prepared,
        "model": model,
        "block_seconds": block_seconds,
        "prepare_seconds": prepare_seconds,
        "train_seconds": train_seconds,
        "predict_seconds": predict_seconds,
        "cluster_seconds": cluster_seconds,
        "metrics": metrics,
    }


def _monotone(model) -> bool:
    """Whether no comparison's level weighs less than a worse level."""
    return all(
        np.all(np.diff(model.level_weights(column)) >= -1e-9) for column in range(len(model.names))
    )


def _splink_scores(linker, db_api, left, right, true_labels, threshold, n, cores, train_seconds):
    """Predict on our candidate pairs, cluster at the threshold, score against the truth."""
    pairs = pd.DataFrame({"match_key": "0", "join_key_l": left, "join_key_r": right})
    linker.table_management.register_blocked_pairs_for_predict(db_api.register(pairs))
    started = time.perf_counter()
    predictions = linker.inference.predict(threshold_match_probability=threshold)
    predict_seconds = time.perf_counter() - started
    predicted = predictions.as_pandas_dataframe()[["unique_id_l", "unique_id_r"]].to_numpy()
    pair_precision = (
        float(np.mean(true_labels[predicted[:, 0]] == true_labels[predicted[:, 1]]))
        if len(predicted)
        else 1.0
    )
    started = time.perf_counter()
    clusters = linker.clustering.cluster_pairwise_predictions_at_threshold(predictions, threshold)
    cluster_frame = clusters.as_pandas_dataframe()[["unique_id", "cluster_id"]]
    cluster_seconds = time.perf_counter() - started
    labels = pd.Series(cluster_frame["cluster_id"].to_numpy(), index=cluster_frame["unique_id"])
    labels = labels.reindex(np.arange(n)).to_numpy()
    pairwise = kg.pairwise_scores(labels, true_labels)
    return {
        "train_seconds": train_seconds,
        "predict_seconds": predict_seconds,
        "cluster_seconds": cluster_seconds,
        "predict_pairs_per_second_per_core": len(left) / predict_seconds / cores,
        "precision": pairwise["precision"],
        "recall": pairwise["recall"],
        "f1": pairwise["f1"],
        "cluster_f1": kg.bcubed_scores(labels, true_labels)["f1"],
        "predicted_pairs": len(predicted),
        "pair_precision": pair_precision,
    }


def run_splink_people(records, prepared, left, right, true_labels, threshold, cores):
    """Splink on the person sample, configured as its documentation advises for people."""
    import splink.comparison_level_library as cll
    import splink.comparison_library as cl
    from splink import DuckDBAPI, Linker, SettingsCreator, block_on

    fields = prepared.fields
    days = fields["date_of_birth"].days
    born = pd.Series(days.astype("datetime64[D]").astype(str))
    born[days == np.iinfo(np.int32).min] = None
    line_2 = records.column("address_2").to_pandas().str.lower().str.split().str.join(" ")
    frame = pd.DataFrame(
        {
            "unique_id": np.arange(prepared.n),
            "given_name": fields["given_name"].strings(),
            "surname": fields["surname"].strings(),
            "date_of_birth": born,
            "address_1": fields["address_1"].strings(),
            "address_2": line_2,
            "street_number": fields["street_number"].strings(),
            "postcode": fields["postcode"].strings(),
        }
    )
    address = cl.CustomComparison(
        comparison_levels=[
            cll.NullLevel("address_1"),
            cll.ExactMatchLevel("address_1"),
            cll.ColumnsReversedLevel("address_1", "address_2"),
            cll.JaroWinklerLevel("address_1", 0.9),
            cll.JaroWinklerLevel("address_1", 0.7),
            cll.ElseLevel(),
        ],
        output_column_name="address_1",
    )
    settings = SettingsCreator(
        link_type="dedupe_only",
        comparisons=[
            cl.ForenameSurnameComparison("given_name", "surname"),
            cl.DateOfBirthComparison("date_of_birth", input_is_string=True),
            address,
            cl.DamerauLevenshteinAtThresholds("street_number", [1]),
            cl.DamerauLevenshteinAtThresholds("postcode", [1]),
        ],
        blocking_rules_to_generate_predictions=[block_on("postcode")],
        retain_intermediate_calculation_columns=False,
    )
    db_api = DuckDBAPI()
    started = time.perf_counter()
    linker = Linker(db_api.register(frame), settings, log_level=logging.WARNING)
    linker.training.estimate_probability_two_random_records_match(
        [block_on("given_name", "surname", "date_of_birth")], recall=0.8
    )
    linker.training.estimate_u_using_random_sampling(max_pairs=1e6, seed=1)
    linker.training.estimate_parameters_using_expectation_maximisation(
        block_on("given_name", "surname")
    )
    linker.training.estimate_parameters_using_expectation_maximisation(block_on("date_of_birth"))
    train_seconds = time.perf_counter() - started
    return _splink_scores(
        linker, db_api, left, right, true_labels, threshold, prepared.n, cores, train_seconds
    )


def run_splink_titles(prepared, left, right, true_labels, threshold, cores):
    """Splink on the title sample, with the comparisons closest to ours."""
    import splink.comparison_level_library as cll
    import splink.comparison_library as cl
    from splink import DuckDBAPI, Linker, SettingsCreator, block_on

    fields = prepared.fields
    frame = pd.DataFrame(
        {
            "unique_id": np.arange(prepared.n),
            "title": fields["title"].strings(),
            "title_tokens": fields["title_tokens"].strings(),
            "original_title": fields["original_title"].strings(),
            "directors": fields["directors"].strings(),
            "cast_members": [
                None if length == 0 else [int(c) for c in codes[:length]]
                for codes, length in zip(
                    fields["cast"].lists, fields["cast"].list_lengths, strict=True
                )
            ],
            "year": fields["year"].numbers,
            "runtime": fields["runtime"].numbers,
            "kind": fields["kind"].codes.astype(float),
            "country": fields["country"].codes.astype(float),
        }
    )
    for column in ("kind", "country"):
        frame.loc[frame[column] < 0, column] = np.nan

    def numeric(column, tolerances):
        return cl.CustomComparison(
            comparison_levels=[
                cll.NullLevel(column),
                cll.ExactMatchLevel(column),
                *(cll.AbsoluteDifferenceLevel(column, t) for t in tolerances),
                cll.ElseLevel(),
            ],
            output_column_name=column,
        )

    settings = SettingsCreator(
        link_type="dedupe_only",
        comparisons=[
            cl.JaroWinklerAtThresholds("title", [0.95, 0.88, 0.8]).configure(
                term_frequency_adjustments=True
            ),
            cl.JaroWinklerAtThresholds("title_tokens", [0.9, 0.75]),
            cl.LevenshteinAtThresholds("original_title", [1, 3]),
            cl.JaroWinklerAtThresholds("directors", [0.9, 0.7]),
            cl.ArrayIntersectAtSizes("cast_members", [3, 2, 1]),
            numeric("year", [1, 3]),
            numeric("runtime", [5, 15]),
            cl.ExactMatch("kind"),
            cl.ExactMatch("country"),
        ],
        blocking_rules_to_generate_predictions=[block_on("title")],
        retain_intermediate_calculation_columns=False,
    )
    db_api = DuckDBAPI()
    started = time.perf_counter()
    linker = Linker(db_api.register(frame), settings, log_level=logging.WARNING)
    linker.training.estimate_probability_two_random_records_match(
        [block_on("title", "year")], recall=0.7
    )
    linker.training.estimate_u_using_random_sampling(max_pairs=1e6, seed=1)
    linker.training.estimate_parameters_using_expectation_maximisation(block_on("title"))
    linker.training.estimate_parameters_using_expectation_maximisation(block_on("directors"))
    train_seconds = time.perf_counter() - started
    return _splink_scores(
        linker, db_api, left, right, true_labels, threshold, prepared.n, cores, train_seconds
    )


def compare_on_sample(name, sample, config, args, cores, figures):
    """Ours and Splink on one sample: same records, same candidate pairs; print both."""
    records = kg.order_records(sample.records, config)
    truth = kg.order_records(sample.truth, config)
    true_labels = truth.column("entity_id").to_numpy(zero_copy_only=False)
    ours = run_ours(records, truth, config)
    metrics, model = ours["metrics"], ours["model"]
    ours_total = ours["train_seconds"] + ours["predict_seconds"] + ours["cluster_seconds"]
    row = {
        "sample": name,
        "records": records.num_rows,
        "candidate_pairs": len(ours["left"]),
        "blocking_recall": metrics["blocking_recall"],
        "ours": metrics,
        "ours_seconds": ours_total,
        "monotone": _monotone(model),
    }
    _say(f"{name}: {records.num_rows} records, {len(ours['left'])} candidate pairs")
    _say(f"  ours:   F1 {metrics['f1']:.4f} (P {metrics['precision']:.4f} R "
         f"{metrics['recall']:.4f}), B-cubed F1 {metrics['cluster_f1']:.4f}, F1 with plain "
         f"connected components {metrics['f1_plain_components']:.4f}, blocking recall "
         f"{metrics['blocking_recall']:.4f}; weights monotone: {row['monotone']}; train "
         f"{ours['train_seconds']:.2f} s, match {ours['predict_seconds']:.2f} s, cluster "
         f"{ours['cluster_seconds']:.2f} s")  # fmt: skip
    figures |= {
        f"{name}_ours_f1": round(metrics["f1"], 4),
        f"{name}_ours_precision": round(metrics["precision"], 4),
        f"{name}_ours_recall": round(metrics["recall"], 4),
        f"{name}_ours_cluster_f1": round(metrics["cluster_f1"], 4),
        f"{name}_ours_f1_plain_components": round(metrics["f1_plain_components"], 4),
        f"{name}_blocking_recall": round(metrics["blocking_recall"], 4),
        f"{name}_candidate_pairs": len(ours["left"]),
        f"{name}_ours_seconds": round(ours_total, 2),
        f"{name}_weights_monotone": row["monotone"],
    }
    if args.charts:
        path = Path(args.charts) / f"match_weights_{name}.png"
        path.parent.mkdir(parents=True, exist_ok=True)
        title = f"Match weights trained on the {name} sample ({records.num_rows:,} records)"
        kg.match_weights_figure(model, config.fields, title).savefig(path, dpi=110)
        _say(f"  chart: {path}")
    if args.skip_splink:
        return row
    try:
        if name == "titles":
            splink = run_splink_titles(
                ours["prepared"], ours["left"], ours["right"], true_labels, config.threshold,
                cores,
            )  # fmt: skip
        else:
            splink = run_splink_people(
                records, ours["prepared"], ours["left"], ours["right"], true_labels,
                config.threshold, cores,
            )  # fmt: skip
    except ImportError as error:
        _say(f"splink not installed ({error}); run with --group benchmark")
        return row
    splink_total = splink["train_seconds"] + splink["predict_seconds"] + splink["cluster_seconds"]
    _say(f"  splink: F1 {splink['f1']:.4f} (P {splink['precision']:.4f} R "
         f"{splink['recall']:.4f}), B-cubed F1 {splink['cluster_f1']:.4f}; train "
         f"{splink['train_seconds']:.2f} s, predict {splink['predict_seconds']:.2f} s "
         f"({splink['predict_pairs_per_second_per_core'] / 1e3:.0f}k pairs/s per core), "
         f"cluster {splink['cluster_seconds']:.2f} s; {splink['predicted_pairs']} pairs "
         f"predicted, {splink['pair_precision']:.4f} of them true")  # fmt: skip
    row |= {"splink": splink, "splink_seconds": splink_total}
    figures |= {
        f"{name}_splink_f1": round(splink["f1"], 4),
        f"{name}_splink_precision": round(splink["precision"], 4),
        f"{name}_splink_recall": round(splink["recall"], 4),
        f"{name}_splink_cluster_f1": round(splink["cluster_f1"], 4),
        f"{name}_splink_seconds": round(splink_total, 2),
        f"{name}_splink_predict_pairs_per_s_per_core": round(
            splink["predict_pairs_per_second_per_core"]
        ),
    }
    return row


def side_by_side(rows) -> str:
    """The quality comparison as a Markdown table (the README's)."""
    lines = [
        "| sample | records | candidate pairs | ours: F1 (P / R) | Splink: F1 (P / R) "
        "| ours: B-cubed F1 | Splink: B-cubed F1 |",
        "|---|---|---|---|---|---|---|",
    ]
    for row in rows:
        ours, splink = row["ours"], row.get("splink")

        def scores(m):
            return f"{m['f1']:.4f} ({m['precision']:.4f} / {m['recall']:.4f})" if m else "not run"

        lines.append(
            f"| {row['sample']} | {row['records']:,} | {row['candidate_pairs']:,} "
            f"| {scores(ours)} | {scores(splink)} | {ours['cluster_f1']:.4f} "
            f"| {splink['cluster_f1']:.4f} |"
            if splink
            else f"| {row['sample']} | {row['records']:,} | {row['candidate_pairs']:,} "
            f"| {scores(ours)} | not run | {ours['cluster_f1']:.4f} | not run |"
        )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=20_000, help="title sample size")
    parser.add_argument("--person-records", type=int, default=10_000, help="person sample size")
    parser.add_argument(
        "--match-records",
        type=int,
        default=80_000,
        help="records of the sample whose candidate pairs feed the match-step measurement "
        "(enough for 1M distinct pairs per chunk)",
    )
    parser.add_argument("--sizes", default="1e6,1e7", help="match-step sizes in pairs ('' none)")
    parser.add_argument(
        "--samples", default="titles,people", help="samples of the quality comparison"
    )
    parser.add_argument("--charts", help="folder for each sample's match-weights chart (PNG)")
    parser.add_argument("--skip-splink", action="store_true")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    cores = kg.available_cores()
    rng = np.random.default_rng(0)
    config = kg.load_match_config(CONFIG)
    fuzzy = [
        f.name
        for f in config.fields
        if f.comparator in ("jaro_winkler", "levenshtein", "damerau_levenshtein", "token_sort")
    ]
    _say(f"machine: {cores} cores, load average {os.getloadavg()[0]:.2f}")
    _say(f"title comparisons: {len(config.fields)} ({len(fuzzy)} fuzzy: {', '.join(fuzzy)})")
    figures: dict[str, object] = {"cores": cores, "fuzzy_comparisons": len(fuzzy)}
    sizes = [int(float(s)) for s in args.sizes.split(",") if s]
    if sizes:
        larger = kg.order_records(
            kg.generate_title_records(n_records=args.match_records).records, config
        )
        started = time.perf_counter()
        larger_left, larger_right, _, _ = kg.block_records(larger, config)
        prepare_started = time.perf_counter()
        larger_prepared = kg.prepare_records(larger, config)
        prepare_us = (time.perf_counter() - prepare_started) / max(larger.num_rows, 1) * 1e6
        larger_model = kg.train_model(larger_prepared, larger_left, larger_right, config)
        match_inputs = (larger_prepared, larger_left, larger_right, larger_model)
        calibration = calibrate(larger_prepared, rng)
        _say(f"calibration: cpdist ratio, 1 worker: {calibration / 1e6:.2f}M pairs/s "
             "(quiet-machine reference 4.5M)")  # fmt: skip
        _say(f"match-step sample: {larger.num_rows} records, {len(larger_left)} candidate "
             f"pairs (blocked, prepared and trained in {time.perf_counter() - started:.1f} s; "
             f"prepare {prepare_us:.1f} us/record)")  # fmt: skip
        figures |= {
            "calibration_cpdist_ratio_pairs_per_s": round(calibration),
            "match_sample_records": larger.num_rows,
            "match_sample_candidate_pairs": len(larger_left),
            "prepare_us_per_record": round(prepare_us, 2),
        }
    for size in sizes:
        one, seconds_one, matched = match_rate(*match_inputs, config, size, 1, rng)
        every, _, _ = match_rate(*match_inputs, config, size, -1, rng)
        unpruned, _, _ = match_rate(*match_inputs, config, size, 1, rng, prune=False)
        label = f"{size / 1e6:g}M"
        _say(f"match step {label} pairs: 1 core {one / 1e6:.2f}M pairs/s ({seconds_one:.2f} s); "
             f"{cores} cores {every / 1e6:.2f}M pairs/s = {every / cores / 1e6:.2f}M per core; "
             f"{matched} matches; unpruned 1 core {unpruned / 1e6:.2f}M pairs/s")  # fmt: skip
        figures[f"match_{label}_pairs_per_s_1_core"] = round(one)
        figures[f"match_{label}_pairs_per_s_1_core_unpruned"] = round(unpruned)
        figures[f"match_{label}_pairs_per_s_all_cores"] = round(every)
        figures[f"match_{label}_pairs_per_s_per_core"] = round(every / cores)

    samples = {
        "titles": lambda: (kg.generate_title_records(n_records=args.records), config),
        "people": lambda: (
            kg.generate_person_records(n_records=args.person_records),
            kg.load_match_config(PERSON_CONFIG),
        ),
    }
    rows = []
    for name in (s for s in args.samples.split(",") if s):
        sample, sample_config = samples[name]()
        rows.append(compare_on_sample(name, sample, sample_config, args, cores, figures))
    if rows:
        _say("")
        _say(side_by_side(rows))
    print(json.dumps(figures), flush=True)


if __name__ == "__main__":
    sys.exit(main())
