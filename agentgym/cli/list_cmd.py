"""``agentgym list``: every registered environment (id, description, tools) and suite."""

from __future__ import annotations

import argparse
import json


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.add_argument("--no-tools", action="store_true", help="omit each env's tools")


def run(args: argparse.Namespace) -> int:
    import agentgym
    from agentgym.registry import env_description
    from agentgym.suites import list_suites
    from agentgym.tools import tool_specs

    envs = []
    for info in agentgym.list_envs():
        env = agentgym.make(info.id)
        tools = [spec.signature() for spec in tool_specs(env).values()]
        env.close()
        envs.append({"id": info.id, "description": env_description(info), "tools": tools})
    suites = [
        {"name": s.name, "description": s.description, "summary": s.summary,
         "entries": [e.label + f" x{e.n_tasks}" for e in s.entries]}
        for s in list_suites()
    ]
    if args.json:
        print(json.dumps({"envs": envs, "suites": suites}, indent=2))
        return 0
    print("Environments")
    for e in envs:
        print(f"  {e['id']:<28} {e['description'] or '(no description)'}")
        if not args.no_tools:
            for t in e["tools"]:
                print(f"  {'':<30}{t}")
    print("\nSuites")
    for s in suites:
        print(f"  {s['name']:<28} {s['summary']}")
        for entry in s["entries"]:
            print(f"  {'':<30}{entry}")
    return 0
