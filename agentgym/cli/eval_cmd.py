"""``agentgym eval``: evaluate a policy on a suite; resumable.

    agentgym eval --suite core-v0 --policy oracle --episodes-per-task 4 --out runs/oracle
    agentgym eval --env GuessNumber-v0 --split val --n-tasks 20 --policy random --out runs/rnd
    agentgym eval --suite core-v0 --policy hf:runs/mytrain --out runs/mytrain-eval --max-tasks 10
    agentgym eval --suite core-v0 --policy hf:runs/mytrain/checkpoints/iter-000005 -k 8 --out runs/iter5
    agentgym eval --suite core-v0 --policy openai:http://127.0.0.1:8000/v1#m --workers 8 --ray auto --out runs/r

A training run's directory (`agentgym train --out runs/mytrain`) loads its final
weights (runs/mytrain/final/), or its newest checkpoint while it has none;
runs/mytrain/checkpoints/iter-NNNNNN/ picks a checkpoint.

Decoding: greedy (temperature 0) with one episode per task; with -k > 1 (pass@k)
the policy samples at its own temperature (the one saved with a trained model,
i.e. the one it was trained at, else 1.0). --policy-kwargs '{"temperature": T}'
overrides both. results.json records the decoding used.

Writes episodes.jsonl, results.json, report.md, report.html and plots/ into
--out; rerunning the same command continues an interrupted run. A rerun that
differs in what the episodes depend on (settings, policy, decoding, the env's
version, tasks or source, agentgym's version) is refused with the differences
named; --overwrite discards the recorded episodes instead.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path


def add_arguments(p: argparse.ArgumentParser) -> None:
    what = p.add_argument_group("what to evaluate")
    what.add_argument("--suite", default=None, help="suite name (default: core-v0; see `agentgym list`)")
    what.add_argument("--env", default=None, help="evaluate one env id instead of a suite")
    what.add_argument("--split", default="val", choices=["train", "val", "test"],
                      help="split, with --env (default: %(default)s)")
    what.add_argument("--n-tasks", type=int, default=20, help="tasks, with --env (default: %(default)s)")
    what.add_argument("--env-kwargs", default="{}", help="JSON constructor arguments, with --env (default: %(default)s)")
    what.add_argument("--max-tasks", type=int, default=None,
                      help="cap on the tasks of every suite entry (default: all of them)")
    who = p.add_argument_group("the policy")
    who.add_argument("--policy", required=True,
                     help="hf:PATH_OR_NAME (a saved model, a training run's dir, a checkpoints/iter-NNNNNN dir, a "
                          "hub id), openai:BASE_URL#MODEL, oracle, random, tiny, or a bare directory")
    who.add_argument("--policy-kwargs", default="{}",
                     help='JSON keyword arguments of the policy, e.g. \'{"temperature": 0.7}\' (win over the '
                          "decoding defaults) (default: %(default)s)")
    how = p.add_argument_group("how")
    how.add_argument("--episodes-per-task", "-k", type=int, default=1,
                     help="episodes per task; pass@k is reported for k <= this; 1 decodes greedily, more sample "
                          "(default: %(default)s)")
    how.add_argument("--out", required=True, help="output directory (an existing one is resumed)")
    how.add_argument("--seed", type=int, default=0, help="seed of the episodes and the bootstrap (default: %(default)s)")
    how.add_argument("--max-turns", type=int, default=None, help="override every env's turn limit (default: the env's)")
    how.add_argument("--history", default="full",
                     help="'full' or the number of past turns the policy sees (default: %(default)s)")
    how.add_argument("--workers", type=int, default=1,
                     help="chunks run concurrently (HTTP policies, remote envs) (default: %(default)s)")
    how.add_argument("--chunk-tasks", type=int, default=8,
                     help="tasks per chunk (batched together; fixes seeds) (default: %(default)s)")
    how.add_argument("--remote", default=None,
                     help="run the envs on an `agentgym serve` server at this URL (default: locally)")
    how.add_argument("--ray", nargs="?", const="", default=None, metavar="ADDRESS",
                     help="run the envs in Ray actors (pip install 'agentgym[distributed]'); ADDRESS joins a cluster "
                          "('auto', 'ray://host:10001'), none joins RAY_ADDRESS or starts a local one; "
                          "same episodes and results as a local run")
    how.add_argument("--no-resume", action="store_true", help="refuse to continue an existing --out")
    how.add_argument("--overwrite", action="store_true",
                     help="discard what an existing --out holds (episodes, results, reports) and start afresh")
    how.add_argument("--no-progress", action="store_true", help="no progress bar")
    how.add_argument("--confidence", type=float, default=0.95,
                     help="coverage of the bootstrap intervals (default: %(default)s)")
    how.add_argument("--bootstrap", type=int, default=2000, help="bootstrap replicates (default: %(default)s)")


def _json_arg(text: str, name: str) -> dict:
    from agentgym.errors import ConfigError

    try:
        value = json.loads(text)
    except json.JSONDecodeError as e:
        raise ConfigError(f"{name} must be a JSON object, got {text!r} ({e}).") from e
    if not isinstance(value, dict):
        raise ConfigError(f"{name} must be a JSON object, got {text!r}.")
    return value


def run(args: argparse.Namespace) -> int:
    from agentgym.errors import ConfigError
    from agentgym.evaluation import evaluate
    from agentgym.evaluation.report import _md_table, figures_table
    from agentgym.suites import SuiteEntry

    if args.env and args.suite:
        raise ConfigError("pass either --suite or --env, not both.")
    suite = [SuiteEntry(args.env, args.split, args.n_tasks, _json_arg(args.env_kwargs, "--env-kwargs"))] if args.env else (args.suite or "core-v0")
    policy_kwargs = _json_arg(args.policy_kwargs, "--policy-kwargs")
    label = args.policy + (f" {json.dumps(policy_kwargs, sort_keys=True)}" if policy_kwargs else "")
    history = int(args.history) if args.history.isdigit() else args.history
    try:
        results = evaluate(
            args.policy, suite, episodes_per_task=args.episodes_per_task, out=args.out, max_tasks=args.max_tasks,
            seed=args.seed, max_turns=args.max_turns, history=history, workers=args.workers,
            chunk_tasks=args.chunk_tasks, remote=args.remote, resume=not args.no_resume, overwrite=args.overwrite,
            policy_kwargs=policy_kwargs, progress=not args.no_progress, confidence=args.confidence,
            n_bootstrap=args.bootstrap, policy_label=label, ray=args.ray,
        )
    except KeyboardInterrupt:
        print(f"interrupted: finished episodes are in {Path(args.out) / 'episodes.jsonl'}; rerun the same command to resume.")
        return 130
    print(_md_table(*figures_table(results)))
    out = Path(args.out)
    print(f"\nwrote {out / 'results.json'}, {out / 'report.md'}, {out / 'report.html'}")
    return 0
