"""Sandbox backends (imported as ``agentgym.sandboxes``); see :mod:`agentgym.sandbox`
for the contract and ``load_sandbox``."""
