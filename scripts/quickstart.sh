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
# The training demo's configs (configs/asktoact_easy_*.toml): ~6 min of behaviour
# cloning and ~11 min of GiGPO on 2 CPU cores. QUICKSTART_SFT_TASKS and
# QUICKSTART_ITERATIONS shrink it (a smoke run; the agent then learns less).
SFT_TASKS=${QUICKSTART_SFT_TASKS:-}
ITERATIONS=${QUICKSTART_ITERATIONS:-}
EVAL_TASKS=${QUICKSTART_EVAL_TASKS:-200}
export TOKENIZERS_PARALLELISM=false HF_HUB_OFFLINE=1

bash scripts/setup.sh
start=$(date +%s)
step() { printf '\n\033[1m== %s ==\033[0m\n' "$*"; }

step "1/4 behaviour cloning on scripted-expert episodes (configs/asktoact_easy_sft.toml)"
if [ ! -f "$OUT/sft/config.json" ] || [ ! -f "$OUT/sft/model.safetensors" ]; then
  agentgym sft --config configs/asktoact_easy_sft.toml ${SFT_TASKS:+--tasks "$SFT_TASKS"} --out_dir "$OUT/sft"
else
  echo "found $OUT/sft"
fi

step "2/4 GiGPO on AskToAct (easy) (configs/asktoact_easy_gigpo.toml)"
resume=false; [ -d "$OUT/rl" ] && resume=true
agentgym train --config configs/asktoact_easy_gigpo.toml --policy "hf:$OUT/sft" \
  --out_dir "$OUT/rl" ${ITERATIONS:+--iterations "$ITERATIONS"} --resume "$resume"

step "3/4 evaluation on $EVAL_TASKS validation tasks"
ev() {  # name policy
  agentgym eval --env AskToAct-v0 --split val --n-tasks "$EVAL_TASKS" --env-kwargs '{"difficulty": "easy"}' \
    --max-turns 12 --policy "$2" --policy-kwargs '{"temperature": 0.0}' -k 1 \
    --out "$OUT/eval/$1" --no-progress > /dev/null
  echo "evaluated $1"
}
ev untrained "tiny"
ev warm_start "hf:$OUT/sft"
ev trained "hf:$OUT/rl/final"
agentgym eval --env AskToAct-v0 --split val --n-tasks "$EVAL_TASKS" --env-kwargs '{"difficulty": "easy"}' \
  --max-turns 12 --policy oracle -k 1 --out "$OUT/eval/oracle" --no-progress > /dev/null
echo "evaluated oracle"

step "4/4 comparison (baseline: the warm start, so 'trained' shows what RL added)"
agentgym compare "$OUT/eval/warm_start" "$OUT/eval/untrained" "$OUT/eval/trained" "$OUT/eval/oracle" --out "$OUT/compare"
end=$(date +%s)
echo
echo "learning curve: $OUT/rl/learning_curve.png"
echo "reports:        $OUT/compare/compare.md, $OUT/eval/*/report.html"
echo "total time:     $((end - start)) s (after set-up)"
