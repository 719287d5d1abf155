"""The Commerce client against the Commerce simulator over real HTTP on 127.0.0.1."""

from __future__ import annotations

from collections.abc import Callable, Generator, Iterator
from typing import Any

import httpx
import pytest
from pydantic import SecretStr

from omsbridge.commerce.auth import OAuth1Auth
from omsbridge.commerce.client import CommerceClient, endpoint
from omsbridge.commerce.search import Filter, search_criteria
from omsbridge.config import Secrets, Settings
from omsbridge.errors import PermanentError, RetryableError
from omsbridge.http import AmbiguousCallError, RetryPolicy, timeouts
from sandbox.sim.base import Fault, SimServer
from sandbox.sim.commerce import IMS_TOKEN_PATH, CommerceSim

KEYS = ("consumer-key", "consumer-secret", "access-token", "access-token-secret")
SEED = {
    "products": [{"sku": "A", "name": "A"}],
    "orders": [{"entity_id": 5, "increment_id": "000000005", "state": "processing", "status": "processing",
                "base_grand_total": 10, "grand_total": 10, "customer_email": "jane@example.com",
                "items": [{"item_id": 50, "sku": "A", "qty_ordered": 2, "row_total": 10}]}],
    "sources": [{"source_code": "dc1"}],
}


@pytest.fixture
def sim() -> CommerceSim:
    simulator = CommerceSim(*KEYS, ims_client_id="ims-client", ims_client_secret="ims-secret")
    simulator.load_seed(SEED)
    return simulator


@pytest.fixture
def server(sim: CommerceSim) -> Iterator[SimServer]:
    running = SimServer(sim).start()
    yield running
    running.stop()


@pytest.fixture
def sleeps() -> list[float]:
    return []


ClientFactory = Callable[..., CommerceClient]


@pytest.fixture
def make_client(server: SimServer, sleeps: list[float]) -> Iterator[ClientFactory]:
    made: list[CommerceClient] = []

    def make(auth: httpx.Auth | None = None, attempts: int = 3, read_timeout: float = 2.0) -> CommerceClient:
        client = CommerceClient(
            endpoint(server.url, "default", cloud_service=False), auth=auth or OAuth1Auth(*KEYS),
            timeout=timeouts(connect=1.0, read=read_timeout),
            policy=RetryPolicy(attempts=attempts, base_delay=0.001, max_delay=5.0, sleep=sleeps.append))
        made.append(client)
        return client

    yield make
    for client in made:
        client.close()


def test_oauth_signatures_including_search_criteria_are_verified(sim: CommerceSim, make_client: ClientFactory
                                                                 ) -> None:
    client = make_client()
    # Spaces, slashes, brackets and percent signs in query values are all inside the signature.
    assert client.search("/orders", [Filter("customer_email", "jane@example.com"),
                                     Filter("increment_id", "0000% 0/5", "like")]) == []
    assert client.find_order_entity_id("000000005") == 5
    assert client.add_order_comment(5, "[oms-bridge] released", "processing") is True
    assert client.get("/orders", search_criteria())["total_count"] == 1
    assert sim.auth_failures == []
    assert [(c["method"], c["path"], c["status"]) for c in sim.calls] == [
        ("GET", "/rest/default/V1/orders", 200), ("GET", "/rest/default/V1/orders", 200),
        ("POST", "/rest/default/V1/orders/5/comments", 200), ("GET", "/rest/default/V1/orders", 200)]
    assert sim.calls[1]["query"]["searchCriteria[filter_groups][0][filters][0][value]"] == "000000005"


class _Tampered(httpx.Auth):
    """Signs correctly, then changes what was signed."""

    def __init__(self, change: Callable[[httpx.Request], None]) -> None:
        self._signer = OAuth1Auth(*KEYS)
        self._change = change

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response]:
        signed = next(self._signer.auth_flow(request))
        self._change(signed)
        yield signed


def _other_query(request: httpx.Request) -> None:
    request.url = request.url.copy_set_param("searchCriteria[pageSize]", "200")


def _forged_signature(request: httpx.Request) -> None:
    header = request.headers["Authorization"]
    start = header.index('oauth_signature="') + len('oauth_signature="')
    request.headers["Authorization"] = header[:start] + "AAAA" + header[start + 4:]


@pytest.mark.parametrize(("change", "why"), [
    (_other_query, "signature mismatch"),
    (_forged_signature, "signature mismatch"),
])
def test_a_tampered_request_is_rejected(sim: CommerceSim, make_client: ClientFactory,
                                        change: Callable[[httpx.Request], None], why: str) -> None:
    client = make_client(auth=_Tampered(change))
    with pytest.raises(PermanentError) as caught:
        client.search("/orders", [Filter("increment_id", "000000005")], page_size=20)
    assert (caught.value.status, caught.value.code) == (401, "unauthorized")
    assert caught.value.reason == ("commerce GET /rest/default/V1/orders answered 401: "
                                   "The consumer isn't authorized to access Magento_Sales::sales.")
    assert sim.auth_failures == [why]


