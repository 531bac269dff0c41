"""Scenarios of the calendar domain, by category."""

from __future__ import annotations

import datetime as dt
import random
from typing import Any

from agentgym.envs.tools.backends.base import World, person
from agentgym.envs.tools.backends.calendar import DAY_END, DAY_START, hhmm, minutes
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
    time_forms,
    turn,
)

TITLES = ("Coffee chat", "Project kickoff", "Interview prep", "Board prep", "Offsite planning", "Vendor review")


def _own(w: World) -> list[dict[str, Any]]:
    return [e for e in w.tables["events"].values() if e["organizer"] == w.profile["email"]]


def _theirs(w: World) -> list[dict[str, Any]]:
    return [e for e in w.tables["events"].values() if e["organizer"] != w.profile["email"]]


def _day(w: World, r: random.Random, lo: int = 1, hi: int = 14) -> str:
    return (dt.date.fromisoformat(w.today) + dt.timedelta(days=r.randrange(lo, hi))).isoformat()


def _on(w: World, day: str) -> list[dict[str, Any]]:
    return sorted((e for e in w.tables["events"].values() if e["date"] == day), key=lambda e: (e["start"], e["event_id"]))


def _busy_day(w: World, r: random.Random) -> str:
    return pick(r, sorted({e["date"] for e in w.tables["events"].values()}))


def _listing(events: list[dict[str, Any]]) -> tuple[str, list[list[str]]]:
    if not events:
        return "Nothing is scheduled.", []
    text = "; ".join(f"{e['title']} at {e['start']}" for e in events) + "."
    return text, [[e["title"]] for e in events] + [time_forms(e["start"]) for e in events]


def _free_start(w: World, r: random.Random, day: str, length: int) -> str:
    busy = [(minutes(e["start"]), minutes(e["start"]) + e["duration_minutes"]) for e in _on(w, day)]
    options = [t for t in range(DAY_START, DAY_END - length + 1, 30) if all(t + length <= a or t >= b for a, b in busy)]
    return hhmm(pick(r, options, "free slot"))


def _new_person(w: World, r: random.Random) -> tuple[str, str]:
    taken = {c["name"] for c in w.tables["contacts"].values()} | {w.profile["name"]}
    first, last = person(r, taken)
    return f"{first} {last}", f"{first.lower()}.{last.lower()}@{r.choice(('acme', 'globex', 'initech'))}.example"


# --------------------------------------------------------------------------
def single_day(w: World, r: random.Random) -> dict[str, Any]:
    day = _busy_day(w, r)
    text, required = _listing(_on(w, day))
    return scenario("calendar.single.day", turn(
        f"What's on my calendar on {day}?", call("list_events", start_date=day, checks={"end_date": {"one_of": [day]}}),
        respond(f"On {day}: {text}"), required=required))


def single_cancel(w: World, r: random.Random) -> dict[str, Any]:
    e = pick(r, _own(w))
    return scenario("calendar.single.cancel", turn(
        f"Cancel my {e['title']} ({e['event_id']}) on {e['date']}.",
        call("cancel_event", event_id=e["event_id"]), respond(f"{e['title']} on {e['date']} is cancelled.")))


def single_add_contact(w: World, r: random.Random) -> dict[str, Any]:
    name, email = _new_person(w, r)
    phone = f"+1-555-02{r.randrange(10, 99)}"
    return scenario("calendar.single.add_contact", turn(
        f"Save {name} as a contact: e-mail {email}, phone {phone}.",
        call("add_contact", name=name, email=email, phone=phone), respond(f"{name} is saved in your contacts.")))


def distractor_decline(w: World, r: random.Random) -> dict[str, Any]:
    e = pick(r, _theirs(w))
    return scenario("calendar.distractor.decline", turn(
        f"I can't make the {e['title']} ({e['event_id']}) on {e['date']} that {e['organizer']} set up. "
        "Decline it for me.",
        call("decline_event", event_id=e["event_id"], checks={"note": {"any": True}}),
        respond(f"Declined {e['title']} on {e['date']}.")))


def distractor_remove(w: World, r: random.Random) -> dict[str, Any]:
    e = pick(r, [e for e in _own(w) if e["attendees"]])
    who = r.choice(e["attendees"])
    return scenario("calendar.distractor.remove", turn(
        f"Take {who} off the invite list of {e['title']} ({e['event_id']}).",
        call("remove_attendee", event_id=e["event_id"], email=who),
        respond(f"{who} is no longer invited to {e['title']}.")))


