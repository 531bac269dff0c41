"""Scenarios of the shop domain, by category."""

from __future__ import annotations

import datetime as dt
import random
from typing import Any

from agentgym.envs.tools.backends.base import CITIES, STREETS, World, fmt_money
from agentgym.envs.tools.backends.shop import RETURN_DAYS
from agentgym.envs.tools.scenarios.common import (
    DECLINE,
    Builder,
    Skip,
    ask,
    call,
    fact,
    group,
    money_forms,
    pick,
    respond,
    scenario,
    turn,
)

_REASON_SAY = {"damaged": "it arrived damaged", "wrong_item": "they sent the wrong item",
               "no_longer_needed": "I don't need it any more", "too_small": "it's too small",
               "too_large": "it's too large"}


def _orders(w: World, status: str) -> list[dict[str, Any]]:
    return [o for o in w.tables["orders"].values() if o["status"] == status]


def _age(w: World, o: dict[str, Any]) -> int:
    return (dt.date.fromisoformat(w.today) - dt.date.fromisoformat(o["delivered_on"])).days


def _returnable(w: World) -> list[dict[str, Any]]:
    return [o for o in _orders(w, "delivered") if _age(w, o) <= RETURN_DAYS]


def _unique_names(o: dict[str, Any]) -> list[dict[str, Any]]:
    names = [i["name"] for i in o["items"]]
    return [i for i in o["items"] if names.count(i["name"]) == 1]


# --------------------------------------------------------------------------
def single_track(w: World, r: random.Random) -> dict[str, Any]:
    o = pick(r, _orders(w, "shipped"))
    return scenario("shop.single.track", turn(
        f"Where is my order {o['order_id']}? I need the tracking number.",
        call("track_shipment", order_id=o["order_id"]),
        respond(f"{o['order_id']} is with {o['carrier']}, tracking number {o['tracking']}, expected {o['eta']}."),
        required=[[o["tracking"]]]))


def single_cancel(w: World, r: random.Random) -> dict[str, Any]:
    o = pick(r, _orders(w, "processing"))
    return scenario("shop.single.cancel", turn(
        f"Cancel order {o['order_id']}, I ordered it by mistake.",
        call("cancel_order", order_id=o["order_id"], reason="ordered_by_mistake"),
        respond(f"Order {o['order_id']} is cancelled; {fmt_money(o['total'])} will be refunded.")))


def single_credit(w: World, r: random.Random) -> dict[str, Any]:
    credit = w.tables["account"]["credit"]["store_credit"]
    return scenario("shop.single.credit", turn(
        "How much store credit do I have?", call("get_store_credit"),
        respond(f"You have {fmt_money(credit)} in store credit."), required=[money_forms(credit)]))


def distractor_exchange(w: World, r: random.Random) -> dict[str, Any]:
    products = w.tables["products"]
    options = [(o, i, p) for o in _returnable(w) for i in _unique_names(o)
               for p in products.values() if p["family"] == products[i["sku"]]["family"] and p["sku"] != i["sku"]
               and p["stock"] > 0]
    o, item, new = pick(r, options, "exchangeable item")
    return scenario("shop.distractor.exchange", turn(
        f"The {item['name']} ({item['sku']}) from order {o['order_id']} doesn't fit. Please exchange it for the "
        f"{new['name']} ({new['sku']}).",
        call("exchange_item", order_id=o["order_id"], sku=item["sku"], new_sku=new["sku"],
             checks={"quantity": {"one_of": [1]}}),
        respond(f"The exchange is requested: we'll send the {new['name']}.")))


def distractor_note(w: World, r: random.Random) -> dict[str, Any]:
    o = pick(r, _orders(w, "processing"))
    note = r.choice(("Leave the parcel at the back door", "Please ring the bell twice", "This is a gift, no invoice"))
    return scenario("shop.distractor.note", turn(
        f"Add a note to order {o['order_id']}: \"{note}\".",
        call("add_order_note", order_id=o["order_id"], note=note, checks={"note": {"contains": [note]}}),
        respond(f"I added the note to {o['order_id']}.")))


def distractor_price(w: World, r: random.Random) -> dict[str, Any]:
    p = r.choice(list(w.tables["products"].values()))
    return scenario("shop.distractor.price", turn(
        f"What's the price of {p['sku']}, and is it in stock?", call("get_product", sku=p["sku"]),
        respond(f"{p['name']} costs {fmt_money(p['price'])}; " + ("in stock." if p["stock"] else "out of stock.")),
        required=[money_forms(p["price"])]))


