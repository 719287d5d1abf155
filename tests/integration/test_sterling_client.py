"""The Sterling client against the Sterling simulator over loopback HTTP: sessions, retries, errors."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from omsbridge.errors import RetryableError
from omsbridge.http import AmbiguousCallError, RetryPolicy, timeouts
from omsbridge.sterling import BasicAuth, SterlingAuthError, SterlingClient, SterlingError, TokenAuth, templates
from omsbridge.sterling.auth import forget_tokens
from sandbox.sim.base import Fault, SimServer
from sandbox.sim.sterling import SterlingSim
from tests.support import request

USER, PASSWORD = "oms-bridge", "sim-password"
LOGIN = "/smcfs/restapi/invoke/login"
SEED = {
    "nodes": [{"ShipNode": "DC1", "NodeType": "DC", "Description": "East DC", "ZipCode": "07001", "Country": "US"}],
    "inventory": [{"ItemID": "SKU1", "ShipNode": "DC1", "Quantity": 10}],
}


def order_input(order_no: str) -> dict[str, Any]:
    return {"OrderNo": order_no, "OrderLines": {"OrderLine": [
        {"PrimeLineNo": 1, "SubLineNo": 1, "OrderedQty": 2, "Item": {"ItemID": "SKU1", "UnitOfMeasure": "EACH"}}]}}


@pytest.fixture(autouse=True)
def _no_tokens() -> Iterator[None]:
    forget_tokens()
    yield
    forget_tokens()


def serve(sim: SterlingSim) -> Iterator[SimServer]:
    sim.load_seed(SEED)
    sim.store_templates(templates.documents())
    server = SimServer(sim).start()
    try:
        yield server
    finally:
        server.stop()


# One server per module (stopping one takes half a second); each test starts from an empty call
# log, no sessions and no faults, and uses its own order numbers.
@pytest.fixture(scope="module")
def shared_server() -> Iterator[SimServer]:
    yield from serve(SterlingSim(USER, PASSWORD))


def fresh(server: SimServer) -> SimServer:
    sim = server.simulator
    assert isinstance(sim, SterlingSim)
    sim.calls.clear()
    sim.faults.clear()
    sim.faults.injected = 0
    sim.tokens.clear()
    return server


@pytest.fixture
def server(shared_server: SimServer) -> SimServer:
    return fresh(shared_server)


@pytest.fixture
def sim(server: SimServer) -> Iterator[SterlingSim]:
    assert isinstance(server.simulator, SterlingSim)
    login = server.simulator.apis["login"]
    yield server.simulator
    server.simulator.apis["login"] = login


def make_client(server: SimServer, *, auth: Any = None, attempts: int = 3, read_timeout: float = 5.0) -> SterlingClient:
    base = f"{server.url}/smcfs/restapi"
    return SterlingClient(base, "DEFAULT", auth or TokenAuth(base, USER, PASSWORD),
                          policy=RetryPolicy(attempts=attempts, sleep=lambda _: None),
                          timeout=timeouts(connect=2.0, read=read_timeout))


@pytest.fixture(scope="module")
def shared_client(shared_server: SimServer) -> Iterator[SterlingClient]:
    sterling = make_client(shared_server)
    yield sterling
    sterling.close()


@pytest.fixture
def client(server: SimServer, shared_client: SterlingClient) -> SterlingClient:
    return shared_client


def trail(sim: SterlingSim) -> list[tuple[str, int]]:
    """Each call the simulator received: the API or resource path after /restapi, and its HTTP status."""
    return [(call["path"].removeprefix("/smcfs/restapi/"), call["status"]) for call in sim.calls]


def test_logs_in_once_then_sends_the_token_on_every_call(sim: SterlingSim, client: SterlingClient) -> None:
    client.create_order(order_input("1001"))
    client.get_order_details("1001")
    assert trail(sim) == [("invoke/login", 200), ("invoke/createOrder", 200), ("invoke/getOrderDetails", 200)]
    assert sim.calls[0]["body"] == {"LoginID": USER, "Password": PASSWORD}
    assert sim.calls[0]["query"] == {}
    [token] = sim.tokens
    assert sim.calls[1]["query"] == {"_loginid": USER, "_token": token}
    # A read names the output template holding what the flows read.
    assert sim.calls[2]["query"] == {"_loginid": USER, "_token": token, "_templateKey": "omsbridge_order_lines"}


def test_warm_invocations_share_the_session(server: SimServer, sim: SterlingSim, client: SterlingClient) -> None:
    client.get_ship_node_list()
    other = make_client(server)
    other.get_ship_node_list()
    other.close()
    assert trail(sim) == [("invoke/login", 200), ("invoke/getShipNodeList", 200), ("invoke/getShipNodeList", 200)]


def test_an_expired_token_means_one_fresh_login_and_one_repeat(sim: SterlingSim, client: SterlingClient) -> None:
    client.get_ship_node_list()
    sim.expire_tokens()
    order = client.create_order(order_input("1002"))
    assert order.order_no == "1002"
    assert trail(sim) == [
        ("invoke/login", 200), ("invoke/getShipNodeList", 200),
        ("invoke/createOrder", 400), ("invoke/login", 200), ("invoke/createOrder", 200),
    ]
    assert sim.calls[2]["body"] == sim.calls[4]["body"]
    assert ("DEFAULT", "0001", "1002") in sim.orders


def test_a_second_consecutive_ycp0427_is_an_error_not_a_loop(sim: SterlingSim, client: SterlingClient) -> None:
    # A session the next request does not know, as behind ingress without sticky routing.
    issue = sim.apis["login"]

    def login_on_another_pod(body: dict[str, Any]) -> Any:
        answer = issue(body)
        sim.tokens.clear()
        return answer

    sim.apis["login"] = login_on_another_pod
    with pytest.raises(SterlingAuthError) as caught:
        client.get_order_details("1")
    assert caught.value.code == "YCP0427"
    assert caught.value.reason == (
        "getOrderDetails: Sterling rejected the session again right after a fresh login (YCP0427)")
    assert trail(sim) == [("invoke/login", 200), ("invoke/getOrderDetails", 400),
                          ("invoke/login", 200), ("invoke/getOrderDetails", 400)]


def test_a_wrong_password_fails_at_login(server: SimServer, sim: SterlingSim) -> None:
    base = f"{server.url}/smcfs/restapi"
    client = make_client(server, auth=TokenAuth(base, USER, "wrong"))
    with pytest.raises(SterlingAuthError) as caught:
        client.find_order("1")
    assert (caught.value.api, caught.value.code) == ("login", "SIM_LOGIN_FAILED")
    assert trail(sim) == [("invoke/login", 400)]


@pytest.fixture(scope="module")
def shared_basic_server() -> Iterator[SimServer]:
    yield from serve(SterlingSim(USER, PASSWORD, auth_style="basic"))


@pytest.fixture
def basic_server(shared_basic_server: SimServer) -> SimServer:
    return fresh(shared_basic_server)


def test_basic_auth(basic_server: SimServer) -> None:
    sim = basic_server.simulator
    assert isinstance(sim, SterlingSim)
    client = make_client(basic_server, auth=BasicAuth(USER, PASSWORD))
    assert client.create_order(order_input("2001")).status == "Created"
    assert trail(sim) == [("invoke/createOrder", 200)]
    assert sim.calls[0]["query"] == {}
    wrong = make_client(basic_server, auth=BasicAuth(USER, "wrong"))
    with pytest.raises(SterlingAuthError) as caught:
        wrong.get_order_details("2001")
    assert (caught.value.status, caught.value.code) == (401, "YCP0427")
    assert trail(sim)[1:] == [("invoke/getOrderDetails", 401)]


def test_a_token_is_refused_in_basic_mode(basic_server: SimServer) -> None:
    with pytest.raises(SterlingAuthError) as caught:
        make_client(basic_server).find_order("1")
    assert caught.value.status == 401


@pytest.mark.parametrize("fault", [Fault("status", status=503), Fault("status", status=429, retry_after=0.0)])
def test_idempotent_calls_are_retried_on_503_and_429(sim: SterlingSim, client: SterlingClient, fault: Fault) -> None:
    order_no = f"1003-{fault.status}"
    client.create_order(order_input(order_no))
    sim.faults.script(r"/invoke/getOrderDetails$", fault, times=2)
    assert client.get_order_details(order_no).order_no == order_no
    assert trail(sim)[2:] == [("invoke/getOrderDetails", fault.status)] * 2 + [("invoke/getOrderDetails", 200)]


def test_a_non_idempotent_call_is_not_retried(sim: SterlingSim, client: SterlingClient) -> None:
    sim.faults.script(r"/invoke/createOrder$", Fault("status", status=502))
    with pytest.raises(RetryableError) as caught:
        client.create_order(order_input("1004"))
    assert (caught.value.status, caught.value.reason) == (502, "createOrder: sterling answered 502")
    assert trail(sim) == [("invoke/login", 200), ("invoke/createOrder", 502)]
    assert client.find_order("1004") is None


def test_a_non_idempotent_call_refused_with_503_is_sent_again(sim: SterlingSim, client: SterlingClient) -> None:
    sim.faults.script(r"/invoke/createOrder$", Fault("status", status=503))
    client.create_order(order_input("1006"))
    assert trail(sim) == [("invoke/login", 200), ("invoke/createOrder", 503), ("invoke/createOrder", 200)]
    assert client.find_order("1006") is not None


def test_a_business_error_is_not_retried(sim: SterlingSim, client: SterlingClient) -> None:
    client.create_order(order_input("1005"))
    sim.schedule("1005")
    sim.release("1005")
    shipment = sim.include_in_shipment("1005")
    client.confirm_shipment({"ShipmentKey": shipment["ShipmentKey"]})
    calls_before = len(sim.calls)
    with pytest.raises(SterlingError) as caught:
        client.change_order({"OrderNo": "1005", "Action": "CANCEL"}, idempotent=True)
    assert caught.value.code == "YFS10137"
    assert trail(sim)[calls_before:] == [("invoke/changeOrder", 400)]


def test_a_timeout_surfaces_as_retryable(server: SimServer, sim: SterlingSim) -> None:
    client = make_client(server, attempts=2, read_timeout=0.2)
    client.get_ship_node_list()
    sim.faults.script(r"/invoke/getShipNodeList$", Fault("timeout", seconds=0.5), times=2)
    with pytest.raises(RetryableError) as caught:
        client.get_ship_node_list()
    assert not isinstance(caught.value, AmbiguousCallError)
    assert caught.value.reason == "getShipNodeList: sterling timed out: ReadTimeout"
    # A late answer is recorded only once it is sent, so count the injected timeouts instead.
    assert (sim.faults.injected, sim.faults.scripted) == (2, [])


def test_a_create_that_timed_out_is_ambiguous_and_find_order_tells(server: SimServer, sim: SterlingSim) -> None:
    client = make_client(server, read_timeout=0.2)
    client.get_ship_node_list()
    sim.faults.script(r"/invoke/createOrder$", Fault("timeout", seconds=0.5))
    with pytest.raises(AmbiguousCallError):
        client.create_order(order_input("1006"))
    found = client.find_order("1006")
    assert found is not None
    assert found.order_no == "1006"


def test_a_template_stored_through_the_api_template_resource_shapes_the_answer(client: SterlingClient) -> None:
    created = client.create_order(order_input("1007"))
    stored = client.resource("POST", "api_template", body={
        "ApiName": "getOrderDetails", "TemplateKey": "client_test_01", "TemplateType": "00",
        "TemplateData": '<Order OrderNo="" HoldFlag=""><OrderLines><OrderLine PrimeLineNo=""><Item/></OrderLine>'
                        "</OrderLines></Order>"})
    assert stored["TemplateKey"] == "client_test_01"
    answer = client.invoke("getOrderDetails", {"OrderNo": "1007", "EnterpriseCode": "DEFAULT", "DocumentType": "0001"},
                           template_key="client_test_01", idempotent=True)
    # Attributes named are kept; an element named without attributes keeps all of its own.
    assert answer == {"OrderNo": "1007", "HoldFlag": "N", "OrderLines": {"OrderLine": [
        {"PrimeLineNo": "1", "Item": {"ItemID": "SKU1", "UnitOfMeasure": "EACH", "ProductClass": ""}}]}}
    # The connector's template for createOrder shapes createOrder only.
    untouched = client.invoke("getOrderDetails", {"OrderNo": "1007", "EnterpriseCode": "DEFAULT",
                                                  "DocumentType": "0001"},
                              template_key="def_createOrder_01", idempotent=True)
    assert untouched["OrderHeaderKey"] == created.order_header_key
    assert "OrderLines" in untouched


def test_execute_flow_and_rest_resources(sim: SterlingSim, client: SterlingClient) -> None:
    created = client.execute_flow("OMSAABCreateOrder", {"EnterpriseCode": "DEFAULT", "DocumentType": "0001",
                                                         **order_input("1008")}, idempotent=False)
    listed = client.resource("GET", "order", params={"OrderNo": "1008", "EnterpriseCode": "DEFAULT",
                                                     "DocumentType": "0001"}, template_key="def_getOrderList_01")
    detail = client.resource("GET", "order", "detail", params={"OrderNo": "1008", "EnterpriseCode": "DEFAULT"})
    assert detail["OrderHeaderKey"] == created["OrderHeaderKey"]
    assert isinstance(listed, list)
    assert [row["OrderHeaderKey"] for row in listed] == [created["OrderHeaderKey"]]
    assert set(listed[0]) == {"OrderNo", "OrderHeaderKey", "EnterpriseCode", "SellerOrganizationCode",
                              "DocumentType", "BillToKey", "ShipToKey", "Status", "OrderLines", "OrderStatuses"}
    sim.schedule("1008")
    [release] = sim.release("1008")
    line_key = release["OrderLines"]["OrderLine"][0]["OrderLineKey"]
    changed = client.resource("PATCH", "release", release["OrderReleaseKey"], body={"OrderLines": {"OrderLine": [
        {"OrderLineKey": line_key, "Action": "CANCEL", "StatusQuantity": "2", "FromStatus": "3200",
         "ToStatus": "9000"}]}})
    assert changed["Status"] == "9000"
    assert client.get_order_details("1008").status == "Cancelled"
    with pytest.raises(SterlingError) as caught:
        client.execute_flow("NoSuchFlow", {}, idempotent=False)
    assert caught.value.code == "SIM_NOT_SIMULATED"


def test_shipment_round_trip(sim: SterlingSim, client: SterlingClient) -> None:
    client.create_order(order_input("1009"))
    sim.schedule("1009")
    [release] = sim.release("1009")
    created = client.create_shipment({
        "ShipmentNo": "SH-1009",
        "ShipmentLines": {"ShipmentLine": [{"OrderHeaderKey": release["OrderHeaderKey"],
                                            "OrderLineKey": release["OrderLines"]["OrderLine"][0]["OrderLineKey"],
                                            "OrderReleaseKey": release["OrderReleaseKey"], "Quantity": "2",
                                            "ShipmentLineNo": "1", "ShipmentSubLineNo": "0"}]},
    })
    client.change_shipment({"ShipmentKey": created.shipment_key, "SCAC": "UPSN", "Containers": {"Container": [
        {"ContainerNo": "C1", "TrackingNo": "1Z999", "ContainerDetails": {"ContainerDetail": {
            "ItemID": "SKU1", "Quantity": "2", "ShipmentLine": {"ShipmentLineNo": "1", "ShipmentSubLineNo": "0"}}}}]}})
    client.confirm_shipment({"ShipmentNo": "SH-1009", "ShipNode": "DC1", "SellerOrganizationCode": "DEFAULT"})
    shipped = client.get_shipment_details(shipment_no="SH-1009", ship_node="DC1")
    assert (shipped.status, shipped.scac, shipped.tracking_no, shipped.order_nos) == ("1400", "UPSN", "1Z999",
                                                                                      ["1009"])
    [container] = shipped.containers
    assert [(d.item_id, str(d.quantity), d.shipment_line_key) for d in container.details] == [
        ("SKU1", "2.00", shipped.shipment_lines[0].shipment_line_key)]
    assert client.get_order_details("1009").max_order_status == "3700"
    listed = client.resource("GET", "shipment", params={"OrderNo": "1009"})
    assert [row["ShipmentNo"] for row in listed] == ["SH-1009"]
    with pytest.raises(ValueError, match="needs shipment_key"):
        client.get_shipment_details(shipment_no="SH-1009")


def test_the_simulator_answers_ycp0427_without_both_query_parameters(server: SimServer, sim: SterlingSim,
                                                                     client: SterlingClient) -> None:
    client.get_ship_node_list()
    [token] = sim.tokens
    url = f"{server.url}/smcfs/restapi/invoke/getShipNodeList"
    envelope = {"errors": [{"ErrorCode": "YCP0427", "ErrorDescription":
                            "Cannot invoke API because user is not authenticated.",
                            "ErrorUniqueExceptionId": None, "httpcode": 400}]}
    for params in ({"_token": token}, {"_loginid": USER}, {"_loginid": "someone-else", "_token": token}, {}):
        answer = request("POST", url, params=params, json={})
        assert (answer.status_code, answer.json()) == (400, envelope)
    assert request("POST", url, params={"_loginid": USER, "_token": token}, json={}).status_code == 200
