"""``python -m agentgym.cli`` is the ``agentgym`` command."""

import sys

from agentgym.cli import main

sys.exit(main())
