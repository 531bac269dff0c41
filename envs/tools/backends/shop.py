"""Orders and returns of an online shop: orders, shipments, cancellations,
addresses, returns, exchanges, products, order notes, store credit (13 tools).

Order statuses are ``processing`` (cancellable, re-addressable), ``shipped``,
``delivered`` (returnable) and ``cancelled``. Every world has at least one
order in each of the first three states and two delivered orders, one inside
and one outside the 30-day return window.
"""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Mapping
from functools import lru_cache
from typing import Any

from agentgym.envs.tools.backends.base import (
    CITIES,
    STREETS,
    Api,
    Backend,
    World,
    api,
    cents,
    money_out,
    person,
    today_for,
)
from agentgym.envs.tools.schema import array, boolean, date, integer, money, obj, string
from agentgym.errors import InvalidActionError

__all__ = ["ADDRESS", "PRODUCTS", "RETURN_DAYS", "Shop"]

ORDER = r"ORD-\d{5}"
SKU = r"SKU-\d{4}"
RETURN = r"RET-\d{4}"
RETURN_DAYS = 30
STATUSES = ("processing", "shipped", "delivered", "cancelled")
CANCEL_REASONS = ("no_longer_needed", "ordered_by_mistake", "found_cheaper", "delivery_too_slow", "other")
RETURN_REASONS = ("damaged", "wrong_item", "no_longer_needed", "too_small", "too_large")
COUNTRIES = ("US", "CA", "GB", "DE", "FR")
CARRIERS = ("UPS", "FedEx", "DHL", "Royal Mail")

# (family, variants, price in cents); a sized family has one SKU per size.
PRODUCTS: tuple[tuple[str, tuple[str, ...], int], ...] = (
    ("Trail Running Shoe", ("size 8", "size 9", "size 10", "size 11"), 11_900),
    ("Wool Sweater", ("size S", "size M", "size L"), 7_450),
    ("Rain Jacket", ("size S", "size M", "size L"), 9_800),
    ("Ceramic Mug Set", ("",), 3_200),
    ("Desk Lamp", ("",), 4_599),
    ("Bluetooth Speaker", ("",), 5_999),
    ("Yoga Mat", ("",), 2_850),
    ("Insulated Water Bottle", ("",), 2_499),
    ("Canvas Backpack", ("",), 6_400),
    ("Coffee Grinder", ("",), 8_900),
    ("Notebook Pack", ("",), 1_299),
)

ADDRESS = obj(
    {"street": string("Street and number."), "city": string("City."),
     "postal_code": string("Postal code.", max_length=10),
     "country": string("ISO 3166 country code.", enum=COUNTRIES)},
    ["street", "city", "postal_code", "country"],
    "A shipping address.",
)


