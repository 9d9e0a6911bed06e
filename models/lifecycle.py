"""The order state machine: statuses, the transitions between them, and which
command may act from which status.

Pure and table-driven so every rule can be read in one place and unit-tested
without a database. Services ask ``require(command, status)`` before acting and
``check_transition(old, new)`` before writing; an illegal move raises
``IllegalTransition`` naming the current state (the API turns it into a 409).
"""

from enum import StrEnum

from models.lifecycle_errors import IllegalTransition


class OrderStatus(StrEnum):
    CREATED = "created"
    VALIDATED = "validated"  # checked and stock reserved provisionally at capture
    SOURCED = "sourced"  # allocated to nodes by a sourcing run
    BACKORDERED = "backordered"  # some quantity waits for stock
    ON_HOLD = "on_hold"
    RELEASED = "released"  # work items exist at the nodes
    PICKED = "picked"
    PACKED = "packed"
    SHIPPED = "shipped"
    DELIVERED = "delivered"
    READY_FOR_PICKUP = "ready_for_pickup"
    PICKED_UP = "picked_up"
    CANCELLED = "cancelled"
    RETURNED = "returned"


S = OrderStatus

# Before release: the order may still be changed, cancelled, held and re-planned.
OPEN = frozenset({S.CREATED, S.VALIDATED, S.SOURCED, S.BACKORDERED})
# A sourcing run plans these (and only their open quantities).
PLANNABLE = OPEN
# Statuses whose work is at the nodes; the order's status follows its work items.
IN_FULFILMENT = frozenset({S.RELEASED, S.PICKED, S.PACKED, S.SHIPPED, S.READY_FOR_PICKUP})

TRANSITIONS: dict[OrderStatus, frozenset[OrderStatus]] = {
    S.CREATED: frozenset({S.VALIDATED, S.SOURCED, S.BACKORDERED, S.ON_HOLD, S.CANCELLED}),
    S.VALIDATED: frozenset({S.VALIDATED, S.SOURCED, S.BACKORDERED, S.ON_HOLD, S.CANCELLED}),
    S.SOURCED: frozenset(
        {S.VALIDATED, S.SOURCED, S.BACKORDERED, S.RELEASED, S.ON_HOLD, S.CANCELLED}
    ),
    S.BACKORDERED: frozenset({S.VALIDATED, S.SOURCED, S.BACKORDERED, S.ON_HOLD, S.CANCELLED}),
    S.ON_HOLD: frozenset({S.CREATED, S.VALIDATED, S.SOURCED, S.BACKORDERED, S.CANCELLED}),
    # Several work items per order move independently, so in fulfilment the order
    # may move between any of these; a rejected pick may leave it backordered.
    **{
        s: frozenset(IN_FULFILMENT | {S.DELIVERED, S.PICKED_UP, S.BACKORDERED})
        for s in IN_FULFILMENT
    },
    S.DELIVERED: frozenset({S.DELIVERED, S.RETURNED}),
    S.PICKED_UP: frozenset({S.PICKED_UP, S.RETURNED}),
    S.CANCELLED: frozenset(),
    S.RETURNED: frozenset(),
}
# A shipped order may be returned before the carrier confirms delivery.
TRANSITIONS[S.SHIPPED] = TRANSITIONS[S.SHIPPED] | {S.RETURNED}


class Command(StrEnum):
    """What callers ask of an order; each is allowed from a fixed set of statuses."""

    CHANGE = "change"
    CANCEL = "cancel"
    CANCEL_LINE = "cancel a line of"
    HOLD = "put on hold"
    UNHOLD = "release the hold on"
    PLAN = "source"
    RELEASE = "release"
    RETURN = "return"


ALLOWED_FROM: dict[Command, frozenset[OrderStatus]] = {
    Command.CHANGE: OPEN | {S.ON_HOLD},
    Command.CANCEL: OPEN | {S.ON_HOLD},
    Command.CANCEL_LINE: OPEN | {S.ON_HOLD},
    Command.HOLD: OPEN,
    Command.UNHOLD: frozenset({S.ON_HOLD}),
    Command.PLAN: PLANNABLE,
    Command.RELEASE: frozenset({S.SOURCED}),
    Command.RETURN: frozenset({S.SHIPPED, S.DELIVERED, S.PICKED_UP}),
}


def _names(statuses: frozenset[OrderStatus]) -> list[str]:
    return sorted(s.value for s in statuses)


def require(command: Command, current: OrderStatus | str, subject: str = "the order") -> None:
    """Raise ``IllegalTransition`` unless ``command`` may act on an order in ``current``."""
    status = OrderStatus(current)
    allowed = ALLOWED_FROM[command]
    if status not in allowed:
        raise IllegalTransition(subject, status.value, command.value + " it", _names(allowed))


def can(command: Command, current: OrderStatus | str) -> bool:
    return OrderStatus(current) in ALLOWED_FROM[command]


def check_transition(
    current: OrderStatus | str, target: OrderStatus | str, subject: str = "the order"
) -> None:
    """Raise ``IllegalTransition`` if the state machine has no edge ``current -> target``."""
    old, new = OrderStatus(current), OrderStatus(target)
    if new not in TRANSITIONS[old]:
        allowed_from = _names(frozenset(s for s, nxt in TRANSITIONS.items() if new in nxt))
        raise IllegalTransition(subject, old.value, f"move to '{new.value}'", allowed_from)


# -- work items ------------------------------------------------------------------------


