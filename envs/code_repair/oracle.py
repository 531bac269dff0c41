"""Scripted expert of CodeRepair-v0: apply the reverse mutation, then submit.

The gold fix is ``Task.meta["fix"]``: exact ``edit_file`` replacements (the
same calls ``Task.answer`` renders). The oracle makes the first one whose
edit is not applied yet, and submits when all are.
"""

from __future__ import annotations

from agentgym.envs.code_repair.env import CodeRepairEnv
from agentgym.tools import ToolCall


def oracle(env: CodeRepairEnv) -> str:
    assert env.task is not None
    for e in env.task.meta["fix"]:
        target = env.ws.root / e["path"]
        if not e["old"]:
            if not target.exists():
                return ToolCall("create_file", {"path": e["path"], "content": e["new"]}).render()
            continue
        text = target.read_text() if target.is_file() else ""
        # An insertion's old text stays in the file after the edit; a removal's new text was there before.
        applied = e["new"] in text if e["old"] in e["new"] else e["old"] not in text
        if not applied:
            return ToolCall(
                "edit_file", {"path": e["path"], "old": e["old"], "new": e["new"]}
            ).render()
    return ToolCall("submit", {}).render()