def distractor_reschedule(w: World, r: random.Random) -> dict[str, Any]:
    e = pick(r, _own(w))
    day = _day(w, r)
    start = _free_start(w, r, day, e["duration_minutes"])
    return scenario("calendar.distractor.reschedule", turn(
        f"Move {e['title']} ({e['event_id']}) to {day} at {start}.",
        call("reschedule_event", event_id=e["event_id"], new_date=day, new_start_time=start),
        respond(f"{e['title']} now starts on {day} at {start}.")))


def parallel_days(w: World, r: random.Random) -> dict[str, Any]:
    days = sorted(r.sample(sorted({e["date"] for e in w.tables["events"].values()}), 2))
    text_a, req_a = _listing(_on(w, days[0]))
    text_b, req_b = _listing(_on(w, days[1]))
    return scenario("calendar.parallel.days", turn(
        f"What do I have on {days[0]} and on {days[1]}?",
        group(*(call("list_events", start_date=d, checks={"end_date": {"one_of": [d]}}) for d in days)),
        respond(f"{days[0]}: {text_a} {days[1]}: {text_b}"), required=req_a + req_b))


def parallel_contacts(w: World, r: random.Random) -> dict[str, Any]:
    a, b = _new_person(w, r), _new_person(w, r)
    if a[1] == b[1]:
        raise Skip("same e-mail")
    return scenario("calendar.parallel.contacts", turn(
        f"Add two contacts: {a[0]} ({a[1]}) and {b[0]} ({b[1]}).",
        group(call("add_contact", name=a[0], email=a[1]), call("add_contact", name=b[0], email=b[1])),
        respond(f"Saved {a[0]} and {b[0]}.")))


def chained_invite(w: World, r: random.Random) -> dict[str, Any]:
    e = pick(r, _own(w))
    c = pick(r, [c for c in w.tables["contacts"].values() if c["email"] not in e["attendees"]])
    return scenario("calendar.chained.invite", turn(
        f"Invite {c['name']} to {e['title']} ({e['event_id']}).",
        call("search_contacts", query=c["name"], checks={"query": {"any": True}, "limit": {"any": True}}),
        call("add_attendees", event_id=e["event_id"], emails=[c["email"]]),
        respond(f"{c['name']} ({c['email']}) is invited to {e['title']}.")))


def chained_slot(w: World, r: random.Random) -> dict[str, Any]:
    c = r.choice(list(w.tables["contacts"].values()))
    day = _day(w, r)
    busy = [(minutes(e["start"]), minutes(e["start"]) + e["duration_minutes"]) for e in _on(w, day)]
    first = next((t for t in range(13 * 60, DAY_END - 30 + 1, 30) if all(t + 30 <= a or t >= b for a, b in busy)), None)
    if first is None:
        raise Skip("no afternoon slot")
    title = r.choice(TITLES)
    return scenario("calendar.chained.slot", turn(
        f"Schedule a 30-minute \"{title}\" with {c['name']} on {day}, at the first free time from 13:00 on.",
        group(call("search_contacts", query=c["name"], checks={"query": {"any": True}, "limit": {"any": True}}),
              call("find_free_slots", date=day, duration_minutes=30, earliest="13:00",
                   checks={"earliest": {"any": True}, "latest": {"any": True}})),
        call("create_event", title=title, date=day, start_time=hhmm(first),
             duration={"value": 30, "unit": "minutes"}, attendees=[c["email"]],
             checks={"reminder_minutes": {"any": True}, "location": {"any": True}}),
        respond(f"\"{title}\" with {c['name']} is booked on {day} at {hhmm(first)}."),
        required=[time_forms(hhmm(first))]))


def irrelevance_offtopic(w: World, r: random.Random) -> dict[str, Any]:
    q = r.choice(("What time is it in Tokyo right now?", "Can you translate 'good morning' into Japanese?",
                  "Who won the football match last night?"))
    return scenario("calendar.irrelevance.offtopic", turn(
        q, respond("Sorry, I can't help with that; I can manage your calendar and contacts."), required=[DECLINE]))


def irrelevance_minutes(w: World, r: random.Random) -> dict[str, Any]:
    h, m = r.randrange(1, 9), r.choice((5, 10, 15, 20, 30, 45))
    return scenario("calendar.irrelevance.minutes", turn(
        f"How many minutes are {h} hours and {m} minutes? Just tell me the number.",
        respond(f"That is {h * 60 + m} minutes."), required=[number_forms(h * 60 + m)]))


