"""Scenarios of the files-and-messages domain, by category."""

from __future__ import annotations

import random
from typing import Any

from agentgym.envs.tools.backends.base import World
from agentgym.envs.tools.backends.files import ORG_DOMAIN
from agentgym.envs.tools.scenarios.common import (
    DECLINE,
    Builder,
    Skip,
    ask,
    call,
    fact,
    group,
    number_forms,
    pick,
    respond,
    scenario,
    turn,
)

_PHRASES = ("I'll send the figures by Friday", "Thanks, that works for me", "Let's talk tomorrow at 10",
            "I approve the draft")


def _files(w: World, prefix: str, text: bool | None = None) -> list[dict[str, Any]]:
    return [f for p, f in sorted(w.tables["files"].items()) if p.startswith(prefix)
            and (text is None or (f["content"] is not None) == text)]


def _name(p: str) -> str:
    return p.rsplit("/", 1)[1]


def _inbox(w: World, unread: bool | None = None) -> list[dict[str, Any]]:
    rows = [m for m in w.tables["messages"].values() if m["folder"] == "inbox" and (unread is None or not m["read"])]
    return sorted(rows, key=lambda m: (m["date"], m["message_id"]), reverse=True)


def _colleague(w: World, r: random.Random, inside: bool = True) -> tuple[str, str]:
    people = [p for p in w.profile["people"] if p[1].endswith("@" + ORG_DOMAIN) == inside]
    return tuple(pick(r, people, "colleague"))  # type: ignore[return-value]


# --------------------------------------------------------------------------
def single_size(w: World, r: random.Random) -> dict[str, Any]:
    f = r.choice(_files(w, "/home/"))
    return scenario("files.single.size", turn(
        f"How big is {f['path']}, in bytes?", call("get_file_info", path=f["path"]),
        respond(f"{f['path']} is {f['size']:,} bytes."), required=[number_forms(f["size"])]))


def single_todo(w: World, r: random.Random) -> dict[str, Any]:
    f = pick(r, [f for f in _files(w, "/home/docs/", text=True) if "todo" in f["path"]], "todo file")
    first = f["content"].splitlines()[0].split(". ", 1)[1]
    return scenario("files.single.todo", turn(
        f"What's the first item on my list in {f['path']}?",
        call("read_file", path=f["path"], checks={"max_bytes": {"any": True}}),
        respond(f"The first item is: {first}."), required=[[first]]))


def single_delete_log(w: World, r: random.Random) -> dict[str, Any]:
    f = r.choice(_files(w, "/home/tmp/"))
    return scenario("files.single.delete_log", turn(
        f"Delete {f['path']}.", call("delete_file", path=f["path"]), respond(f"{f['path']} is deleted.")))


def single_big_photos(w: World, r: random.Random) -> dict[str, Any]:
    mib = r.choice((1, 2, 3))
    big = [f["path"] for f in _files(w, "/home/photos/") if f["size"] > mib * 1024**2]
    if not big:
        raise Skip("no big photo")
    return scenario("files.single.big_photos", turn(
        f"Which of my files named IMG are larger than {mib} MiB?",
        call("search_files", query="IMG", larger_than={"value": mib, "unit": "MiB"},
             checks={"query": {"one_of": ["IMG", "IMG_"]}, "extension": {"one_of": ["jpg"]}}),
        respond("These are larger: " + ", ".join(big) + "."), required=[[_name(p)] for p in big]))


def distractor_archive(w: World, r: random.Random) -> dict[str, Any]:
    m = r.choice(_inbox(w))
    return scenario("files.distractor.archive", turn(
        f"Archive the message \"{m['subject']}\" ({m['message_id']}).",
        call("archive_message", message_id=m["message_id"]), respond("Archived.")))


def distractor_copy(w: World, r: random.Random) -> dict[str, Any]:
    f = r.choice(_files(w, "/home/docs/"))
    dest = "/shared/team/" + _name(f["path"])
    return scenario("files.distractor.copy", turn(
        f"Put a copy of {f['path']} in /shared/team (keep the original where it is).",
        call("copy_file", source=f["path"], destination=dest,
             checks={"destination": {"one_of": [dest, "/shared/team"]}}),
        respond(f"Copied to {dest}.")))


def distractor_rename(w: World, r: random.Random) -> dict[str, Any]:
    f = r.choice(_files(w, "/home/docs/"))
    stem, ext = _name(f["path"]).rsplit(".", 1)
    new = f"/home/docs/{stem}-final.{ext}"
    return scenario("files.distractor.rename", turn(
        f"Rename {f['path']} to {_name(new)} (same folder).",
        call("move_file", source=f["path"], destination=new), respond(f"It is now {new}.")))


