"""Calendar and contacts: contacts, events over the next two weeks, invitations,
free slots (13 tools).

Events carry an ``organizer``; the user organizes some and is invited to the
others. Durations are ``{"value": 1.5, "unit": "hours"}`` in arguments
(normalized to minutes) and ``duration_minutes`` in results.
"""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Mapping
from functools import lru_cache
from typing import Any

from agentgym.envs.tools.backends.base import Api, Backend, World, api, person, today_for
from agentgym.envs.tools.schema import (
    array,
    boolean,
    date,
    duration,
    email,
    integer,
    obj,
    string,
    time,
)
from agentgym.errors import InvalidActionError

__all__ = ["Calendar", "DAY_START", "DAY_END", "minutes", "hhmm"]

CONTACT = r"C-\d{3,4}"
EVENT = r"EVT-\d{3,4}"
PHONE = r"\+?[0-9][0-9 -]{6,18}"
DAY_START, DAY_END = 8 * 60, 18 * 60
REMINDERS = (0, 5, 10, 15, 30, 60)
COMPANIES = ("Acme Corp", "Globex", "Initech", "Umbrella Labs", "Stark Design", "Wayne Logistics")
OWN_TITLES = ("Team sync", "Budget review", "Design critique", "Quarterly planning", "Hiring debrief",
              "Roadmap review", "Sprint retro")
OTHER_TITLES = ("Customer call", "Vendor demo", "All-hands", "Security training", "Product launch prep",
                "Partner check-in")
LOCATION = obj({"kind": string("Kind of place.", enum=("room", "video", "address")),
                "value": string("Room name, video link or street address.")},
               ["kind", "value"], "Where the event happens.")


def minutes(hm: str) -> int:
    h, m = hm.split(":")
    return int(h) * 60 + int(m)


def hhmm(total: int) -> str:
    return f"{total // 60:02d}:{total % 60:02d}"


