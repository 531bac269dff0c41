#!/usr/bin/env bash
# The quickstart (README's first command): on a fresh clone, set up, then on the
# embedded default (AskToAct, easy; a tiny model on the CPU):
#   1. warm-start a tiny model by behaviour cloning on expert episodes   (agentgym sft)
#   2. train it with GiGPO                                               (agentgym train)
#   3. evaluate the untrained model, the warm start, the trained agent and the oracle
#      on the same validation tasks                                      (agentgym eval)
#   4. compare them, with confidence intervals and significance          (agentgym compare)
#
#   bash scripts/quickstart.sh [OUT]          # default OUT=runs/quickstart
#   QUICKSTART_ITERATIONS=10 bash scripts/quickstart.sh   # a shorter RL phase
#
# Every step resumes: rerunning after an interruption continues where it stopped.
set -euo pipefail
cd "$(dirname "$0")/.."
OUT=${1:-runs/quickstart}
# Sized for ~10 minutes on 2 CPU cores; the full demo (scripts/demo_asktoact.sh,
# configs/asktoact_easy_*.toml) uses 3,000 SFT episodes and 30 RL iterations.
SFT_TASKS=${QUICKSTART_SFT_TASKS:-1000}
ITERATIONS=${QUICKSTART_ITERATIONS:-15}
EVAL_TASKS=${QUICKSTART_EVAL_TASKS:-50}
export TOKENIZERS_PARALLELISM=false HF_HUB_OFFLINE=1

bash scripts/setup.sh
start=$(date +%s)
step() { printf '\n\033[1m== %s ==\033[0m\n' "$*"; }

step "1/4 behaviour cloning on $SFT_TASKS scripted-expert episodes"
if [ ! -f "$OUT/sft/config.json" ] || [ ! -f "$OUT/sft/model.safetensors" ]; then
  agentgym sft --config configs/asktoact_easy_sft.toml --tasks "$SFT_TASKS" --out_dir "$OUT/sft"
else
  echo "found $OUT/sft"
fi

step "2/4 GiGPO on AskToAct (easy), $ITERATIONS iterations"
resume=false; [ -d "$OUT/rl" ] && resume=true
agentgym train --config configs/asktoact_easy_gigpo.toml --policy "hf:$OUT/sft" \
  --out_dir "$OUT/rl" --iterations "$ITERATIONS" --resume "$resume"

step "3/4 evaluation on $EVAL_TASKS validation tasks"
ev() {  # name policy
  agentgym eval --env AskToAct-v0 --split val --n-tasks "$EVAL_TASKS" --env-kwargs '{"difficulty": "easy"}' \
    --max-turns 12 --history 2 --policy "$2" --policy-kwargs '{"temperature": 0.0}' -k 1 \
    --out "$OUT/eval/$1" --no-progress > /dev/null
  echo "evaluated $1"
}
ev untrained "tiny"
ev warm_start "hf:$OUT/sft"
ev trained "hf:$OUT/rl/final"
agentgym eval --env AskToAct-v0 --split val --n-tasks "$EVAL_TASKS" --env-kwargs '{"difficulty": "easy"}' \
  --max-turns 12 --policy oracle -k 1 --out "$OUT/eval/oracle" --no-progress > /dev/null
echo "evaluated oracle"

step "4/4 comparison"
agentgym compare "$OUT/eval/untrained" "$OUT/eval/warm_start" "$OUT/eval/trained" "$OUT/eval/oracle" --out "$OUT/compare"
end=$(date +%s)
echo
echo "learning curve: $OUT/rl/learning_curve.png"
echo "reports:        $OUT/compare/compare.md, $OUT/eval/*/report.html"
echo "total time:     $((end - start)) s (after set-up)"