@pytest.mark.parametrize(("keys", "why"), [
    (("consumer-key", "wrong-secret", "access-token", "access-token-secret"), "signature mismatch"),
    (("other-key", "consumer-secret", "access-token", "access-token-secret"), "unknown consumer key"),
    (("consumer-key", "consumer-secret", "other-token", "access-token-secret"), "unknown access token"),
])
def test_wrong_credentials_are_rejected(sim: CommerceSim, make_client: ClientFactory, keys: tuple[str, ...],
                                        why: str) -> None:
    with pytest.raises(PermanentError):
        make_client(auth=OAuth1Auth(*keys)).get_order(5)
    assert sim.auth_failures == [why]


def test_replayed_nonce_and_stale_timestamp_are_rejected(sim: CommerceSim, server: SimServer) -> None:
    request = httpx.Request("GET", f"{server.url}/rest/default/V1/orders/5")
    signed = next(OAuth1Auth(*KEYS).auth_flow(request))
    with httpx.Client() as raw:
        assert raw.send(signed).status_code == 200
        assert raw.send(signed).status_code == 401
        assert sim.oauth is not None
        sim.oauth.clock = lambda: 10**10
        fresh = next(OAuth1Auth(*KEYS).auth_flow(httpx.Request("GET", f"{server.url}/rest/default/V1/orders/5")))
        assert raw.send(fresh).status_code == 401
    assert sim.auth_failures == ["nonce already used", "oauth_timestamp outside the accepted window"]


def test_503_is_retried(sim: CommerceSim, make_client: ClientFactory, sleeps: list[float]) -> None:
    sim.faults.script(r"/V1/orders/5$", Fault("status", status=503))
    assert make_client().get_order(5)["increment_id"] == "000000005"
    assert [c["status"] for c in sim.calls] == [503, 200]
    assert len(sleeps) == 1


def test_429_retry_after_is_honoured(sim: CommerceSim, make_client: ClientFactory, sleeps: list[float]) -> None:
    sim.faults.script(r"/V1/orders/5$", Fault("status", status=429, retry_after=2.5))
    make_client().get_order(5)
    assert sleeps == [2.5]
    assert [c["status"] for c in sim.calls] == [429, 200]


def test_400_is_not_retried(sim: CommerceSim, make_client: ClientFactory, sleeps: list[float]) -> None:
    with pytest.raises(PermanentError) as caught:
        make_client().ship(5, {"items": [{"order_item_id": 50, "qty": 3}],
                               "arguments": {"extension_attributes": {"source_code": "dc1"}}})
    assert caught.value.reason == (
        "commerce POST /rest/default/V1/order/5/ship answered 400: Shipment Document Validation Error(s):\n"
        'The quantity to ship must not be greater than the remaining quantity for product SKU "A".')
    assert (len(sim.calls), sleeps) == (1, [])


def test_a_post_is_not_retried_after_a_500(sim: CommerceSim, make_client: ClientFactory) -> None:
    sim.faults.script(r"/comments$", Fault("status", status=500))
    with pytest.raises(RetryableError) as caught:
        make_client().add_order_comment(5, "note")
    assert caught.value.status == 500
    assert len(sim.calls) == 1


def test_a_post_refused_with_503_is_sent_again(sim: CommerceSim, make_client: ClientFactory) -> None:
    sim.faults.script(r"/comments$", Fault("status", status=503))
    make_client().add_order_comment(5, "note")
    assert [call["status"] for call in sim.calls] == [503, 200]
    assert [h["comment"] for h in sim.orders[5]["status_histories"]] == ["note"]


def test_a_read_timeout_is_retryable(sim: CommerceSim, make_client: ClientFactory) -> None:
    sim.faults.script(r"/V1/orders/5$", Fault("timeout", seconds=0.4), times=2)
    with pytest.raises(RetryableError) as caught:
        make_client(attempts=2, read_timeout=0.1).get_order(5)
    assert not isinstance(caught.value, AmbiguousCallError)
    assert caught.value.reason == "commerce GET /rest/default/V1/orders/5: commerce timed out: ReadTimeout"


def test_a_post_that_times_out_is_ambiguous_and_may_have_happened(sim: CommerceSim, make_client: ClientFactory
                                                                  ) -> None:
    sim.faults.script(r"/comments$", Fault("timeout", seconds=0.4))
    with pytest.raises(AmbiguousCallError):
        make_client(read_timeout=0.1).add_order_comment(5, "note")
    # Commerce did the work; only the answer was lost. The flow must look before resending.
    assert [h["comment"] for h in sim.orders[5]["status_histories"]] == ["note"]


def test_ims_token_is_fetched_once_and_reused(sim: CommerceSim, server: SimServer) -> None:
    settings = Settings(commerce_base_url=server.url, commerce_auth="ims", commerce_store_code="default",
                        commerce_ims_token_url=f"{server.url}{IMS_TOKEN_PATH}", commerce_ims_org_id="ORG@AdobeOrg")
    secrets = Secrets(ims_client_id=SecretStr("ims-client"), ims_client_secret=SecretStr("ims-secret"))
    client = CommerceClient.from_settings(settings, secrets)
    try:
        assert client.get_order(5)["entity_id"] == 5
        assert client.find_order_entity_id("000000005") == 5
    finally:
        client.close()
    assert [(c["method"], c["path"], c["status"]) for c in sim.calls] == [
        ("POST", IMS_TOKEN_PATH, 200), ("GET", "/V1/orders/5", 200), ("GET", "/V1/orders", 200)]
    # The recorded token request never shows the client secret.
    token_call: dict[str, Any] = sim.calls[0]
    assert "ims-secret" not in str(token_call)
    assert sim.auth_failures == []