class Shop(Backend):
    domain = "shop"
    title = "the customer-support assistant of the Northwind online store"
    policy = (
        f"Returns and exchanges are accepted only within {RETURN_DAYS} days of the delivery date.",
        "Only orders that are still 'processing' can be cancelled or get a new shipping address.",
        "Refunds go to the original payment method unless the customer asks for store credit.",
    )
    free_fields = {"notes": frozenset({"text"})}

    @staticmethod
    def build_world(seed: int) -> World:
        return _world(seed)

    def context(self) -> str:
        p = self.world.profile
        return f"The customer is {p['name']} ({p['email']}). Today is {self.world.today}."

    def violation(self, api: Api, args: Mapping[str, Any]) -> str | None:
        if api.name in ("return_items", "exchange_item"):
            order = self.store.get("orders", args["order_id"])
            if order is not None and order["delivered_on"] is not None:
                age = (self.today - dt.date.fromisoformat(order["delivered_on"])).days
                if age > RETURN_DAYS:
                    return f"{api.name} {age} days after delivery (limit {RETURN_DAYS})"
        return None

    # ------------------------------------------------------------------
    # Orders
    # ------------------------------------------------------------------
    @api("List the customer's orders, newest first.", optional=("status", "placed_after"),
         status=string("Only orders in this status.", enum=STATUSES),
         placed_after=date("Only orders placed on or after this date"))
    def list_orders(self, status: str | None = None, placed_after: str | None = None) -> Any:
        rows = [o for o in self.store.rows("orders") if (status is None or o["status"] == status)
                and (placed_after is None or o["placed_on"] >= placed_after)]
        rows.sort(key=lambda o: (o["placed_on"], o["order_id"]), reverse=True)
        return [{"order_id": o["order_id"], "placed_on": o["placed_on"], "status": o["status"],
                 "total": money_out(o["total"], "USD")} for o in rows]

    @api("Details of one order: items, total, status, address, delivery date.",
         order_id=string("Order id, e.g. ORD-12345.", pattern=ORDER))
    def get_order(self, order_id: str) -> Any:
        o = self._need("orders", order_id, "order")
        return {"order_id": order_id, "placed_on": o["placed_on"], "status": o["status"],
                "items": [{"sku": i["sku"], "name": i["name"], "quantity": i["quantity"],
                           "unit_price": money_out(i["unit_price"], "USD")} for i in o["items"]],
                "total": money_out(o["total"], "USD"), "shipping_address": o["address"],
                "delivered_on": o["delivered_on"]}

    @api("Carrier, tracking number and delivery estimate of a shipped order.",
         order_id=string("Order id.", pattern=ORDER))
    def track_shipment(self, order_id: str) -> Any:
        o = self._need("orders", order_id, "order")
        if o["status"] not in ("shipped", "delivered"):
            raise InvalidActionError(f"{order_id} has not shipped (status: {o['status']}).")
        out = {"order_id": order_id, "carrier": o["carrier"], "tracking_number": o["tracking"], "status": o["status"]}
        out["delivered_on" if o["status"] == "delivered" else "estimated_delivery"] = o["delivered_on"] or o["eta"]
        return out

    @api("Cancel an order that is still processing.", mutates=True,
         order_id=string("Order id.", pattern=ORDER),
         reason=string("Why the customer cancels.", enum=CANCEL_REASONS))
    def cancel_order(self, order_id: str, reason: str) -> Any:
        o = self._processing(order_id, "cancelled")
        self.store.put("orders", order_id, {**o, "status": "cancelled", "cancel_reason": reason})
        return {"order_id": order_id, "status": "cancelled", "refund": money_out(o["total"], "USD")}

    @api("Change the shipping address of an order that is still processing.", mutates=True,
         order_id=string("Order id.", pattern=ORDER), address=ADDRESS)
    def update_shipping_address(self, order_id: str, address: dict) -> Any:
        o = self._processing(order_id, "re-addressed")
        self.store.put("orders", order_id, {**o, "address": address})
        return {"order_id": order_id, "shipping_address": address}

    @api("Add a note to an order (delivery instructions, gift message...).", mutates=True,
         order_id=string("Order id.", pattern=ORDER), note=string("The note.", max_length=500))
    def add_order_note(self, order_id: str, note: str) -> Any:
        self._need("orders", order_id, "order")
        nid = f"N-{self._next('note')}"
        self.store.put("notes", nid, {"note_id": nid, "order_id": order_id, "text": note})
        return {"note_id": nid, "order_id": order_id}

    # ------------------------------------------------------------------
    # Returns and exchanges
    # ------------------------------------------------------------------
    @api("Return delivered items for a refund.", mutates=True, optional=("refund_method",),
         order_id=string("Order id.", pattern=ORDER),
         items=array(obj({"sku": string("SKU of the item.", pattern=SKU),
                          "quantity": integer("How many.", minimum=1, maximum=20)}, ["sku", "quantity"]),
                     "Items to return.", min_items=1, max_items=10),
         reason=string("Why.", enum=RETURN_REASONS),
         refund_method=string("Where the refund goes.", enum=("original_payment", "store_credit"),
                              default="original_payment"))
    def return_items(self, order_id: str, items: list, reason: str, refund_method: str = "original_payment") -> Any:
        o = self._delivered(order_id)
        total = 0
        for it in items:
            line = next((i for i in o["items"] if i["sku"] == it["sku"]), None)
            if line is None:
                raise InvalidActionError(f"{it['sku']} is not in {order_id}.")
            left = line["quantity"] - self._returned(order_id, it["sku"])
            if it["quantity"] > left:
                raise InvalidActionError(f"Only {left} of {it['sku']} can still be returned from {order_id}.")
            total += line["unit_price"] * it["quantity"]
        merged: dict[str, int] = {}
        for it in items:
            merged[it["sku"]] = merged.get(it["sku"], 0) + it["quantity"]
        rid = f"RET-{self._next('return')}"
        self.store.put("returns", rid, {"return_id": rid, "order_id": order_id, "kind": "return",
                                        "items": sorted(merged.items()), "reason": reason,
                                        "refund_method": refund_method, "refund": total, "status": "requested"})
        if refund_method == "store_credit":
            acct = self.store.get("account", "credit")
            self.store.put("account", "credit", {**acct, "store_credit": acct["store_credit"] + total})
        return {"return_id": rid, "status": "requested", "refund": money_out(total, "USD"),
                "refund_method": refund_method}

    @api("Exchange a delivered item for another variant (e.g. size) of the same product.", mutates=True,
         optional=("quantity",),
         order_id=string("Order id.", pattern=ORDER),
         sku=string("SKU of the item to send back.", pattern=SKU),
         new_sku=string("SKU of the variant wanted instead.", pattern=SKU),
         quantity=integer("How many.", minimum=1, maximum=20, default=1))
    def exchange_item(self, order_id: str, sku: str, new_sku: str, quantity: int = 1) -> Any:
        o = self._delivered(order_id)
        line = next((i for i in o["items"] if i["sku"] == sku), None)
        if line is None:
            raise InvalidActionError(f"{sku} is not in {order_id}.")
        if quantity > line["quantity"] - self._returned(order_id, sku):
            raise InvalidActionError(f"Not that many of {sku} are left to exchange in {order_id}.")
        old, new = self._need("products", sku, "product"), self._need("products", new_sku, "product")
        if old["family"] != new["family"] or sku == new_sku:
            raise InvalidActionError(f"{new_sku} is not another variant of {old['family']}.")
        if new["stock"] < quantity:
            raise InvalidActionError(f"{new_sku} is out of stock.")
        rid = f"RET-{self._next('return')}"
        self.store.put("products", new_sku, {**new, "stock": new["stock"] - quantity})
        self.store.put("returns", rid, {"return_id": rid, "order_id": order_id, "kind": "exchange",
                                        "items": [[sku, quantity]], "new_sku": new_sku, "reason": "exchange",
                                        "refund_method": None, "refund": 0, "status": "requested"})
        return {"return_id": rid, "status": "requested", "sending": new["name"]}

    @api("The customer's returns and exchanges, optionally for one order.", optional=("order_id",),
         order_id=string("Only this order.", pattern=ORDER))
    def list_returns(self, order_id: str | None = None) -> Any:
        return [{"return_id": r["return_id"], "order_id": r["order_id"], "kind": r["kind"], "status": r["status"]}
                for r in self.store.rows("returns") if order_id is None or r["order_id"] == order_id]

    @api("Details of one return or exchange.", return_id=string("Return id, e.g. RET-1234.", pattern=RETURN))
    def get_return(self, return_id: str) -> Any:
        r = self._need("returns", return_id, "return")
        return {**{k: v for k, v in r.items() if k != "refund"}, "refund": money_out(r["refund"], "USD"),
                "items": [{"sku": s, "quantity": q} for s, q in r["items"]]}

    # ------------------------------------------------------------------
    # Catalogue, store credit
    # ------------------------------------------------------------------
    @api("Search the catalogue by name.", optional=("max_price", "in_stock_only"),
         query=string("Words of the product name."),
         max_price=money("Only products at or below this price (USD)."),
         in_stock_only=boolean("Only products in stock.", default=False))
    def search_products(self, query: str, max_price: dict | None = None, in_stock_only: bool = False) -> Any:
        words = query.lower().split()
        limit = None if max_price is None else cents(max_price["amount"])
        if max_price is not None and max_price["currency"] != "USD":
            raise InvalidActionError("Prices are in USD; give max_price in USD.")
        return [{"sku": p["sku"], "name": p["name"], "price": money_out(p["price"], "USD"), "in_stock": p["stock"] > 0}
                for p in self.store.rows("products")
                if all(w in p["name"].lower() for w in words) and (limit is None or p["price"] <= limit)
                and (not in_stock_only or p["stock"] > 0)][:10]

    @api("Details of one product: name, price, stock.", sku=string("SKU, e.g. SKU-1234.", pattern=SKU))
    def get_product(self, sku: str) -> Any:
        p = self._need("products", sku, "product")
        return {"sku": sku, "name": p["name"], "price": money_out(p["price"], "USD"), "stock": p["stock"]}

    @api("The customer's store-credit balance.")
    def get_store_credit(self) -> Any:
        return {"store_credit": money_out(self.store.get("account", "credit")["store_credit"], "USD")}

    # ------------------------------------------------------------------
    def _processing(self, order_id: str, verb: str) -> dict:
        o = self._need("orders", order_id, "order")
        if o["status"] != "processing":
            raise InvalidActionError(f"{order_id} is {o['status']}; only processing orders can be {verb}.")
        return o

    def _delivered(self, order_id: str) -> dict:
        o = self._need("orders", order_id, "order")
        if o["status"] != "delivered":
            raise InvalidActionError(f"{order_id} is {o['status']}; only delivered orders can be returned or exchanged.")
        return o

    def _returned(self, order_id: str, sku: str) -> int:
        return sum(q for r in self.store.rows("returns") if r["order_id"] == order_id
                   for s, q in r["items"] if s == sku)

    def _next(self, counter: str) -> int:
        row = self.store.get("session", "counters")
        self.store.put("session", "counters", {**row, counter: row[counter] + 1})
        return row[counter]


