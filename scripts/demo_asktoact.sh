#!/usr/bin/env bash
# The training demo (README "Training", BENCHMARKS.md): a tiny model is warm-started
# by behaviour cloning on scripted-expert episodes, then trained with GiGPO on
# AskToAct (easy). Validation success (100 val tasks, greedy) is logged before RL and
# every 10 iterations; the learning curve lands in OUT/rl/learning_curve.png.
#
#   bash scripts/demo_asktoact.sh [OUT]        # default OUT=runs/demo
set -euo pipefail
cd "$(dirname "$0")/.."
OUT=${1:-runs/demo}
export TOKENIZERS_PARALLELISM=false HF_HUB_OFFLINE=1

start=$(date +%s)
agentgym sft --config configs/asktoact_easy_sft.toml --out_dir "$OUT/sft"
sft_done=$(date +%s)
agentgym train --config configs/asktoact_easy_gigpo.toml --policy "hf:$OUT/sft" --out_dir "$OUT/rl" --no-progress
end=$(date +%s)
echo "SFT: $((sft_done - start)) s; RL: $((end - sft_done)) s; total $((end - start)) s"
python - "$OUT/rl/metrics.jsonl" <<'PY'
import json, sys
rows = [json.loads(line) for line in open(sys.argv[1])]
for r in rows:
    if "val/success" in r:
        print(f"after {r['iteration']:>3} RL iterations: val success {r['val/success']:.3f}  "
              f"invalid actions {r['val/invalid_frac']:.3f}  return {r['val/return']:+.3f}")
PY