def parallel_prices(w: World, r: random.Random) -> dict[str, Any]:
    a, b = r.sample(list(w.tables["products"].values()), 2)
    return scenario("shop.parallel.prices", turn(
        f"How much do {a['sku']} and {b['sku']} cost?",
        group(call("get_product", sku=a["sku"]), call("get_product", sku=b["sku"])),
        respond(f"{a['name']}: {fmt_money(a['price'])}; {b['name']}: {fmt_money(b['price'])}."),
        required=[money_forms(a["price"]), money_forms(b["price"])]))


def parallel_track(w: World, r: random.Random) -> dict[str, Any]:
    moving = _orders(w, "shipped") + _orders(w, "delivered")
    if len(moving) < 2:
        raise Skip("two shipments")
    a, b = r.sample(moving, 2)
    return scenario("shop.parallel.track", turn(
        f"Give me the tracking numbers of orders {a['order_id']} and {b['order_id']}.",
        group(call("track_shipment", order_id=a["order_id"]), call("track_shipment", order_id=b["order_id"])),
        respond(f"{a['order_id']}: {a['tracking']}; {b['order_id']}: {b['tracking']}."),
        required=[[a["tracking"]], [b["tracking"]]]))


def parallel_cancel(w: World, r: random.Random) -> dict[str, Any]:
    todo = _orders(w, "processing")
    if len(todo) < 2:
        raise Skip("two processing orders")
    a, b = r.sample(todo, 2)
    return scenario("shop.parallel.cancel", turn(
        f"Cancel orders {a['order_id']} and {b['order_id']}; I no longer need them.",
        group(*(call("cancel_order", order_id=o["order_id"], reason="no_longer_needed") for o in (a, b))),
        respond(f"Both {a['order_id']} and {b['order_id']} are cancelled.")))


def chained_cancel_unshipped(w: World, r: random.Random) -> dict[str, Any]:
    todo = _orders(w, "processing")
    if len(todo) != 1:
        raise Skip("one processing order")
    o = todo[0]
    return scenario("shop.chained.cancel_unshipped", turn(
        "Cancel my order that hasn't shipped yet. I found it cheaper elsewhere.",
        call("list_orders", status="processing"), call("cancel_order", order_id=o["order_id"], reason="found_cheaper"),
        respond(f"Order {o['order_id']} is cancelled."), required=[[o["order_id"]]]))


def chained_return_latest(w: World, r: random.Random) -> dict[str, Any]:
    delivered = sorted(_orders(w, "delivered"), key=lambda o: (o["placed_on"], o["order_id"]), reverse=True)
    if not delivered or _age(w, delivered[0]) > RETURN_DAYS:
        raise Skip("recent delivery")
    o = delivered[0]
    item = pick(r, _unique_names(o))
    refund = item["unit_price"] * item["quantity"]
    return scenario("shop.chained.return_latest", turn(
        f"The {item['name']} from my latest delivered order (the most recently placed one that has been "
        "delivered) arrived damaged. Please return it (all of them) and refund my card.",
        call("list_orders", status="delivered"), call("get_order", order_id=o["order_id"]),
        call("return_items", order_id=o["order_id"], items=[{"sku": item["sku"], "quantity": item["quantity"]}],
             reason="damaged", refund_method="original_payment"),
        respond(f"The return is requested; {fmt_money(refund)} goes back to your card."),
        required=[money_forms(refund)]))


def irrelevance_offtopic(w: World, r: random.Random) -> dict[str, Any]:
    q = r.choice(("Which of your sweaters would look best on me?", "Can you write me a short poem about shoes?",
                  "What's the best pizza place in town?"))
    return scenario("shop.irrelevance.offtopic", turn(
        q, respond("Sorry, I can't help with that; I can help with your orders, returns and our products."), required=[DECLINE]))


def irrelevance_discount(w: World, r: random.Random) -> dict[str, Any]:
    price, off = r.randrange(20, 300), r.choice((10, 15, 20, 25, 30))
    pay = price * (100 - off)
    return scenario("shop.irrelevance.discount", turn(
        f"If a ${price} jacket is {off}% off, how much do I pay? Just the math, please.",
        respond(f"You would pay {fmt_money(pay)}."), required=[money_forms(pay)]))


