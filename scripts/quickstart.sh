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
#
# Every process runs one torch thread (a tiny model's matrix products are too small to
# split, and a descheduled second thread stalls each of them); the two cores are used
# by running two processes instead: behaviour cloning and GiGPO data-parallel over 2
# processes (each takes half of every step's rows, or half of every iteration's tasks;
# gradients are summed), and the evaluations two at a time. Both trainings are
# deterministic on the CPU for a given process count: the table repeats.
set -euo pipefail
cd "$(dirname "$0")/.."
OUT=${1:-runs/quickstart}
# The training demo's configs (configs/asktoact_easy_*.toml). QUICKSTART_SFT_TASKS and
# QUICKSTART_ITERATIONS shrink it (a smoke run; the agent then learns less).
SFT_TASKS=${QUICKSTART_SFT_TASKS:-}
ITERATIONS=${QUICKSTART_ITERATIONS:-}
EVAL_TASKS=${QUICKSTART_EVAL_TASKS:-200}
cores=$(nproc 2>/dev/null || echo 1)
PROCESSES=${QUICKSTART_PROCESSES:-$((cores >= 2 ? 2 : 1))}
export TOKENIZERS_PARALLELISM=false HF_HUB_OFFLINE=1 OMP_NUM_THREADS=1

bash scripts/setup.sh
start=$(date +%s)
step() { printf '\n\033[1m== %s ==\033[0m\n' "$*"; }
mkdir -p "$OUT/eval"

ev() {  # name policy [extra eval flags]: greedy, on the same validation tasks
  local name=$1 policy=$2
  shift 2
  agentgym eval --env AskToAct-v0 --split val --n-tasks "$EVAL_TASKS" --env-kwargs '{"difficulty": "easy"}' \
    --max-turns 12 --policy "$policy" -k 1 --chunk-tasks 50 --out "$OUT/eval/$name" "$@" > /dev/null || return
  echo "evaluated $name"
}
background() {  # name policy: evaluate without a progress bar, output in OUT/eval/NAME.log
  ev "$1" "$2" --no-progress ${3:+--policy-kwargs "$3"} > "$OUT/eval/$1.log" 2>&1
}

launch() {  # script [flags]: on PROCESSES processes (data parallel), or as one
  local script=$1
  shift
  if [ "$PROCESSES" -gt 1 ]; then
    accelerate launch --num_processes "$PROCESSES" --num_machines 1 --mixed_precision no --dynamo_backend no \
      --cpu "$script" "$@"
  else
    python "$script" "$@"
  fi
}

step "1/4 behaviour cloning on scripted-expert episodes (configs/asktoact_easy_sft.toml), $PROCESSES process(es)"
if [ ! -f "$OUT/sft/config.json" ] || [ ! -f "$OUT/sft/model.safetensors" ]; then
  launch scripts/sft.py --config configs/asktoact_easy_sft.toml ${SFT_TASKS:+--tasks "$SFT_TASKS"} --out_dir "$OUT/sft"
else
  echo "found $OUT/sft"
fi
t_sft=$(date +%s)

step "2/4 GiGPO on AskToAct (easy) (configs/asktoact_easy_gigpo.toml), $PROCESSES process(es)"
resume=false; [ -d "$OUT/rl" ] && resume=true
rl_args=(--config configs/asktoact_easy_gigpo.toml --policy "hf:$OUT/sft" --out_dir "$OUT/rl"
         ${ITERATIONS:+--iterations "$ITERATIONS"} --resume "$resume")
launch scripts/train.py "${rl_args[@]}"
t_rl=$(date +%s)

step "3/4 evaluation on $EVAL_TASKS validation tasks, two at a time"
# The untrained model and the oracle beside the warm start and the trained agent.
( background untrained tiny '{"temperature": 0.0}' && background oracle oracle ) &
side=$!
background warm_start "hf:$OUT/sft" '{"temperature": 0.0}' &
side2=$!
ev trained "hf:$OUT/rl/final" --policy-kwargs '{"temperature": 0.0}'
wait "$side" || { echo "evaluation failed: see $OUT/eval/untrained.log and $OUT/eval/oracle.log" >&2; exit 1; }
wait "$side2" || { echo "evaluation failed: see $OUT/eval/warm_start.log" >&2; exit 1; }
cat "$OUT/eval/untrained.log" "$OUT/eval/oracle.log" "$OUT/eval/warm_start.log" | grep '^evaluated' || true

step "4/4 comparison (baseline: the warm start, so 'trained' shows what RL added)"
agentgym compare "$OUT/eval/warm_start" "$OUT/eval/untrained" "$OUT/eval/trained" "$OUT/eval/oracle" --out "$OUT/compare"
end=$(date +%s)
echo
echo "learning curve: $OUT/rl/learning_curve.png"
echo "reports:        $OUT/compare/compare.md, $OUT/eval/*/report.html"
echo "total time:     $((end - start)) s after set-up (behaviour cloning $((t_sft - start)) s, GiGPO $((t_rl - t_sft)) s, evaluation and comparison $((end - t_rl)) s)"
