"""Settings from the environment and secrets from Secrets Manager.

The credentials are split by concern, one JSON secret each, named ``<SECRET_ID>/<concern>``
(``SECRET_CONCERNS``): a function reads only the concerns its ``SECRET_NAMES`` lists, which are
the ones its IAM policy names, so the public stock-check and storefront functions cannot read the
ingress tokens or the partners' keys. The key that signs DLQ records is a secret of its own, which
the stack generates (``DLQ_SIGNING_SECRET``, read by ``dlq_signing_keys`` when a record is parked).

Both are read once per Lambda container and cached; ``reset()`` forgets them (tests and the
sandbox use it when they change the environment between invocations).
"""

from __future__ import annotations

import functools
import json
import os
from collections.abc import Callable
from decimal import Decimal
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, SecretStr, field_validator


class Settings(BaseModel):
    """Non-secret settings: template parameters passed as environment variables (upper case)."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    commerce_base_url: str = ""
    commerce_auth: Literal["oauth1", "bearer", "ims"] = "oauth1"
    commerce_store_code: str = "default"
    commerce_ims_token_url: str = "https://ims-na1.adobelogin.com/ims/token/v3"  # noqa: S105 - a URL
    commerce_ims_org_id: str = ""
    sterling_base_url: str = ""
    sterling_enterprise_code: str = "DEFAULT"
    # Other Sterling enterprises this bridge serves (comma-separated); documents of any other are parked.
    sterling_extra_enterprise_codes: str = ""
    sterling_auth: Literal["token", "basic"] = "token"
    # The ProductClass of Sterling items: createOrder lines, promising lines, IV availability lines.
    sterling_product_class: str = "GOOD"
    # The PaymentType for a Commerce payment method the payment_types table does not map; empty: such
    # an order is parked with the reason instead of being sent.
    sterling_payment_type_fallback: str = ""
    carrier_base_url: str = ""
    dc_base_url: str = ""
    # Which adapter of omsbridge.carrier / omsbridge.dc speaks to the carrier and the WMS.
    carrier_adapter: str = "generic"
    dc_adapter: str = "generic"
    # What Sterling does with quantity a DC could not pick: backorder it, or cancel it.
    dc_short_pick: Literal["backorder", "cancel"] = "backorder"
    event_bus_name: str = "default"
    state_table: str = ""
    idempotency_table: str = ""
    # Prefix of the secrets' names, and the concerns (SECRET_CONCERNS) this function reads.
    secret_id: str = ""
    secret_names: str = ""
    dlq_url: str = ""
    # ARN of the secret holding dlq_signing_key (the stack's DlqSigningKey).
    dlq_signing_secret: str = ""
    stock_check_fail_mode: Literal["open", "closed"] = "open"
    order_hold_amount: Decimal | None = None
    commerce_webhook_public_key: str = ""
    commerce_webhook_public_key_next: str = ""
    commerce_webhook_signed_bytes: Literal["base64", "raw"] = "base64"
    stock_check_availability: Literal["oms", "iv_network", "iv_node"] = "oms"
    stock_check_ship_nodes: str = ""
    stock_check_distribution_group: str = "DEFAULT"
    stock_check_timeout_ms: int = 1500
    stock_check_cache_seconds: float = 3.0
    iv_base_url: str = ""
    # Empty: every I/O Events delivery is refused (Adobe signs every registration with the same keys).
    io_events_client_id: str = ""
    # The partner event source (= partner bus name) Adobe I/O Events delivers to straight, if any.
    adobe_partner_source: str = ""
    mapping_overrides: str = ""
    http_connect_timeout: float = 3.0
    http_read_timeout: float = 10.0
    http_retry_attempts: int = 4
    http_retry_base_delay: float = 0.2
    http_retry_max_delay: float = 5.0
    max_body_bytes: int = 262_144
    # POST /events/commerce takes Adobe I/O Events' batch deliveries (up to 20 events, 2 MB).
    io_events_max_body_bytes: int = 2_097_152
    # How far in the future an event time may be (the sender's clock may run ahead of ours).
    event_time_max_skew_seconds: int = 300
    # The lowest Sterling shipment status that means shipped (1400 Shipped in Sterling's pipeline).
    shipment_shipped_min_status: str = "1400"
    shipment_notify: bool = True
    invoice_on_shipment: bool = False
    stock_sync_chunk_size: int = 1000
    stock_sync_bulk_threshold: int = 5000
    stock_sync_bulk_poll_seconds: float = 2.0
    stock_sync_bulk_max_wait_seconds: float = 60.0
    # Full reconciliation (StockReconcileStateMachine): Sterling nodes compared, Sterling items per
    # page (one Map item each), pages reconciled at once.
    stock_sync_reconcile_nodes: str = ""
    stock_sync_reconcile_page_size: int = 1000
    stock_sync_reconcile_concurrency: int = 4
    # The Commerce source that RTAM's network-level rows (availability across nodes) update; empty:
    # those rows are skipped, counted and logged.
    stock_network_source: str = ""
    # The stack's functions (logical ids, comma-separated), for GET /info.
    stack_functions: str = ""
    # Storefront API (StorefrontFunction): browser origins allowed by CORS (comma-separated, empty =
    # same origin only), how long answers are reused and cached, how far a pickup store may be.
    storefront_origins: str = ""
    storefront_cache_seconds: float = 5.0
    storefront_timeout_ms: int = 3000
    storefront_pickup_radius: float = 50.0
    storefront_distance_unit: Literal["MILE", "KM"] = "MILE"

    @field_validator("order_hold_amount", mode="before")
    @classmethod
    def _blank_is_none(cls, value: Any) -> Any:
        return None if value in ("", None) else value

    @property
    def served_enterprises(self) -> frozenset[str]:
        """The Sterling enterprise codes whose documents this bridge applies: the configured one, the
        extra ones, and each the ``websites`` mapping table maps a Commerce website to."""
        from omsbridge import websites

        extra = (code.strip() for code in self.sterling_extra_enterprise_codes.split(","))
        return frozenset({self.sterling_enterprise_code.strip(), *(code for code in extra if code),
                          *websites.enterprises()})

    @classmethod
    def from_env(cls, environ: dict[str, str] | None = None) -> Settings:
        env = os.environ if environ is None else environ
        fields = {name: env[name.upper()] for name in cls.model_fields if name.upper() in env}
        return cls.model_validate(fields)


class Secrets(BaseModel):
    """Every credential key, whichever secret holds it. ``SecretStr`` keeps them out of reprs and logs."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    commerce_consumer_key: SecretStr = SecretStr("")
    commerce_consumer_secret: SecretStr = SecretStr("")
    commerce_access_token: SecretStr = SecretStr("")
    commerce_access_token_secret: SecretStr = SecretStr("")
    commerce_bearer_token: SecretStr = SecretStr("")
    ims_client_id: SecretStr = SecretStr("")
    ims_client_secret: SecretStr = SecretStr("")
    sterling_user: SecretStr = SecretStr("")
    sterling_password: SecretStr = SecretStr("")
    ingress_token: SecretStr = SecretStr("")
    ingress_token_next: SecretStr = SecretStr("")
    carrier_api_key: SecretStr = SecretStr("")
    dc_api_key: SecretStr = SecretStr("")
    iv_client_id: SecretStr = SecretStr("")
    iv_client_secret: SecretStr = SecretStr("")
    # PEM client certificate and key for mutual TLS to Sterling (IBM-hosted tenants).
    sterling_client_cert_pem: SecretStr = SecretStr("")
    sterling_client_key_pem: SecretStr = SecretStr("")
    # What Inventory Visibility presents to get a token from the ingress.
    iv_webhook_client_id: SecretStr = SecretStr("")
    iv_webhook_client_secret: SecretStr = SecretStr("")

    def values(self) -> list[str]:
        """Every non-empty secret value (for redaction checks)."""
        return [v.get_secret_value() for v in self.__dict__.values() if v.get_secret_value()]