class Calendar(Backend):
    domain = "calendar"
    title = "the scheduling assistant of the user's work calendar"
    policy = (
        "Cancel or reschedule only events the user organizes; for an event someone else organizes, use "
        "decline_event instead.",
        "Schedule events only within working hours: start at or after 08:00 and end by 18:00.",
        "Invite people by e-mail address; look addresses up in the contacts.",
    )
    free_fields = {"events": frozenset({"decline_note"})}

    @staticmethod
    def build_world(seed: int) -> World:
        return _world(seed)

    def context(self) -> str:
        p = self.world.profile
        day = dt.date.fromisoformat(self.world.today).strftime("%A")
        return f"The user is {p['name']} ({p['email']}). Today is {day}, {self.world.today}."

    def violation(self, api: Api, args: Mapping[str, Any]) -> str | None:
        owner = self.world.profile["email"]
        if api.name in ("cancel_event", "reschedule_event"):
            ev = self.store.get("events", args["event_id"])
            if ev is not None and ev["organizer"] != owner:
                return f"{api.name} on an event organized by {ev['organizer']}"
        start = length = None
        if api.name == "create_event":
            start, length = minutes(args["start_time"]), args["duration"]["value"]
        elif api.name == "reschedule_event":
            ev = self.store.get("events", args["event_id"])
            if ev is not None:
                start, length = minutes(args["new_start_time"]), ev["duration_minutes"]
        if start is not None and length is not None and (start < DAY_START or start + length > DAY_END):
            return f"{api.name} outside working hours (08:00-18:00)"
        return None

    # ------------------------------------------------------------------
    # Contacts
    # ------------------------------------------------------------------
    @api("Find contacts whose name, e-mail or company contains the query.", optional=("limit",),
         query=string("Text to look for, e.g. a name."),
         limit=integer("Most contacts to return.", minimum=1, maximum=20, default=5))
    def search_contacts(self, query: str, limit: int = 5) -> Any:
        q = query.lower()
        hits = [c for c in self.store.rows("contacts")
                if q in c["name"].lower() or q in c["email"] or q in (c["company"] or "").lower()]
        return [{k: c[k] for k in ("contact_id", "name", "email", "company")} for c in hits[:limit]]

    @api("All details of one contact.", contact_id=string("Contact id, e.g. C-104.", pattern=CONTACT))
    def get_contact(self, contact_id: str) -> Any:
        return dict(self._need("contacts", contact_id, "contact"))

    @api("Save a new contact.", mutates=True, optional=("phone", "company"),
         name=string("Full name."), email=email("E-mail address."),
         phone=string("Phone number, digits with an optional leading +.", pattern=PHONE, max_length=20),
         company=string("Company."))
    def add_contact(self, name: str, email: str, phone: str | None = None, company: str | None = None) -> Any:
        if any(c["email"] == email for c in self.store.rows("contacts")):
            raise InvalidActionError(f"A contact with e-mail {email} already exists.")
        cid = f"C-{self._next('contact')}"
        self.store.put("contacts", cid, {"contact_id": cid, "name": name, "email": email, "phone": phone,
                                         "company": company})
        return {"contact_id": cid, "name": name}

    @api("Change some details of a contact.", mutates=True,
         contact_id=string("Contact id.", pattern=CONTACT),
         changes=obj({"email": email("New e-mail address."),
                      "phone": string("New phone number.", pattern=PHONE, max_length=20),
                      "company": string("New company.")},
                     description="The fields to change (at least one).", min_properties=1))
    def update_contact(self, contact_id: str, changes: dict) -> Any:
        c = self._need("contacts", contact_id, "contact")
        self.store.put("contacts", contact_id, {**c, **changes})
        return {"contact_id": contact_id, "updated": sorted(changes)}

    # ------------------------------------------------------------------
    # Events
    # ------------------------------------------------------------------
    @api("Events from start_date to end_date (inclusive; default: that one day), in time order.",
         optional=("end_date",), start_date=date("First day"), end_date=date("Last day"))
    def list_events(self, start_date: str, end_date: str | None = None) -> Any:
        end_date = end_date or start_date
        if end_date < start_date:
            raise InvalidActionError("end_date is before start_date.")
        if (dt.date.fromisoformat(end_date) - dt.date.fromisoformat(start_date)).days > 31:
            raise InvalidActionError("List at most 31 days at a time.")
        rows = sorted((e for e in self.store.rows("events") if start_date <= e["date"] <= end_date),
                      key=lambda e: (e["date"], e["start"], e["event_id"]))
        return [_summary(e) for e in rows]

    @api("All details of one event.", event_id=string("Event id, e.g. EVT-311.", pattern=EVENT))
    def get_event(self, event_id: str) -> Any:
        e = self._need("events", event_id, "event")
        return {**_summary(e), "attendees": list(e["attendees"]), "location": e["location"],
                "reminder_minutes": e["reminder"], "response": e["response"]}

    @api("Create an event organized by the user.", mutates=True,
         optional=("attendees", "location", "reminder_minutes"),
         title=string("Title."), date=date("Day of the event"), start_time=time("Start"),
         duration=duration("How long it lasts."),
         attendees=array(email(), "E-mail addresses to invite.", max_items=20, unique=True),
         location=LOCATION,
         reminder_minutes=integer("Reminder before the start, in minutes.", enum=REMINDERS, unit="minutes",
                                  default=10))
    def create_event(self, title: str, date: str, start_time: str, duration: dict,
                     attendees: list | None = None, location: dict | None = None, reminder_minutes: int = 10) -> Any:
        eid = f"EVT-{self._next('event')}"
        owner = self.world.profile["email"]
        self.store.put("events", eid, {
            "event_id": eid, "title": title, "date": date, "start": start_time,
            "duration_minutes": int(round(duration["value"])), "organizer": owner,
            "attendees": sorted(set(attendees or [])), "location": location, "reminder": reminder_minutes,
            "response": "organizer", "decline_note": None})
        return {"event_id": eid, "title": title, "date": date, "start_time": start_time}

    @api("Move an event to another day and/or time (same duration).", mutates=True,
         event_id=string("Event id.", pattern=EVENT), new_date=date("New day"), new_start_time=time("New start"))
    def reschedule_event(self, event_id: str, new_date: str, new_start_time: str) -> Any:
        e = self._need("events", event_id, "event")
        self.store.put("events", event_id, {**e, "date": new_date, "start": new_start_time})
        return {"event_id": event_id, "date": new_date, "start_time": new_start_time}

    @api("Cancel (delete) an event the user organizes.", mutates=True, optional=("notify_attendees",),
         event_id=string("Event id.", pattern=EVENT),
         notify_attendees=boolean("Send the attendees a cancellation notice.", default=True))
    def cancel_event(self, event_id: str, notify_attendees: bool = True) -> Any:
        e = self._need("events", event_id, "event")
        self.store.delete("events", event_id)
        if notify_attendees and e["attendees"]:
            self.store.put("notices", event_id, {"event_id": event_id, "to": list(e["attendees"]), "kind": "cancelled"})
        return {"event_id": event_id, "status": "cancelled", "notified": bool(notify_attendees and e["attendees"])}

    @api("Decline an invitation to an event someone else organizes.", mutates=True, optional=("note",),
         event_id=string("Event id.", pattern=EVENT), note=string("A short note to the organizer.", max_length=300))
    def decline_event(self, event_id: str, note: str | None = None) -> Any:
        e = self._need("events", event_id, "event")
        if e["organizer"] == self.world.profile["email"]:
            raise InvalidActionError(f"The user organizes {event_id}; decline is for invitations from others.")
        if e["response"] == "declined":
            raise InvalidActionError(f"{event_id} is already declined.")
        self.store.put("events", event_id, {**e, "response": "declined", "decline_note": note})
        return {"event_id": event_id, "response": "declined"}

    @api("Invite more people to an event the user organizes.", mutates=True,
         event_id=string("Event id.", pattern=EVENT),
         emails=array(email(), "E-mail addresses to add.", min_items=1, max_items=20, unique=True))
    def add_attendees(self, event_id: str, emails: list) -> Any:
        e = self._own(event_id)
        already = [m for m in emails if m in e["attendees"]]
        if already:
            raise InvalidActionError(f"Already invited: {', '.join(already)}.")
        self.store.put("events", event_id, {**e, "attendees": sorted({*e["attendees"], *emails})})
        return {"event_id": event_id, "attendees": sorted({*e["attendees"], *emails})}

    @api("Remove one person from an event the user organizes.", mutates=True,
         event_id=string("Event id.", pattern=EVENT), email=email("Their e-mail address."))
    def remove_attendee(self, event_id: str, email: str) -> Any:
        e = self._own(event_id)
        if email not in e["attendees"]:
            raise InvalidActionError(f"{email} is not invited to {event_id}.")
        self.store.put("events", event_id, {**e, "attendees": [m for m in e["attendees"] if m != email]})
        return {"event_id": event_id, "removed": email}

    @api("Start times (on a 30-minute grid) when the user is free for the whole duration.",
         optional=("earliest", "latest"),
         date=date("The day"), duration_minutes=integer("Length needed.", minimum=15, maximum=480, unit="minutes"),
         earliest=time("Earliest start"), latest=time("Latest end"))
    def find_free_slots(self, date: str, duration_minutes: int, earliest: str | None = None,
                        latest: str | None = None) -> Any:
        lo = minutes(earliest) if earliest else DAY_START
        hi = minutes(latest) if latest else DAY_END
        busy = [(minutes(e["start"]), minutes(e["start"]) + e["duration_minutes"])
                for e in self.store.rows("events") if e["date"] == date and e["response"] != "declined"]
        out = [hhmm(t) for t in range(lo + (-lo) % 30, hi - duration_minutes + 1, 30)
               if all(t + duration_minutes <= a or t >= b for a, b in busy)]
        return {"date": date, "free_starts": out}

    # ------------------------------------------------------------------
    def _own(self, event_id: str) -> dict:
        e = self._need("events", event_id, "event")
        if e["organizer"] != self.world.profile["email"]:
            raise InvalidActionError(f"Only the organizer ({e['organizer']}) can change who is invited to {event_id}.")
        return e

    def _next(self, counter: str) -> int:
        row = self.store.get("session", "counters")
        self.store.put("session", "counters", {**row, counter: row[counter] + 1})
        return row[counter]


