"""Operations: what omsbridge.http reports per upstream call, the dashboard and the stack-wide alarms
of template.yaml (complete for every function, flow and queue), and GET /info's pure parts."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from omsbridge.config import Secrets, Settings
from omsbridge.errors import IntegrationError, PermanentError, RetryableError
from omsbridge.flows import info
from omsbridge.http import AmbiguousCallError, RetryPolicy, send
from omsbridge.observability import NAMESPACE, Outcome, metrics
from tests.unit.test_template import FUNCTIONS, RESOURCES, ROOT, TEMPLATE, props, ref

# The flow dimension each function's metrics carry (tests/integration/test_observability.py shows
# them emitted); a function added to the template must be added here, and so to the dashboard.
FLOW_OF = {
    "IngressFunction": "ingress", "OrderExportFunction": "order_export", "OrderStatusFunction": "order_status",
    "StockSyncFunction": "stock_sync", "ShipmentSyncFunction": "shipment_sync", "CarrierFunction": "carrier",
    "DistributionCenterFunction": "dc", "StockCheckFunction": "stock_check", "StorefrontFunction": "storefront",
    "InfoFunction": "info", "ReturnsFunction": "returns", "PartnerEventsFunction": "partner_events",
}
ALARMS = sorted(name for name, res in RESOURCES.items() if res["Type"] == "AWS::CloudWatch::Alarm")
DEAD_LETTER_QUEUES = sorted(name for name, res in RESOURCES.items()
                            if res["Type"] == "AWS::SQS::Queue" and name.endswith("DeadLetterQueue"))
SCHEMA = "{OmsBridge,flow,service}"


# -- every upstream call reports its latency and whether it failed ----------------------------------


@pytest.fixture
def emitted() -> Iterator[dict[str, Any]]:
    """The metrics added while the test runs (cleared before and after)."""
    metrics.clear_metrics()
    yield metrics.metric_set
    metrics.clear_metrics()


def call(answers: list[httpx.Response | Exception], *, idempotent: bool = True) -> None:
    queue = list(answers)

    def answer(_: httpx.Request) -> httpx.Response:
        next_answer = queue.pop(0)
        if isinstance(next_answer, Exception):
            raise next_answer
        return next_answer

    client = httpx.Client(transport=httpx.MockTransport(answer))
    policy = RetryPolicy(attempts=4, sleep=lambda _: None)
    send(client, client.build_request("POST", "http://upstream/x"), system="commerce", idempotent=idempotent,
         policy=policy)


TIMEOUT = httpx.ReadTimeout("slow")
REFUSED = httpx.ConnectError("refused")


@pytest.mark.parametrize(("answers", "idempotent", "raised", "errors"), [
    ([httpx.Response(200)], True, None, [0.0]),
    ([httpx.Response(201)], False, None, [0.0]),
    # Retried attempts each count: the failures and the success after them.
    ([httpx.Response(503), httpx.Response(429), httpx.Response(200)], True, None, [1.0, 1.0, 0.0]),
    ([httpx.Response(502)] * 4, True, RetryableError, [1.0] * 4),
    # The far side refusing our credentials is its trouble (or ours to fix), counted as failed.
    ([httpx.Response(401)], True, PermanentError, [1.0]),
    ([httpx.Response(403)], True, PermanentError, [1.0]),
    # An answer about the data (not found, invalid) is an answer: the upstream is healthy.
    ([httpx.Response(404)], True, PermanentError, [0.0]),
    ([httpx.Response(400, json={"message": "bad"})], True, PermanentError, [0.0]),
    ([REFUSED, httpx.Response(200)], True, None, [1.0, 0.0]),
    ([TIMEOUT], False, AmbiguousCallError, [1.0]),
], ids=["200", "201", "503-429-200", "502x4", "401", "403", "404", "400", "refused-then-200", "timeout-post"])
def test_every_attempt_reports_its_latency_and_whether_it_failed(
    emitted: dict[str, Any], answers: list[httpx.Response | Exception], idempotent: bool,
    raised: type[Exception] | None, errors: list[float],
) -> None:
    if raised is None:
        call(answers, idempotent=idempotent)
    else:
        with pytest.raises(raised):
            call(answers, idempotent=idempotent)
    assert sorted(emitted) == ["commerce_error", "commerce_latency"]
    assert emitted["commerce_error"]["Value"] == errors
    assert emitted["commerce_error"]["Unit"] == "Count"
    assert emitted["commerce_latency"]["Unit"] == "Milliseconds"
    latencies = emitted["commerce_latency"]["Value"]
    assert len(latencies) == len(errors)
    assert all(ms >= 0 for ms in latencies)


def test_emf_dimensions_are_the_schema_the_dashboard_and_alarms_query() -> None:
    """In a Lambda container the environment exists before the import; so it does here."""
    code = ("from omsbridge.observability import count, metrics\n"
            "from omsbridge.runtime import use_flow_dimension\n"
            "use_flow_dimension('order_export'); count('processed'); metrics.flush_metrics()\n")
    env = {**os.environ, "POWERTOOLS_SERVICE_NAME": "oms-bridge", "POWERTOOLS_METRICS_NAMESPACE": NAMESPACE,
           "PYTHONPATH": str(ROOT / "layers" / "connectors")}
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True).stdout
    [blob] = [json.loads(line) for line in out.splitlines() if line.startswith("{")]
    [directive] = blob["_aws"]["CloudWatchMetrics"]
    assert directive["Namespace"] == "OmsBridge"
    assert [sorted(dims) for dims in directive["Dimensions"]] == [["flow", "service"]]
    assert (blob["flow"], blob["service"], blob["processed"]) == ("order_export", "oms-bridge", [1.0])


# -- GET /info's function in the template ----------------------------------------------------------


def test_every_function_of_the_template_has_its_flow_here() -> None:
    assert sorted(FLOW_OF) == FUNCTIONS


def test_info_names_every_function_of_the_stack_once() -> None:
    names = props(TEMPLATE, "InfoFunction")["Environment"]["Variables"]["STACK_FUNCTIONS"].split(",")
    assert len(names) == len(set(names))
    assert sorted(names) == FUNCTIONS


def test_info_is_one_get_route_on_the_http_api() -> None:
    events = RESOURCES["InfoFunction"]["Properties"]["Events"]
    assert events == {"Info": {"Type": "HttpApi", "Properties": {
        "ApiId": ref("HttpApi"), "Method": "GET", "Path": "/info"}}}


# -- alarms --------------------------------------------------------------------------------------


def own_errors_alarm(function: str) -> bool:
    return any(
        res["Type"] == "AWS::CloudWatch::Alarm"
        and (res["Properties"].get("Namespace"), res["Properties"].get("MetricName")) == ("AWS/Lambda", "Errors")
        and res["Properties"].get("Dimensions") == [{"Name": "FunctionName", "Value": ref(function)}]
        for res in RESOURCES.values())


def serves_http(function: str) -> bool:
    return any(event["Type"] == "HttpApi" for event in (props(TEMPLATE, function).get("Events") or {}).values())


def summed_functions(alarm: str, metric: str) -> list[str]:
    """The functions whose ``metric`` a metric-math alarm sums (and checks it is such an alarm)."""
    queries = RESOURCES[alarm]["Properties"]["Metrics"]
    [total] = [q for q in queries if q.get("ReturnData")]
    assert total["Expression"] == "SUM(METRICS())"
    stats = [q["MetricStat"] for q in queries if "MetricStat" in q]
    # A metric-math alarm reads at most 10 metrics: past that, split the group.
    assert len(stats) <= 10
    assert {(s["Metric"]["Namespace"], s["Metric"]["MetricName"], s["Stat"]) for s in stats} == {
        ("AWS/Lambda", metric, "Sum")}
    return sorted(s["Metric"]["Dimensions"][0]["Value"]["Ref"] for s in stats)


def test_every_function_s_errors_alarm_on_their_own_or_in_the_stack_wide_sum() -> None:
    assert summed_functions("FunctionErrorsAlarm", "Errors") == [f for f in FUNCTIONS if not own_errors_alarm(f)]
    assert {f for f in FUNCTIONS if own_errors_alarm(f)} == {
        "IngressFunction", "StockCheckFunction", "StorefrontFunction"}


def test_every_function_s_throttles_alarm_in_its_group() -> None:
    assert summed_functions("EndpointThrottlesAlarm", "Throttles") == [f for f in FUNCTIONS if serves_http(f)]
    assert summed_functions("FlowThrottlesAlarm", "Throttles") == [f for f in FUNCTIONS if not serves_http(f)]


def test_webhook_latency_alarm_watches_the_p99_near_commerce_soft_timeout() -> None:
    alarm = RESOURCES["StockCheckLatencyAlarm"]["Properties"]
    assert (alarm["Namespace"], alarm["MetricName"], alarm["ExtendedStatistic"]) == ("AWS/Lambda", "Duration", "p99")
    assert alarm["Dimensions"] == [{"Name": "FunctionName", "Value": ref("StockCheckFunction")}]
    assert (alarm["ComparisonOperator"], alarm["Threshold"]) == ("GreaterThanThreshold", 800)
    soft_timeouts = set(re.findall(r'softTimeout="(\d+)"', (ROOT / "commerce/etc/webhooks.xml").read_text()))
    assert soft_timeouts == {"1000"}


@pytest.mark.parametrize(("alarm", "query"), [
    ("CommerceErrorRateAlarm", "SELECT AVG(commerce_error) FROM SCHEMA(OmsBridge, flow, service)"),
    ("SterlingErrorRateAlarm", "SELECT AVG(sterling_error) FROM SCHEMA(OmsBridge, flow, service)"),
    ("CarrierErrorRateAlarm", "SELECT AVG(carrier_error) FROM SCHEMA(OmsBridge, flow, service)"),
    ("DcErrorRateAlarm", "SELECT AVG(dc_error) FROM SCHEMA(OmsBridge, flow, service)"),
])
def test_upstream_error_rate_alarms_average_the_error_metric_of_every_flow(alarm: str, query: str) -> None:
    properties = RESOURCES[alarm]["Properties"]
    assert [q["Expression"] for q in properties["Metrics"]] == [query]
    assert (properties["ComparisonOperator"], properties["Threshold"]) == ("GreaterThanThreshold", 0.1)
    assert properties["TreatMissingData"] == "notBreaching"


@pytest.mark.parametrize("alarm", ALARMS)
def test_every_alarm_notifies_the_optional_topic(alarm: str) -> None:
    assert RESOURCES[alarm]["Properties"]["AlarmActions"] == {
        "Fn::If": ["HasAlarmTopic", [ref("AlarmTopicArn")], ref("AWS::NoValue")]}


# -- the dashboard ---------------------------------------------------------------------------------


def dashboard() -> tuple[dict[str, Any], list[str]]:
    """The dashboard body as JSON, each ``${Name}`` / ``${Name.Attribute}`` replaced by ``Name``; and
    the substitutions it makes."""
    text = props(TEMPLATE, "Dashboard")["DashboardBody"]["Fn::Sub"]
    names = re.findall(r"\$\{([^}]+)\}", text)
    return json.loads(re.sub(r"\$\{([^}.]+)(\.\w+)?\}", r"\1", text)), names


def searches(body: dict[str, Any]) -> list[str]:
    return [part["expression"] for widget in body["widgets"] for row in widget["properties"].get("metrics", [])
            for part in row if isinstance(part, dict) and "expression" in part]


def dimension_values(widget: dict[str, Any], namespace: str, metric: str) -> list[str]:
    return [row[3] for row in widget["properties"].get("metrics", [])
            if isinstance(row[0], str) and row[:2] == [namespace, metric]]


def test_dashboard_refers_only_to_resources_of_the_stack() -> None:
    _, names = dashboard()
    unknown = {name for name in names if not name.startswith("AWS::") and name.split(".")[0] not in RESOURCES}
    assert unknown == set()


@pytest.mark.parametrize("flow", sorted(set(FLOW_OF.values()) - {"info"}))
def test_dashboard_shows_each_outcome_of_each_flow(flow: str) -> None:
    body, _ = dashboard()
    [query] = [q for q in searches(body) if f'flow="{flow}"' in q]
    assert query.startswith(f"SEARCH('{SCHEMA} ")
    assert {f'MetricName="{outcome}"' for outcome in Outcome} <= set(re.findall(r'MetricName="\w+"', query))


@pytest.mark.parametrize("system", ["commerce", "sterling", "carrier", "dc", "iv", "adobe-ims"])
def test_dashboard_shows_latency_and_error_rate_of_each_upstream(system: str) -> None:
    body, _ = dashboard()
    found = {(metric, stat) for q in searches(body)
             for metric, stat in [("latency", "p99"), ("error", "Average")]
             if f'MetricName="{system}_{metric}"' in q and q.endswith(f"'{stat}', 300)")}
    assert found == {("latency", "p99"), ("error", "Average")}


@pytest.mark.parametrize("metric", ["Errors", "Throttles", "Duration"])
def test_dashboard_shows_lambda_health_of_every_function(metric: str) -> None:
    body, _ = dashboard()
    shown = [sorted(dimension_values(widget, "AWS/Lambda", metric)) for widget in body["widgets"]]
    assert FUNCTIONS in shown


def test_dashboard_shows_every_alarm_and_every_dead_letter_queue() -> None:
    _, names = dashboard()
    assert sorted(n.removesuffix(".Arn") for n in names if n.endswith(".Arn")) == ALARMS
    queues = {n.removesuffix(".QueueName") for n in names if n.endswith(".QueueName")}
    assert queues == {*DEAD_LETTER_QUEUES, "StockSyncQueue"}


# -- GET /info: the fingerprint and what a failure may say -------------------------------------------


def test_no_secret_is_a_setting_so_none_reaches_the_fingerprint() -> None:
    assert set(Settings.model_fields) & set(Secrets.model_fields) == set()
    # Names that sound secret but are not: the secrets' names and a URL.
    assert [name for name in Settings.model_fields if re.search(r"password|secret|token|api_key|private", name)
            ] == ["commerce_ims_token_url", "secret_id", "secret_names", "dlq_signing_secret"]


@pytest.mark.parametrize(("changed", "same"), [
    ({"sterling_enterprise_code": "ACME"}, False),
    ({"commerce_base_url": "https://shop.example.com/"}, False),
    ({"stack_functions": "A,B"}, False),
    ({}, True),
])
def test_fingerprint_changes_with_any_setting_only(changed: dict[str, str], same: bool) -> None:
    base = Settings(commerce_base_url="https://shop.example.com", sterling_base_url="https://oms.example.com")
    assert info.fingerprint(base) == info.fingerprint(Settings(**base.model_dump()))
    assert (info.fingerprint(base) == info.fingerprint(base.model_copy(update=changed))) is same
    assert re.fullmatch(r"sha256:[0-9a-f]{16}", info.fingerprint(base))


@pytest.mark.parametrize(("error", "kind"), [
    (PermanentError("commerce answered 401", status=401, body={"message": "The consumer isn't authorized"}),
     "HTTP 401"),
    (RetryableError("getOrderList: sterling answered 503", status=503, body="<html>upstream maintenance</html>"),
     "HTTP 503"),
    (RetryableError("getOrderList: sterling timed out: ReadTimeout", system="sterling"), "timed out"),
    (AmbiguousCallError("commerce timed out: ReadTimeout", system="commerce"), "timed out"),
    (RetryableError("commerce unreachable: ConnectError", system="commerce"), "no connection"),
    (IntegrationError("login: Sterling answered without a UserToken"), "no connection"),
    (httpx.InvalidURL("no scheme"), "InvalidURL"),
])
def test_a_probe_failure_says_its_kind_never_the_answer(error: Exception, kind: str) -> None:
    assert info.failure_kind(error) == kind


def test_stack_functions_come_from_the_setting() -> None:
    settings = Settings(stack_functions=" IngressFunction, InfoFunction ,,")
    assert info.stack_functions(settings) == ["IngressFunction", "InfoFunction"]