def missing_event(w: World, r: random.Random) -> dict[str, Any]:
    day = _day(w, r)
    length = r.choice((30, 45, 60, 90))
    start = _free_start(w, r, day, length)
    title = r.choice(TITLES)
    return scenario("calendar.missing_info.event", turn(
        f"Put a meeting called \"{title}\" on my calendar for {day}.",
        ask("What time should it start, and how long should it last?"),
        call("create_event", title=title, date=day, start_time=start, duration={"value": length, "unit": "minutes"},
             checks={"reminder_minutes": {"any": True}, "location": {"any": True}}),
        respond(f"\"{title}\" is on {day} at {start} for {length} minutes."),
        facts={"start": fact(f"Start it at {start}.", "time", "when", "start"),
               "length": fact(f"It should last {length} minutes.", "long", "duration", "minutes", "last", "length")}))


def missing_email(w: World, r: random.Random) -> dict[str, Any]:
    name, email = _new_person(w, r)
    return scenario("calendar.missing_info.email", turn(
        f"Add {name} to my contacts.",
        ask(f"What is {name}'s e-mail address?"),
        call("add_contact", name=name, email=email),
        respond(f"{name} is saved."),
        facts={"email": fact(f"It's {email}.", "email", "e-mail", "mail", "address")}))


def multi_day_then_move(w: World, r: random.Random) -> dict[str, Any]:
    e = pick(r, _own(w))
    day = e["date"]
    text, required = _listing(_on(w, day))
    others = [x for x in _on(w, day) if x["event_id"] != e["event_id"]]
    busy = [(minutes(x["start"]), minutes(x["start"]) + x["duration_minutes"]) for x in others]
    length = e["duration_minutes"]
    options = [t for t in range(DAY_START, DAY_END - length + 1, 30)
               if hhmm(t) != e["start"] and all(t + length <= a or t >= b for a, b in busy)]
    start = hhmm(pick(r, options, "free slot"))
    return scenario(
        "calendar.multi_turn.day_then_move",
        turn(f"What's on my calendar on {day}?", call("list_events", start_date=day,
                                                        checks={"end_date": {"one_of": [day]}}),
             respond(f"On {day}: {text}"), required=required),
        turn(f"Move the {e['title']} to {start}, same day.",
             call("reschedule_event", event_id=e["event_id"], new_date=day, new_start_time=start),
             respond(f"{e['title']} now starts at {start}.")))


def multi_lookup_then_invite(w: World, r: random.Random) -> dict[str, Any]:
    e = pick(r, _own(w))
    c = pick(r, [c for c in w.tables["contacts"].values() if c["email"] not in e["attendees"]])
    return scenario(
        "calendar.multi_turn.lookup_then_invite",
        turn(f"What's {c['name']}'s e-mail address?",
             call("search_contacts", query=c["name"], checks={"query": {"any": True}, "limit": {"any": True}}),
             respond(f"{c['name']}: {c['email']}."), required=[[c["email"]]]),
        turn(f"Invite them to {e['title']} ({e['event_id']}).",
             call("add_attendees", event_id=e["event_id"], emails=[c["email"]]),
             respond(f"{c['name']} is invited.")))


def policy_cancel_theirs(w: World, r: random.Random) -> dict[str, Any]:
    e = pick(r, _theirs(w))
    return scenario("calendar.policy.cancel_theirs", turn(
        f"Cancel the {e['title']} ({e['event_id']}) on {e['date']}, I don't want it in my calendar.",
        call("get_event", event_id=e["event_id"]),
        call("decline_event", event_id=e["event_id"], checks={"note": {"any": True}}),
        respond(f"{e['organizer']} organizes that event, so I can't cancel it; I declined it for you instead."),
        required=[["declined", "decline"]]))


def policy_after_hours(w: World, r: random.Random) -> dict[str, Any]:
    day = _day(w, r)
    start = r.choice(("17:30", "18:00", "18:30", "19:00", "07:00"))
    title = r.choice(TITLES)
    return scenario("calendar.policy.after_hours", turn(
        f"Schedule \"{title}\" on {day} at {start} for one hour.",
        respond("I can't: events must start at or after 08:00 and end by 18:00 (working hours)."),
        required=[["working hours", *time_forms("18:00")]]))


BUILDERS: dict[str, tuple[Builder, ...]] = {
    "single": (single_day, single_cancel, single_add_contact),
    "distractor": (distractor_decline, distractor_remove, distractor_reschedule),
    "parallel": (parallel_days, parallel_contacts),
    "chained": (chained_invite, chained_slot),
    "irrelevance": (irrelevance_offtopic, irrelevance_minutes),
    "missing_info": (missing_event, missing_email),
    "multi_turn": (multi_day_then_move, multi_lookup_then_invite),
    "policy": (policy_cancel_theirs, policy_after_hours),
}