# Which secret holds which keys: a function is given only the concerns it needs (template.yaml's
# SECRET_NAMES and policies). Public functions call Commerce and Sterling, never hold what lets a
# caller in (ingress) or what partners sign with.
SECRET_CONCERNS: dict[str, tuple[str, ...]] = {
    "commerce": ("commerce_consumer_key", "commerce_consumer_secret", "commerce_access_token",
                 "commerce_access_token_secret", "commerce_bearer_token", "ims_client_id", "ims_client_secret"),
    "sterling": ("sterling_user", "sterling_password", "sterling_client_cert_pem", "sterling_client_key_pem",
                 "iv_client_id", "iv_client_secret"),
    "ingress": ("ingress_token", "ingress_token_next", "iv_webhook_client_id", "iv_webhook_client_secret"),
    "partners": ("carrier_api_key", "dc_api_key"),
}


@functools.cache
def settings() -> Settings:
    return Settings.from_env()


SECRET_MAX_AGE_SECONDS = 300


def secret_name(concern: str, prefix: str | None = None) -> str:
    """The name of the secret holding ``concern``'s keys."""
    return f"{settings().secret_id if prefix is None else prefix}/{concern}"


def secrets() -> Secrets:
    """This function's credentials: the keys of each secret its ``SECRET_NAMES`` lists, each fetched
    at most every ``SECRET_MAX_AGE_SECONDS`` (Powertools caches them): a rotated value reaches warm
    containers within minutes, with no restart. Keys a secret holds for another concern are ignored."""
    current = settings()
    concerns = tuple(name.strip() for name in current.secret_names.split(",") if name.strip())
    if not current.secret_id or not concerns:
        return Secrets()
    return _merged(tuple((concern, _fetch(secret_name(concern))) for concern in concerns))


