"""Run the judge-attack probe suite against a judge and print false-positive rates.

Each attack (empty answer, lone ':', 'Thought process:', 'Let's solve this step
by step', restating the question, confident wrong answers, addressing the
grader, very long answers, another language, the reference's format without its
content) is answered for every probe question; the table gives the fraction the
judge accepted, without and with agentgym's default defences, plus the
true-positive rate on correct answers.

    python scripts/judge_probe.py --judge agentgym.rewards.scripted:GullibleJudge
    python scripts/judge_probe.py --judge hf:smollm2-135m --max_new_tokens 48
    python scripts/judge_probe.py --judge hf:smollm2-135m --verdict logprob   # one forward pass per verdict
    python scripts/judge_probe.py --judge openai:http://127.0.0.1:8000/v1#smollm2 --k 3 --temperature 0.7

``--judge`` takes any policy spec (``hf:``, ``openai:``, ...) or
``package.module:Class`` of a scripted backend; repeat it for an ensemble.
"""

from __future__ import annotations

import argparse
import json
import time

from agentgym.rewards import Defences, JudgeEnsemble, LLMJudge
from agentgym.rewards.judge import load_judge_policy
from agentgym.rewards.probes import CORRECTNESS, format_table, run_probes


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--judge", action="append", required=True, help="judge backend spec (repeat for an ensemble)")
    ap.add_argument("--k", type=int, default=1, help="samples per input (majority vote)")
    ap.add_argument("--temperature", type=float, default=0.0, help="sampling temperature of model backends")
    ap.add_argument("--max_new_tokens", type=int, default=64, help="tokens a model judge may write")
    ap.add_argument("--timeout_s", type=float, default=600.0)
    ap.add_argument("--batch_size", type=int, default=16)
    ap.add_argument("--verdict", choices=("text", "logprob"), default="text",
                    help="text: parse a VERDICT line; logprob: compare log P(YES) and log P(NO) (local models)")
    ap.add_argument("--min_mass", type=float, default=0.05,
                    help="logprob verdicts: below this P(YES)+P(NO) the verdict is unavailable")
    ap.add_argument("--json", help="also write the results here")
    args = ap.parse_args()

    backends = []
    for spec in args.judge:
        is_model = spec.split(":", 1)[0] in ("hf", "openai", "tiny")
        length = "max_tokens" if spec.startswith("openai:") else "max_new_tokens"  # the OpenAI client's name
        kw = {"temperature": args.temperature, length: args.max_new_tokens} if is_model else {}
        backend = load_judge_policy(spec, **kw)
        if args.verdict == "logprob":
            from agentgym.rewards.logprob import LogprobVerdict

            backend = LogprobVerdict(backend, min_mass=args.min_mass)
        backends.append((spec, backend))

    def build(defences: Defences) -> object:
        judges = [LLMJudge(b, CORRECTNESS, name=s, k=args.k, timeout_s=args.timeout_s, batch_size=args.batch_size,
                           defences=defences, verdict=args.verdict) for s, b in backends]
        return judges[0] if len(judges) == 1 else JudgeEnsemble(judges)

    label = " + ".join(args.judge) + (" (logprob verdict)" if args.verdict == "logprob" else "")
    results, seconds = {}, {}
    for name, defences in (("no defences", Defences.off()), ("defences (default)", Defences())):
        t0 = time.perf_counter()
        results[f"{label}: {name}"] = run_probes(build(defences))
        seconds[name] = time.perf_counter() - t0
    print(format_table(results))  # noqa: T201 (a script's output)
    print(f"\n(false-positive rate per attack; TPR on correct answers; seconds: {seconds})")  # noqa: T201
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"results": results, "seconds": seconds, "args": vars(args)}, f, indent=1)


if __name__ == "__main__":
    main()
