"""``agentgym compare DIR1 DIR2 ...``: several evaluation results side by side,
with the significance of each difference from the first (the baseline).

    agentgym compare runs/random runs/trained runs/oracle --out runs/compare

Tests (see ``agentgym.evaluation.compare``): paired over tasks when both runs
evaluated the same tasks (sign-flip permutation test, paired bootstrap CI),
unpaired otherwise (permutation test, independent bootstraps); per-env
p-values Holm-adjusted within each comparison.

Warns (on stderr, and in compare.md/compare.json) when a run differs from the
baseline in more than the policy: its decoding (greedy vs sampled, temperature),
an env's version, or an entry's tasks.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("dirs", nargs="+", help="result directories (or results.json files); the first is the baseline")
    p.add_argument("--names", default=None, help="comma-separated names (default: the directory names)")
    p.add_argument("--alpha", type=float, default=0.05, help="significance level (after Holm adjustment) (default: %(default)s)")
    p.add_argument("--bootstrap", type=int, default=4000, help="bootstrap/permutation replicates (default: %(default)s)")
    p.add_argument("--out", default=None, help="write compare.md, compare.json and compare.png here")
    p.add_argument("--json", action="store_true", help="print JSON instead of Markdown")


def run(args: argparse.Namespace) -> int:
    from agentgym.errors import ConfigError
    from agentgym.evaluation import compare_results, format_comparison, load_results
    from agentgym.evaluation.compare import comparison_warnings

    results = [load_results(d) for d in args.dirs]
    if args.names:
        names = [n.strip() for n in args.names.split(",")]
        if len(names) != len(results):
            raise ConfigError(f"--names has {len(names)} names for {len(results)} results.")
    else:
        names = [Path(d).name if Path(d).is_dir() else Path(d).parent.name for d in args.dirs]
    warnings = comparison_warnings(results, names)
    for w in warnings:  # before comparing: they also explain a "share no suite entry" error
        print(f"warning: {w}", file=sys.stderr)
    rows = compare_results(results, names, alpha=args.alpha, n_boot=args.bootstrap)
    text = format_comparison(results, names, rows, warnings)
    data = {"names": names, "dirs": args.dirs, "warnings": warnings, "differences": [r.to_dict() for r in rows]}
    if args.out:
        from agentgym.evaluation.report import success_plot

        out = Path(args.out)
        out.mkdir(parents=True, exist_ok=True)
        (out / "compare.md").write_text(text + "\n![success](compare.png)\n", encoding="utf-8")
        (out / "compare.json").write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")
        renamed = [r.model_copy(update={"policy": n}) for r, n in zip(results, names, strict=True)]
        success_plot(renamed, out / "compare.png")
    print(json.dumps(data, indent=2) if args.json else text)
    return 0
