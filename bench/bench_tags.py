"""The classifier measured: precision and recall of ``after_dark`` against hand labels, and
its cost per 1,000 events beside the parse of the same pages.

    python bench/bench_tags.py             # tables; never fails on figures
    python bench/bench_tags.py --errors    # also every tune-split event it gets wrong

The labels (tests/data/after_dark_labels.csv: fixture, link, title, after_dark, reason,
split) are of events on the real pages in ../shared/fixtures. The rules were written
looking at the "tune" split only; "holdout" is the figure to believe. Single process, so
the times are per core.
"""

from __future__ import annotations

import argparse
import csv
import math
import re
import statistics
import sys
import time
from collections import Counter, defaultdict
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from scrapers.event import ScrapedEvent  # noqa: E402
from scrapers.tags import RULES_VERSION, classify_scraped  # noqa: E402
from tests.shared.test_real_fixtures import SHARED, parse  # noqa: E402

LABELS = ROOT / "tests" / "data" / "after_dark_labels.csv"


def load_labels(path: Path = LABELS) -> dict[tuple[str, str], dict[str, str]]:
    """(fixture, link) -> the label row."""
    with path.open(newline="", encoding="utf-8") as f:
        return {(row["fixture"], row["link"]): row for row in csv.DictReader(f)}


def labelled_events(
    labels: dict[tuple[str, str], dict[str, str]],
) -> list[tuple[dict[str, str], ScrapedEvent]]:
    """Each labelled event of the pages, with its label (a link listed twice on one page,
    two dates of one show, is judged twice)."""
    pairs = []
    for fixture in sorted({f for f, _ in labels}):
        for event in parse(fixture):
            row = labels.get((fixture, event.link))
            if row is not None:
                pairs.append((row, event))
    return pairs


def scores(pairs: list[tuple[bool, bool]]) -> tuple[int, float | None, float | None]:
    """(n, precision, recall) of (label, predicted) pairs; None where undefined."""
    tp = sum(label and got for label, got in pairs)
    predicted = sum(got for _, got in pairs)
    actual = sum(label for label, _ in pairs)
    return (
        len(pairs),
        tp / predicted if predicted else None,
        tp / actual if actual else None,
    )


def _features(event: ScrapedEvent) -> list[str]:
    """Words of the title, categories, venue and the start of the description, plus the
    local hour and the source: what a small model would see."""
    text = " ".join([event.title, *event.tags, event.venue or "", (event.description or "")[:300]])
    words = re.findall(r"[a-z0-9]+", text.casefold())
    hour = "date-only" if event.date_only else f"hour-{event.start.hour}"
    return [*words, hour, f"source-{event.source}"]


def naive_bayes(train: list[tuple[bool, ScrapedEvent]]) -> Callable[[ScrapedEvent], bool]:
    """A multinomial naive Bayes over :func:`_features`, trained on ``train``: the "tiny
    model from the labelled file" the rules are measured against."""
    counts = {True: Counter[str](), False: Counter[str]()}
    docs = Counter[bool]()
    for label, event in train:
        counts[label].update(_features(event))
        docs[label] += 1
    vocabulary = set(counts[True]) | set(counts[False])
    totals = {label: sum(c.values()) + len(vocabulary) for label, c in counts.items()}

    def predict(event: ScrapedEvent) -> bool:
        score = {
            label: math.log(docs[label] / sum(docs.values()))
            + sum(
                math.log((counts[label][w] + 1) / totals[label])
                for w in _features(event)
                if w in vocabulary
            )
            for label in (True, False)
        }
        return score[True] > score[False]

    return predict


def _fmt(value: float | None) -> str:
    return "  -  " if value is None else f"{value:.3f}"


def _median_seconds(fn: Callable[[], object], runs: int = 7) -> float:
    fn()
    samples = []
    for _ in range(runs):
        t0 = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - t0)
    return statistics.median(samples)


def main() -> int:
    args = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    args.add_argument("--errors", action="store_true", help="list the tune split's mistakes")
    opts = args.parse_args()
    if not SHARED.is_dir():
        print(f"no real pages at {SHARED}: nothing to measure")
        return 0
    labels = load_labels()
    pairs = labelled_events(labels)
    judged = [(row, event, classify_scraped(event)) for row, event in pairs]

    print(f"after_dark against {len(judged)} labelled events (rules version {RULES_VERSION})")
    print(f"{'split':8} {'source':11} {'n':>4} {'yes':>4} {'precision':>9} {'recall':>7}")
    # A weekly night's occurrences can fall in both splits; "unseen" keeps the holdout
    # events whose title never appears in the tune split.
    tuned_titles = {e.title.casefold() for r, e, _ in judged if r["split"] == "tune"}
    splits = {
        "tune": [t for t in judged if t[0]["split"] == "tune"],
        "holdout": [t for t in judged if t[0]["split"] == "holdout"],
        "unseen": [
            t
            for t in judged
            if t[0]["split"] == "holdout" and t[1].title.casefold() not in tuned_titles
        ],
    }
    for split, rows in splits.items():
        by_source: dict[str, list[tuple[bool, bool]]] = defaultdict(list)
        for row, _, verdict in rows:
            by_source[row["fixture"].split("/")[0]].append(
                (row["after_dark"] == "yes", verdict.after_dark)
            )
        for source, got in [
            *sorted(by_source.items()),
            ("all", [p for v in by_source.values() for p in v]),
        ]:
            n, precision, recall = scores(got)
            yes = sum(label for label, _ in got)
            print(f"{split:8} {source:11} {n:>4} {yes:>4} {_fmt(precision):>9} {_fmt(recall):>7}")
    if opts.errors:
        for row, event, verdict in judged:
            if row["split"] == "tune" and verdict.after_dark != (row["after_dark"] == "yes"):
                print(
                    f"  wrong: {event.title[:60]!r} labelled {row['after_dark']} "
                    f"({row['reason']}); said {verdict.reasons}"
                )

    model = naive_bayes(
        [(row["after_dark"] == "yes", event) for row, event in pairs if row["split"] == "tune"]
    )
    held = [
        (row["after_dark"] == "yes", event) for row, event in pairs if row["split"] == "holdout"
    ]
    n, precision, recall = scores([(label, model(event)) for label, event in held])
    print(
        f"\nfor comparison, naive Bayes trained on the tune split: holdout n {n} "
        f"precision {_fmt(precision)} recall {_fmt(recall)}"
    )

    pages = sorted({row["fixture"] for row in labels.values()})
    events = [event for page in pages for event in parse(page)]
    parse_s = _median_seconds(lambda: [parse(page) for page in pages])
    classify_s = _median_seconds(lambda: [classify_scraped(event) for event in events])
    per_k = 1000 / len(events)
    print(
        f"\n{len(events)} events on {len(pages)} pages: parse {parse_s * per_k * 1000:.1f} ms "
        f"per 1,000 events, classify {classify_s * per_k * 1000:.1f} ms per 1,000 "
        f"({classify_s / parse_s:.2f}x the parse)"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
