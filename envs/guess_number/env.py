"""The GuessNumber environment.

Task: find a secret integer in ``[low, high]``.
Tools: ``guess(number)``.
Reward (``GuessNumberEnv.reward``, an :class:`agentgym.rewards.Reward` scored
on every guess, its context whether the guess is the secret): one outcome
part, ``success`` (weight 1; reported only when the guess is right), plus
``invalid_action`` (−penalty per malformed action, from the base class). To
shape it, give a subclass another ``reward``, e.g. with a cost per wrong guess:
``Part("wrong_guess", lambda right: not right, weight=-0.01, when="turn", omit_zero=True)``.
Termination: the right guess. Truncation: ``max_turns`` (default 12).
Metrics: ``success``, ``turns``, ``invalid_actions``, ``return``, ``guesses``.
State key: the interval still consistent with the feedback so far, so two
different guess sequences that leave the same interval share an anchor.

Change log: v0 — first version.
"""

from __future__ import annotations

from agentgym import AgentEnv, Task, tool
from agentgym.envs.guess_number.tasks import GuessNumberTasks
from agentgym.errors import InvalidActionError
from agentgym.rewards import Part, Reward

#: GuessNumber-v0's reward: scored on whether a guess is the secret (a bool).
REWARD = Reward([Part("success", float, when="outcome", omit_zero=True, doc="the guess is the secret")])


class GuessNumberEnv(AgentEnv):
    family = "guess_number"
    instructions = (
        "You are playing a guessing game. Guess the secret number; after each guess "
        "you are told whether the secret is higher or lower. Use as few guesses as you can."
    )
    default_max_turns = 12
    reward = REWARD
    scripted_policies = {
        "oracle": "agentgym.envs.guess_number.oracle:binary_search",
        "random": "agentgym.envs.guess_number.oracle:random_guess",
    }

    def make_generator(self, seed: int) -> GuessNumberTasks:
        return GuessNumberTasks(seed)

    def on_reset(self, task: Task) -> str:
        self.secret: int = task.meta["secret"]
        self.low: int = task.meta["low"]  # the interval still consistent with the feedback
        self.high: int = task.meta["high"]
        self.guesses = 0
        return task.prompt

    @tool
    def guess(self, number: int) -> str:
        """Guess the secret number.

        Args:
            number: Your guess, a whole number inside the range.
        """
        assert self.task is not None
        lo, hi = self.task.meta["low"], self.task.meta["high"]
        if not lo <= number <= hi:
            raise InvalidActionError(f"{number} is outside the range [{lo}, {hi}].")
        self.guesses += 1
        right = number == self.secret
        self.reward.apply(self, right)
        if right:
            self.finish(success=True)
            return f"Correct! The number was {number}."
        if number < self.secret:
            self.low = max(self.low, number + 1)
            return f"{number} is too low. The secret is higher."
        self.high = min(self.high, number - 1)
        return f"{number} is too high. The secret is lower."

    def state_key(self) -> str:
        return f"{self.low}..{self.high}"

    def episode_metrics(self) -> dict[str, float]:
        return {"guesses": float(self.guesses)}