def _summary(e: Mapping[str, Any]) -> dict[str, Any]:
    return {"event_id": e["event_id"], "title": e["title"], "date": e["date"], "start_time": e["start"],
            "duration_minutes": e["duration_minutes"], "organizer": e["organizer"]}


@lru_cache(maxsize=2048)
def _world(seed: int) -> World:
    r = random.Random(seed)
    today = today_for(r)
    taken: set[str] = set()
    first, last = person(r, taken)
    owner = f"{first.lower()}.{last.lower()}@northwind.example"
    contacts = {}
    for n in r.sample(range(100, 1000), 10):
        f, l_ = person(r, taken)
        company = r.choice(COMPANIES)
        contacts[f"C-{n}"] = {"contact_id": f"C-{n}", "name": f"{f} {l_}",
                              "email": f"{f.lower()}.{l_.lower()}@{company.split()[0].lower()}.example",
                              "phone": f"+1-555-01{r.randrange(10, 99)}", "company": company}
    emails = [c["email"] for c in contacts.values()]
    events: dict[str, dict[str, Any]] = {}
    slots: set[tuple[str, int]] = set()
    for k, n in enumerate(r.sample(range(200, 1000), 12)):
        while True:
            day = (today + dt.timedelta(days=r.randrange(0, 14))).isoformat()
            start = r.randrange(DAY_START // 30, (DAY_END - 60) // 30) * 30
            if not any((day, start + d) in slots for d in range(-60, 61, 30)):
                break
        length = r.choice((30, 30, 45, 60, 60, 90))
        slots.add((day, start))
        own = k % 2 == 0
        organizer = owner if own else r.choice(emails)
        people = set(r.sample(emails, r.randrange(1, 4)))
        if not own:
            people.discard(organizer)
            people.add(owner)
        events[f"EVT-{n}"] = {
            "event_id": f"EVT-{n}", "title": r.choice(OWN_TITLES if own else OTHER_TITLES), "date": day,
            "start": hhmm(start), "duration_minutes": length, "organizer": organizer,
            "attendees": sorted(people), "location": r.choice((None, {"kind": "room", "value": f"Room {r.randrange(1, 9)}"},
                                                                {"kind": "video", "value": "meet.northwind.example/x"})),
            "reminder": 10, "response": "organizer" if own else "accepted", "decline_note": None}
    tables = {"contacts": contacts, "events": events, "notices": {},
              "session": {"counters": {"contact": 1001 + r.randrange(100), "event": 2001 + r.randrange(500)}}}
    return World("calendar", seed, today.isoformat(), tables, {"name": f"{first} {last}", "email": owner})
