#!/usr/bin/env python
"""Behaviour cloning: the script form of ``agentgym sft`` (same flags), for ``accelerate launch``.

    python scripts/sft.py --config configs/asktoact_easy_sft.toml
    accelerate launch --num_processes 2 --cpu scripts/sft.py --config configs/asktoact_easy_sft.toml
"""

from __future__ import annotations

import sys

from agentgym.cli.sft import main

if __name__ == "__main__":
    sys.exit(main())
