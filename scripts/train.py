#!/usr/bin/env python
"""Train a policy with RL: the script form of ``agentgym train`` (same flags).

    python scripts/train.py --config configs/guess_number_gigpo.toml --iterations 2
    accelerate launch --num_processes 2 --cpu scripts/train.py --config configs/asktoact_easy_gigpo.toml
"""

from __future__ import annotations

import sys

from agentgym.cli.train import main

if __name__ == "__main__":
    sys.exit(main())
