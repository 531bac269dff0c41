#!/usr/bin/env bash
# The test command (README and .ci/run): set up, start the services the
# marked tests need, lint, then run the whole suite — default and marked tests.
#
#   bash scripts/test.sh                # everything .ci/run runs
#   bash scripts/test.sh tests/core     # extra arguments go to pytest
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/setup.sh
if [ -x scripts/start_postgres.sh ]; then
  # shellcheck disable=SC1091
  source <(bash scripts/start_postgres.sh --print-env)
fi

python -m ruff check agentgym envs policies sandboxes tests scripts
# -m "" lifts pyproject's default marker filter, so slow and service-backed
# tests run too (those whose service is missing skip with a reason).
# Exit code 5 ("no tests collected") is a failure here, as is any other non-zero.
set +e
python -m pytest -m "" -p no:cacheprovider "$@"
rc=$?
set -e
if [ "$rc" = 5 ]; then
  echo "pytest collected no tests: failing on purpose" >&2
  exit 1
fi
exit "$rc"