def parallel_delete_logs(w: World, r: random.Random) -> dict[str, Any]:
    logs = [f["path"] for f in _files(w, "/home/tmp/")]
    if len(logs) < 2:
        raise Skip("two logs")
    return scenario("files.parallel.delete_logs", turn(
        f"Delete {logs[0]} and {logs[1]}.", group(*(call("delete_file", path=p) for p in logs[:2])),
        respond("Both files are deleted.")))


def parallel_sizes(w: World, r: random.Random) -> dict[str, Any]:
    a, b = r.sample(_files(w, "/home/"), 2)
    return scenario("files.parallel.sizes", turn(
        f"How big are {a['path']} and {b['path']}?",
        group(call("get_file_info", path=a["path"]), call("get_file_info", path=b["path"])),
        respond(f"{a['path']}: {a['size']} bytes; {b['path']}: {b['size']} bytes."),
        required=[number_forms(a["size"]), number_forms(b["size"])]))


def parallel_archive(w: World, r: random.Random) -> dict[str, Any]:
    a, b = r.sample(_inbox(w), 2)
    return scenario("files.parallel.archive", turn(
        f"Archive messages {a['message_id']} and {b['message_id']}.",
        group(call("archive_message", message_id=a["message_id"]), call("archive_message", message_id=b["message_id"])),
        respond("Both are archived.")))


def chained_reply(w: World, r: random.Random) -> dict[str, Any]:
    unread = _inbox(w, unread=True)
    m = pick(r, unread, "unread message")
    if next(x for x in unread if x["from"] == m["from"]) is not m:
        raise Skip("not the latest from that sender")
    text = r.choice(_PHRASES)
    return scenario("files.chained.reply", turn(
        f"Reply to the latest unread message from {m['from']} and tell them: \"{text}\".",
        call("list_messages", folder="inbox", unread_only=True, checks={"limit": {"any": True}}),
        call("reply_to_message", message_id=m["message_id"], body=text,
             checks={"body": {"contains": [text]}, "reply_all": {"one_of": [False]}}),
        respond("Replied.")))


def chained_share_found(w: World, r: random.Random) -> dict[str, Any]:
    f = r.choice(_files(w, "/home/docs/"))
    stem = _name(f["path"]).split("-")[0]
    if sum(stem in _name(p) for p in w.tables["files"]) > 1:
        raise Skip("ambiguous stem")
    who, email = _colleague(w, r)
    return scenario("files.chained.share_found", turn(
        f"Share my {stem} file with {who} ({email}) so they can comment on it.",
        call("search_files", query=stem, checks={"query": {"any": True}, "extension": {"any": True},
                                                 "modified_after": {"any": True}}),
        call("share_file", path=f["path"], recipients=[email], permission="comment"),
        respond(f"{_name(f['path'])} is shared with {who} (comment).")))


def chained_send_file(w: World, r: random.Random) -> dict[str, Any]:
    f = r.choice(_files(w, "/home/docs/"))
    stem = _name(f["path"]).split("-")[0]
    if sum(stem in _name(p) for p in w.tables["files"]) > 1:
        raise Skip("ambiguous stem")
    who, email = r.choice(w.profile["people"])
    return scenario("files.chained.send_file", turn(
        f"E-mail my {stem} file to {who} ({email}) as an attachment.",
        call("search_files", query=stem, checks={"query": {"any": True}, "extension": {"any": True},
                                                 "modified_after": {"any": True}}),
        call("send_message", to=[email], subject=f"{stem}", body="Here it is.", attachments=[f["path"]],
             checks={"subject": {"any": True}, "body": {"any": True}, "cc": {"one_of": [[]]}}),
        respond(f"Sent {_name(f['path'])} to {who}.")))


def irrelevance_offtopic(w: World, r: random.Random) -> dict[str, Any]:
    q = r.choice(("Can you order me a new laptop?", "What's a good name for a cat?",
                  "Can you book my flight to Berlin?"))
    return scenario("files.irrelevance.offtopic", turn(
        q, respond("Sorry, I can't help with that; I can manage your files and messages."), required=[DECLINE]))


def irrelevance_bytes(w: World, r: random.Random) -> dict[str, Any]:
    n = r.randrange(2, 64)
    return scenario("files.irrelevance.bytes", turn(
        f"How many bytes are in {n} KiB? Just the number.", respond(f"{n} KiB is {n * 1024} bytes."),
        required=[number_forms(n * 1024)]))


