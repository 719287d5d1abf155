"""The Adobe Commerce simulator."""

from sandbox.sim.commerce.sim import IMS_TOKEN_PATH, ORDER_SAVED, CommerceSim, canonical_path

__all__ = ["IMS_TOKEN_PATH", "ORDER_SAVED", "CommerceSim", "canonical_path"]