def dlq_signing_keys() -> tuple[str, ...]:
    """The keys DLQ records are signed with (the first) and verified with (all: the previous one
    stays valid while records signed with it may wait in a queue). Empty when none is configured."""
    secret = settings().dlq_signing_secret
    return dlq_signing_keys_of(_fetch(secret)) if secret else ()


def dlq_signing_keys_of(secret_string: str) -> tuple[str, ...]:
    """The keys in the DLQ signing secret's JSON (replay tools read it themselves)."""
    values = json.loads(secret_string)
    return tuple(str(values[k]) for k in ("dlq_signing_key", "dlq_signing_key_previous") if values.get(k))


def _fetch(secret_id: str) -> str:
    from aws_lambda_powertools.utilities import parameters

    raw = parameters.get_secret(secret_id, max_age=SECRET_MAX_AGE_SECONDS)
    return raw if isinstance(raw, str) else raw.decode()


@functools.lru_cache(maxsize=4)
def _merged(fetched: tuple[tuple[str, str], ...]) -> Secrets:
    values: dict[str, Any] = {}
    for concern, raw in fetched:
        if concern not in SECRET_CONCERNS:
            raise ValueError(f"SECRET_NAMES names {concern!r}; the secrets are {', '.join(SECRET_CONCERNS)}")
        document = json.loads(raw)
        strays = sorted(set(document) - set(SECRET_CONCERNS[concern]))
        if strays:
            from omsbridge.observability import logger

            logger.warning("secret holds keys of another concern; they are ignored",
                           extra={"secret": secret_name(concern), "keys": strays})
        values.update({key: document[key] for key in SECRET_CONCERNS[concern] if key in document})
    return Secrets.model_validate(values)


def reset(*, keep_connections: bool = False) -> None:
    """Forget cached settings and everything built from them, as a new Lambda container would.

    ``keep_connections`` keeps what does not depend on a function's own settings — boto3 clients,
    the secret, upstream login sessions. The sandbox uses it when it switches between functions of
    one stack, which share an AWS account and a secret: a cold start's cost without its point.
    """
    settings.cache_clear()
    for hook in _reset_hooks:
        hook()
    if keep_connections:
        return
    _merged.cache_clear()
    from aws_lambda_powertools.utilities import parameters

    parameters.clear_caches()
    for hook in _connection_hooks:
        hook()


_reset_hooks: list[Callable[[], Any]] = []
_connection_hooks: list[Callable[[], Any]] = []


def on_reset(hook: Callable[[], Any]) -> Callable[[], Any]:
    """Register a cache-clearing function for state built from the settings."""
    _reset_hooks.append(hook)
    return hook


def on_new_connections(hook: Callable[[], Any]) -> Callable[[], Any]:
    """Register a cache-clearing function for connections and sessions (see ``reset``)."""
    _connection_hooks.append(hook)
    return hook