def missing_share(w: World, r: random.Random) -> dict[str, Any]:
    f = r.choice(_files(w, "/home/docs/"))
    who, email = _colleague(w, r)
    perm = r.choice(("view", "comment", "edit"))
    return scenario("files.missing_info.share", turn(
        f"Share {f['path']} with my colleague.",
        ask("Who should get access (their e-mail address), and should they view, comment or edit?"),
        call("share_file", path=f["path"], recipients=[email], permission=perm),
        respond(f"Shared with {email} ({perm})."),
        facts={"who": fact(f"It's {who}, {email}.", "who", "email", "e-mail", "address", "colleague", "whom"),
               "permission": fact(f"They should be able to {perm}.", "permission", "access", "edit", "view",
                                  "comment", "rights")}))


def missing_message(w: World, r: random.Random) -> dict[str, Any]:
    who, email = r.choice(w.profile["people"])
    subject = r.choice(("Lunch on Friday", "Budget question", "Slides for Monday"))
    body = r.choice(_PHRASES)
    return scenario("files.missing_info.message", turn(
        f"Send an e-mail to {who} ({email}).",
        ask("What should the subject be, and what should the message say?"),
        call("send_message", to=[email], subject=subject, body=body,
             checks={"body": {"contains": [body]}, "cc": {"one_of": [[]]}, "attachments": {"one_of": [[]]}}),
        respond("Sent."),
        facts={"content": fact(f"Subject \"{subject}\", and say: \"{body}\".", "subject", "say", "message", "write",
                               "text", "content", "what")}))


def multi_list_then_delete(w: World, r: random.Random) -> dict[str, Any]:
    logs = [f["path"] for f in _files(w, "/home/tmp/")]
    if len(logs) < 2:
        raise Skip("two logs")
    names = [_name(p) for p in logs]
    return scenario(
        "files.multi_turn.list_then_delete",
        turn("What's in /home/tmp?", call("list_directory", path="/home/tmp", checks={"recursive": {"any": True}}),
             respond("/home/tmp holds " + ", ".join(names) + "."), required=[[n] for n in names]),
        turn("Delete all of them.", group(*(call("delete_file", path=p) for p in logs)),
             respond("Deleted.")))


def multi_unread_then_archive(w: World, r: random.Random) -> dict[str, Any]:
    unread = _inbox(w, unread=True)
    if not unread or len({m["from"] for m in unread}) != len(unread):
        raise Skip("unread from distinct senders")
    m = r.choice(unread)
    return scenario(
        "files.multi_turn.unread_then_archive",
        turn("Do I have unread messages? Tell me who they're from.",
             call("list_messages", folder="inbox", unread_only=True, checks={"limit": {"any": True}}),
             respond("Unread: " + "; ".join(f"{x['subject']} from {x['from']}" for x in unread) + "."),
             required=[[x["from"]] for x in unread]),
        turn(f"Archive the one from {m['from']}.", call("archive_message", message_id=m["message_id"]),
             respond("Archived.")))


def policy_archive_delete(w: World, r: random.Random) -> dict[str, Any]:
    f = r.choice(_files(w, "/archive/"))
    return scenario("files.policy.archive_delete", turn(
        f"Delete {f['path']}, it's old.",
        respond("I'm sorry, I can't: nothing under /archive may be deleted, moved or overwritten."),
        required=[["/archive", "archive"]]))


def policy_external_edit(w: World, r: random.Random) -> dict[str, Any]:
    f = r.choice(_files(w, "/home/docs/"))
    who, email = _colleague(w, r, inside=False)
    return scenario("files.policy.external_edit", turn(
        f"Share {f['path']} with {who} ({email}). Give them edit rights if that's allowed; otherwise whatever "
        "is allowed.",
        call("share_file", path=f["path"], recipients=[email], permission="view",
             checks={"expires_on": {"any": True}}),
        respond(f"{email} is outside {ORG_DOMAIN}, so I could only share the file with view permission."),
        required=[["view"]]))


BUILDERS: dict[str, tuple[Builder, ...]] = {
    "single": (single_size, single_todo, single_delete_log, single_big_photos),
    "distractor": (distractor_archive, distractor_copy, distractor_rename),
    "parallel": (parallel_delete_logs, parallel_sizes, parallel_archive),
    "chained": (chained_reply, chained_share_found, chained_send_file),
    "irrelevance": (irrelevance_offtopic, irrelevance_bytes),
    "missing_info": (missing_share, missing_message),
    "multi_turn": (multi_list_then_delete, multi_unread_then_archive),
    "policy": (policy_archive_delete, policy_external_edit),
}
