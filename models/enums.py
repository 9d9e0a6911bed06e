"""Closed vocabularies of the contract."""

from enum import StrEnum


class NodeKind(StrEnum):
    DC = "dc"
    STORE = "store"
    VENDOR = "vendor"  # drop-ship supplier: ships to the customer directly, never a pickup


class Service(StrEnum):
    GROUND = "ground"
    TWO_DAY = "two_day"
    NEXT_DAY = "next_day"
    PICKUP = "pickup"

    @property
    def ships(self) -> bool:
        """Pickup is handed over in store; every other service is a parcel."""
        return self is not Service.PICKUP


SHIPPING_SERVICES: tuple[Service, ...] = (Service.GROUND, Service.TWO_DAY, Service.NEXT_DAY)


class Channel(StrEnum):
    WEB = "web"
    MOBILE = "mobile"
    CALL_CENTER = "call_center"
    STORE = "store"
    MARKETPLACE = "marketplace"
