"""Policies shipped with agentgym (imported as ``agentgym.policies``).

===========  ================================================  ===========================
module       policy                                            spec (``load_policy``)
===========  ================================================  ===========================
``hf``       :class:`~agentgym.policies.hf.HFPolicy`: a local   ``hf:smollm2-135m``,
             transformers model, exact token ids and logprobs   ``hf:DIR``, ``tiny:``
``openai``   :class:`~agentgym.policies.openai.OpenAIPolicy`:   ``openai:URL#MODEL``
             any OpenAI-compatible server, over httpx
``scripted`` each family's oracle / scripted players; a         ``oracle``, ``scripted:NAME``,
             schema-driven random policy                       ``random[:SEED]``
``human``    a person at a terminal (``agentgym play``)         ``human``
===========  ================================================  ===========================

Submodules are imported on demand (``hf`` imports torch and transformers), so
importing this package costs nothing.
"""
