"""`python -m scrapers --help` and `python -m workers --help`, and every subcommand's, are
written for the person running them: what it does, its options, an example, and none of
the code's own names."""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys

import pytest

from nocturne.settings import ROOT
from scrapers.cli import build_parser as scrapers_parser
from workers.__main__ import build_parser as workers_parser

# What a user has no use for: function calls, RST literals, module paths and files,
# argparse's own default placeholders, and the job and class names of the code.
INTERNAL = [
    re.compile(r"\b[a-z]+_[a-z_]+\("),  # scrape_city(...)
    re.compile(r"``"),
    re.compile(r"\b(?:scrapers|workers|nocturne|arq)\.[a-z_]+"),  # scrapers.runner
    re.compile(r"\b[\w/]+\.py\b"),
    re.compile(r"\b[a-z]+(?:/[a-z_]+)+/"),  # workers/commands/
    re.compile(r"\{[a-z0-9_,]+\}"),  # {parse,scrape,load}: name a metavar instead
    re.compile(r"\b(?:CITIES|MAX_PAGES|SOURCES)\b"),  # dest names as placeholders
    re.compile(
        r"\b(?:scrape_city|scrape_all|cleanup_old_events|send_weekly_digests|save_events"
        r"|load_files_to_db|WorkerSettings|set_defaults|register|handler|ctx|RULES_VERSION)\b"
    ),
]


def _subcommands(parser: argparse.ArgumentParser) -> list[str]:
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            return list(action.choices)
    raise AssertionError("no subcommands")


def _help(module: str, *args: str) -> str:
    env = {**os.environ, "COLUMNS": "100", "PYTHONPATH": str(ROOT)}
    done = subprocess.run(
        [sys.executable, "-m", module, *args, "--help"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    assert done.stderr == ""
    return done.stdout


CASES = [
    ("scrapers", ()),
    *(("scrapers", (name,)) for name in _subcommands(scrapers_parser())),
    ("workers", ()),
    *(("workers", (name,)) for name in _subcommands(workers_parser())),
]


@pytest.mark.parametrize(("module", "args"), CASES, ids=[" ".join([m, *a]) for m, a in CASES])
def test_help_has_an_example_and_no_internal_names(module: str, args: tuple[str, ...]) -> None:
    text = _help(module, *args)
    command = " ".join(["python -m", module, *args])
    # An example, after a heading that says so, that runs this very command.
    examples = text.split("\nexample", 1)[-1]
    pattern = rf"^(?: +|s?: ){re.escape(command)}(?: |$)"  # "example: ..." or indented
    assert "\nexample" in text and re.search(pattern, examples, re.M), text
    for pattern in INTERNAL:
        assert not pattern.search(text), f"{pattern.pattern!r} in:\n{text}"
    if not args:  # the top level names every command, with a line on what it does
        for name in _subcommands(scrapers_parser() if module == "scrapers" else workers_parser()):
            assert re.search(rf"^ +{name} +\S", text, re.M), f"{name} not described:\n{text}"


def test_every_option_is_explained() -> None:
    for parser in (scrapers_parser(), workers_parser()):
        for name in _subcommands(parser):
            sub = next(
                a for a in parser._actions if isinstance(a, argparse._SubParsersAction)
            ).choices[name]
            for action in sub._actions:
                if action.option_strings or action.dest != "help":
                    assert action.help, f"{parser.prog} {name}: {action.dest} has no help"


def test_workers_run_without_redis_says_what_to_do() -> None:
    env = {k: v for k, v in os.environ.items() if k.upper() != "REDIS_URL"}
    done = subprocess.run(
        [sys.executable, "-m", "workers", "run"],
        cwd=ROOT,
        env={**env, "PYTHONPATH": str(ROOT), "REDIS_URL": ""},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2
    assert "REDIS_URL is not set" in done.stderr
    assert "the app runs the jobs itself" in done.stderr
