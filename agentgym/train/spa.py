"""SPA's progress estimator (:mod:`agentgym.credit.spa`): a linear head on the
policy's last-layer hidden state at the last token of each turn's response.

Each iteration (``estimator="spa"``):

1. :meth:`ProgressEstimator.features` — one no-grad forward of the policy over
   each trajectory (its turns packed into one row where their token ids chain),
   keeping the final hidden state at the end of each turn's response (``(H,)``
   per turn); this is SPA's added cost per iteration;
2. :meth:`ProgressEstimator.predict` — the contributions ``c_t = w . h_t + b``
   of the head as trained so far (it has not seen these episodes);
3. :meth:`ProgressEstimator.fit` — ``spa_steps`` full-batch Adam steps on
   ``mean_i (sum_t c_t - R_i)^2``, the stepwise contributions made to add up to
   each trajectory's outcome; with several processes the gradient is averaged
   across them, so every process keeps the same head.

The head starts at zero (contributions 0: the grounding term and the outcome
alone) and its weights and Adam state are saved in every checkpoint
(``TrainState.spa``), so a resumed run continues exactly.

>>> est = ProgressEstimator(hidden_size=4, lr=0.1)
>>> est.predict([[torch.ones(4), None]])
[[0.0, 0.0]]
"""

from __future__ import annotations

import copy
from collections.abc import Sequence
from typing import Any

import torch

from agentgym.train.optim import Dist
from agentgym.train.scoring import pack_chain
from agentgym.trajectory import Trajectory

__all__ = ["ProgressEstimator", "progress_loss"]

Features = list[list["torch.Tensor | None"]]


def progress_loss(sums: torch.Tensor, outcomes: torch.Tensor) -> torch.Tensor:
    """``mean (sum_t c_t - R)^2`` over trajectories.

    >>> float(progress_loss(torch.tensor([1.0, 0.5]), torch.tensor([1.0, 0.0])))
    0.125
    """
    return ((sums - outcomes) ** 2).mean()


def _last_hidden(model: Any, ids: torch.Tensor, attn: torch.Tensor) -> torch.Tensor:
    """The last layer's hidden states (after the final norm): through the
    decoder alone where the model exposes it (no ``(b, L, vocab)`` logits, which
    dominate a small model's forward), else from ``output_hidden_states``."""
    decoder = model.get_decoder() if callable(getattr(model, "get_decoder", None)) else None
    if isinstance(decoder, torch.nn.Module):
        out = decoder(input_ids=ids, attention_mask=attn)
        if getattr(out, "last_hidden_state", None) is not None:
            return out.last_hidden_state
    return model(input_ids=ids, attention_mask=attn, output_hidden_states=True).hidden_states[-1]


class ProgressEstimator:
    """The head, its optimizer, and the passes that feed them."""

    def __init__(self, hidden_size: int, *, lr: float) -> None:
        self.head = torch.nn.Linear(hidden_size, 1)
        torch.nn.init.zeros_(self.head.weight)
        torch.nn.init.zeros_(self.head.bias)
        self.optimizer = torch.optim.Adam(self.head.parameters(), lr=lr)

    # ------------------------------------------------------------------
    @torch.no_grad()
    def features(self, model: Any, trajectories: Sequence[Trajectory], *, pad_token_id: int,
                 micro_batch_size: int) -> Features:
        """The last-layer hidden state at each turn's last response token (None
        for a turn without sampled tokens), from no-grad forwards of ``model``."""
        out: Features = [[None] * len(t.turns) for t in trajectories]
        rows = []  # (trajectory, PackedRow): the member ids are turn indices
        for i, traj in enumerate(trajectories):
            idx = [t for t, turn in enumerate(traj.turns) if turn.prompt_ids and turn.response_ids]
            if idx:
                packed = pack_chain([traj.turns[t].prompt_ids for t in idx], [traj.turns[t].response_ids for t in idx],
                                    members=idx)
                rows.extend((i, row) for row in packed)
        device = next(model.parameters()).device
        rows.sort(key=lambda r: len(r[1].ids))  # rows of similar length share a batch: less padding
        for start in range(0, len(rows), micro_batch_size):
            chunk = rows[start : start + micro_batch_size]
            width = max(len(r.ids) for _, r in chunk)
            ids = torch.full((len(chunk), width), pad_token_id, dtype=torch.long)
            attn = torch.zeros((len(chunk), width), dtype=torch.long)
            for b, (_, row) in enumerate(chunk):
                ids[b, : len(row.ids)] = torch.tensor(row.ids)
                attn[b, : len(row.ids)] = 1
            hidden = _last_hidden(model, ids.to(device), attn.to(device))  # (b, L, H)
            for b, (i, row) in enumerate(chunk):
                for (_, end), t in zip(row.spans, row.members, strict=True):
                    out[i][t] = hidden[b, end - 1].float().cpu()
        return out

    def _contributions(self, feats: Features) -> tuple[torch.Tensor | None, list[tuple[int, int]]]:
        where = [(i, t) for i, row in enumerate(feats) for t, h in enumerate(row) if h is not None]
        if not where:
            return None, where
        x = torch.stack([feats[i][t] for i, t in where])  # (N, H)
        return self.head(x).squeeze(-1), where  # (N,)

    def predict(self, feats: Features) -> list[list[float]]:
        """Each turn's contribution ``c_t`` (0 for a turn without tokens)."""
        out = [[0.0] * len(row) for row in feats]
        with torch.no_grad():
            c, where = self._contributions(feats)
        for k, (i, t) in enumerate(where):
            out[i][t] = float(c[k])  # type: ignore[index]
        return out

    def fit(self, feats: Features, outcomes: Sequence[float], *, steps: int, dist: Dist | None = None) -> float:
        """``steps`` Adam steps on :func:`progress_loss`; returns the loss before them
        (this process's trajectories; NaN when it has none)."""
        first = float("nan")
        params = list(self.head.parameters())
        target = torch.tensor([float(r) for r in outcomes])
        for step in range(steps):
            self.optimizer.zero_grad()
            c, where = self._contributions(feats)
            if c is not None:
                sums = torch.zeros(len(feats)).index_add(0, torch.tensor([i for i, _ in where]), c)
                loss = progress_loss(sums, target)
                loss.backward()
                if step == 0:
                    first = float(loss.detach())
            for p in params:  # every process takes the same step (zero gradient where it has no turns)
                grad = p.grad if p.grad is not None else torch.zeros_like(p)
                p.grad = grad if dist is None or dist.world == 1 else dist.sum(grad.detach()) / dist.world
            self.optimizer.step()
        return first

    # ------------------------------------------------------------------
    def state_dict(self) -> dict[str, Any]:
        return {"head": {k: v.detach().clone() for k, v in self.head.state_dict().items()},
                "optimizer": copy.deepcopy(self.optimizer.state_dict())}  # a snapshot, not the live tensors

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.head.load_state_dict(state["head"])
        self.optimizer.load_state_dict(state["optimizer"])