class WorkItemStatus(StrEnum):
    RELEASED = "released"
    PICKED = "picked"
    PACKED = "packed"
    SHIPPED = "shipped"
    DELIVERED = "delivered"
    READY_FOR_PICKUP = "ready_for_pickup"
    PICKED_UP = "picked_up"
    REJECTED = "rejected"
    ACKNOWLEDGED = "acknowledged"  # a drop-ship vendor accepted the purchase order


W = WorkItemStatus


class WorkKind(StrEnum):
    """What a work item asks of its node: a parcel, a pickup hand-over, or a drop-ship
    purchase order to a vendor (who ships to the customer directly)."""

    SHIP = "ship"
    PICKUP = "pickup"
    DROP_SHIP = "drop_ship"


def work_kind(service: str, node_kind: str) -> WorkKind:
    """A vendor's work is a drop-ship purchase order; pickups are handed over; else parcels."""
    if node_kind == "vendor":
        return WorkKind.DROP_SHIP
    return WorkKind.PICKUP if service == "pickup" else WorkKind.SHIP


class WorkAction(StrEnum):
    PICK = "pick"
    PACK = "pack"
    SHIP = "ship"
    DELIVER = "deliver"
    READY = "ready_for_pickup"
    HAND_OVER = "picked_up"
    REJECT = "reject"
    ACKNOWLEDGE = "acknowledge"


# action -> (statuses it acts from, status it leads to), separately for parcels and pickups.
SHIP_FLOW: dict[WorkAction, tuple[frozenset[WorkItemStatus], WorkItemStatus]] = {
    WorkAction.PICK: (frozenset({W.RELEASED}), W.PICKED),
    WorkAction.PACK: (frozenset({W.PICKED}), W.PACKED),
    WorkAction.SHIP: (frozenset({W.PACKED}), W.SHIPPED),
    WorkAction.DELIVER: (frozenset({W.SHIPPED}), W.DELIVERED),
    WorkAction.REJECT: (frozenset({W.RELEASED, W.PICKED}), W.REJECTED),
}
PICKUP_FLOW: dict[WorkAction, tuple[frozenset[WorkItemStatus], WorkItemStatus]] = {
    WorkAction.PICK: (frozenset({W.RELEASED}), W.PICKED),
    WorkAction.READY: (frozenset({W.PICKED}), W.READY_FOR_PICKUP),
    WorkAction.HAND_OVER: (frozenset({W.READY_FOR_PICKUP}), W.PICKED_UP),
    WorkAction.REJECT: (frozenset({W.RELEASED, W.PICKED}), W.REJECTED),
}

# A vendor acknowledges the purchase order, then confirms shipment (carrier, tracking);
# its picking and packing are its own business.
DROP_SHIP_FLOW: dict[WorkAction, tuple[frozenset[WorkItemStatus], WorkItemStatus]] = {
    WorkAction.ACKNOWLEDGE: (frozenset({W.RELEASED}), W.ACKNOWLEDGED),
    WorkAction.SHIP: (frozenset({W.RELEASED, W.ACKNOWLEDGED}), W.SHIPPED),
    WorkAction.DELIVER: (frozenset({W.SHIPPED}), W.DELIVERED),
    WorkAction.REJECT: (frozenset({W.RELEASED, W.ACKNOWLEDGED}), W.REJECTED),
}
FLOWS: dict[WorkKind, dict[WorkAction, tuple[frozenset[WorkItemStatus], WorkItemStatus]]] = {
    WorkKind.SHIP: SHIP_FLOW,
    WorkKind.PICKUP: PICKUP_FLOW,
    WorkKind.DROP_SHIP: DROP_SHIP_FLOW,
}
_KIND_NAMES = {
    WorkKind.SHIP: "a parcel",
    WorkKind.PICKUP: "a pickup",
    WorkKind.DROP_SHIP: "a drop-ship",
}


def work_item_next(
    action: WorkAction, current: WorkItemStatus | str, kind: WorkKind | str, subject: str
) -> WorkItemStatus:
    """The status a work item moves to, or ``IllegalTransition`` naming its current one."""
    flow = FLOWS[WorkKind(kind)]
    status = WorkItemStatus(current)
    if action not in flow:
        name = _KIND_NAMES[WorkKind(kind)]
        raise IllegalTransition(subject, status.value, f"{action.value} ({name} work item)", [])
    allowed, target = flow[action]
    if status not in allowed:
        raise IllegalTransition(subject, status.value, action.value, _names_w(allowed))
    return target


def _names_w(statuses: frozenset[WorkItemStatus]) -> list[str]:
    return sorted(s.value for s in statuses)


# How far along each work-item status is; an order is as far as its slowest item.
_RANK: dict[WorkItemStatus, int] = {
    W.RELEASED: 0,
    W.ACKNOWLEDGED: 0,
    W.PICKED: 1,
    W.PACKED: 2,
    W.READY_FOR_PICKUP: 3,
    W.SHIPPED: 3,
    W.PICKED_UP: 4,
    W.DELIVERED: 4,
}


def order_status_from_work(statuses: list[WorkItemStatus | str]) -> OrderStatus | None:
    """Order status implied by its (non-rejected) work items; None if it has none."""
    active = [WorkItemStatus(s) for s in statuses if WorkItemStatus(s) is not W.REJECTED]
    if not active:
        return None
    slowest = min(active, key=lambda s: _RANK[s])
    return S.RELEASED if slowest is W.ACKNOWLEDGED else OrderStatus(slowest.value)