def missing_return(w: World, r: random.Random) -> dict[str, Any]:
    options = [(o, i) for o in _returnable(w) for i in _unique_names(o)]
    o, item = pick(r, options, "returnable item")
    reason = r.choice(("damaged", "wrong_item", "no_longer_needed"))
    refund = item["unit_price"] * item["quantity"]
    return scenario("shop.missing_info.return", turn(
        f"I want to return something from order {o['order_id']}.",
        ask("Which item would you like to return, and why?"),
        call("get_order", order_id=o["order_id"]),
        call("return_items", order_id=o["order_id"], items=[{"sku": item["sku"], "quantity": item["quantity"]}],
             reason=reason, checks={"refund_method": {"one_of": ["original_payment"]}}),
        respond(f"The return of the {item['name']} is requested; {fmt_money(refund)} will be refunded."),
        facts={"item": fact(f"The {item['name']} (all of them).", "which", "item", "what", "product"),
               "reason": fact(f"Because {_REASON_SAY[reason]}.", "why", "reason", "wrong")},
        required=[money_forms(refund)]))


def missing_address(w: World, r: random.Random) -> dict[str, Any]:
    o = pick(r, _orders(w, "processing"))
    city, postal, country = r.choice(CITIES)
    street = f"{r.randrange(1, 400)} {r.choice(STREETS)}"
    if street == o["address"]["street"]:
        raise Skip("same address")
    address = {"street": street, "city": city, "postal_code": postal, "country": country}
    return scenario("shop.missing_info.address", turn(
        f"Please change the shipping address of order {o['order_id']}.",
        ask("What is the new address (street, city, postal code and country)?"),
        call("update_shipping_address", order_id=o["order_id"], address=address),
        respond(f"{o['order_id']} will now ship to {street}, {city}."),
        facts={"address": fact(f"Send it to {street}, {city} {postal}, country {country}.",
                               "address", "where", "street", "city")}))


def multi_status_then_cancel(w: World, r: random.Random) -> dict[str, Any]:
    o = pick(r, _orders(w, "processing"))
    return scenario(
        "shop.multi_turn.status_then_cancel",
        turn(f"What's the status of order {o['order_id']}?", call("get_order", order_id=o["order_id"]),
             respond(f"{o['order_id']} is still processing."), required=[["processing"]]),
        turn("Then please cancel it, delivery is too slow.",
             call("cancel_order", order_id=o["order_id"], reason="delivery_too_slow"),
             respond(f"{o['order_id']} is cancelled.")))


def multi_items_then_return(w: World, r: random.Random) -> dict[str, Any]:
    o = pick(r, _returnable(w))
    item = pick(r, _unique_names(o))
    refund = item["unit_price"] * item["quantity"]
    names = [i["name"] for i in o["items"]]
    return scenario(
        "shop.multi_turn.items_then_return",
        turn(f"What did I order in {o['order_id']}?", call("get_order", order_id=o["order_id"]),
             respond("That order has: " + ", ".join(names) + "."), required=[[n] for n in names]),
        turn(f"Return the {item['name']}, all of them; I no longer need it. Store credit, please.",
             call("return_items", order_id=o["order_id"], items=[{"sku": item["sku"], "quantity": item["quantity"]}],
                  reason="no_longer_needed", refund_method="store_credit"),
             respond(f"Done: {fmt_money(refund)} in store credit."), required=[money_forms(refund)]))


def policy_late_return(w: World, r: random.Random) -> dict[str, Any]:
    late = [o for o in _orders(w, "delivered") if _age(w, o) > RETURN_DAYS]
    o = pick(r, late, "late delivery")
    item = pick(r, _unique_names(o))
    verb = r.choice(("return", "exchange"))
    return scenario("shop.policy.late_return", turn(
        f"I'd like to {verb} the {item['name']} from order {o['order_id']}; I never used it.",
        call("get_order", order_id=o["order_id"]),
        respond(f"I'm sorry: {o['order_id']} was delivered on {o['delivered_on']}, and returns and exchanges are "
                f"only possible within {RETURN_DAYS} days of delivery."),
        required=[[str(RETURN_DAYS)]]))


BUILDERS: dict[str, tuple[Builder, ...]] = {
    "single": (single_track, single_cancel, single_credit),
    "distractor": (distractor_exchange, distractor_note, distractor_price),
    "parallel": (parallel_prices, parallel_track, parallel_cancel),
    "chained": (chained_cancel_unshipped, chained_return_latest),
    "irrelevance": (irrelevance_offtopic, irrelevance_discount),
    "missing_info": (missing_return, missing_address),
    "multi_turn": (multi_status_then_cancel, multi_items_then_return),
    "policy": (policy_late_return,),
}