@lru_cache(maxsize=2048)
def _world(seed: int) -> World:
    r = random.Random(seed)
    today = today_for(r)
    first, last = person(r, set())
    products: dict[str, dict[str, Any]] = {}
    sku = 1000 + r.randrange(200)
    for family, variants, price in PRODUCTS:
        for v in variants:
            sku += 1 + r.randrange(5)
            name = f"{family} ({v})" if v else family
            products[f"SKU-{sku}"] = {"sku": f"SKU-{sku}", "name": name, "family": family, "price": price,
                                      "stock": 0 if r.random() < 0.1 else r.randrange(1, 40)}
    skus = list(products)
    city, postal, country = r.choice(CITIES)
    home = {"street": f"{r.randrange(1, 400)} {r.choice(STREETS)}", "city": city, "postal_code": postal,
            "country": country}
    # processing, shipped, delivered (recent), delivered (old), then two random
    plan = [("processing", 0, 3), ("shipped", 3, 8), ("delivered", 6, 25), ("delivered", 38, 90)]
    plan += [(r.choice(("processing", "shipped", "delivered", "cancelled")), 2, 60) for _ in range(2)]
    orders = {}
    numbers = r.sample(range(10000, 100000), len(plan))
    for (status, lo, hi), n in zip(plan, numbers, strict=True):
        age = r.randrange(lo, hi + 1)
        delivered = None
        if status == "delivered":
            delivered = (today - dt.timedelta(days=age)).isoformat()
            age += r.randrange(2, 7)
        lines = []
        for s in r.sample(skus, r.randrange(1, 4)):
            p = products[s]
            lines.append({"sku": s, "name": p["name"], "quantity": r.choice((1, 1, 1, 2)), "unit_price": p["price"]})
        oid = f"ORD-{n}"
        orders[oid] = {
            "order_id": oid, "placed_on": (today - dt.timedelta(days=age)).isoformat(), "status": status,
            "items": lines, "total": sum(i["unit_price"] * i["quantity"] for i in lines), "address": home,
            "delivered_on": delivered, "carrier": r.choice(CARRIERS) if status in ("shipped", "delivered") else None,
            "tracking": f"1Z{r.randrange(10**9, 10**10)}" if status in ("shipped", "delivered") else None,
            "eta": (today + dt.timedelta(days=r.randrange(1, 6))).isoformat() if status == "shipped" else None,
            "cancel_reason": None,
        }
    tables = {
        "orders": orders, "products": products, "returns": {}, "notes": {},
        "account": {"credit": {"store_credit": r.choice((0, 0, 1500, 2500))}},
        "session": {"counters": {"return": 2001 + r.randrange(300), "note": 11}},
    }
    profile = {"name": f"{first} {last}", "email": f"{first.lower()}.{last.lower()}@mail.example",
               "address": home}
    return World("shop", seed, today.isoformat(), tables, profile)

