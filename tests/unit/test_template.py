"""Invariants of template.yaml, samconfig.toml and the pinned requirements.

Every function added to the template is held to them: python3.13/arm64 with the connectors layer,
the settings of ARCHITECTURE §6 as environment variables, routes on the one HTTP API, rules on the
integration bus, and — for every asynchronous function — the complete dead-letter wiring.
"""

from __future__ import annotations

import copy
import inspect
import json
import re
import shlex
import tomllib
import typing
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml
from aws_lambda_powertools.utilities.idempotency import DynamoDBPersistenceLayer

from omsbridge import state
from omsbridge.config import SECRET_CONCERNS, Secrets, Settings
from omsbridge.observability import NAMESPACE

ROOT = Path(__file__).resolve().parents[2]


class CfnLoader(getattr(yaml, "CSafeLoader", yaml.SafeLoader)):  # libyaml when there: ten times quicker
    """Reads CloudFormation short forms (``!Ref X``, ``!GetAtt A.B``, ``!Sub ...``) as their long forms."""


def _intrinsic(loader: yaml.SafeLoader, suffix: str, node: yaml.Node) -> dict[str, Any]:
    value: Any
    if isinstance(node, yaml.ScalarNode):
        value = loader.construct_scalar(node)
        if suffix == "GetAtt":
            value = value.split(".", 1)
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node, deep=True)
    else:
        value = loader.construct_mapping(node, deep=True)
    return {suffix if suffix in ("Ref", "Condition") else f"Fn::{suffix}": value}


CfnLoader.add_multi_constructor("!", _intrinsic)
TEMPLATE: dict[str, Any] = yaml.load((ROOT / "template.yaml").read_text(), Loader=CfnLoader)  # noqa: S506
RESOURCES: dict[str, Any] = TEMPLATE["Resources"]
PARAMETERS: dict[str, Any] = TEMPLATE["Parameters"]
GLOBAL_ENV: dict[str, Any] = TEMPLATE["Globals"]["Function"]["Environment"]["Variables"]
FUNCTIONS = sorted(name for name, res in RESOURCES.items() if res["Type"] == "AWS::Serverless::Function")

FOURTEEN_DAYS = 14 * 86400
PUSHED_EVENTS = {"EventBridgeRule", "CloudWatchEvent", "Schedule", "ScheduleV2"}


def ref(name: str) -> dict[str, str]:
    return {"Ref": name}


def arn(name: str) -> dict[str, list[str]]:
    return {"Fn::GetAtt": [name, "Arn"]}


def props(template: dict[str, Any], name: str) -> dict[str, Any]:
    return dict(template["Resources"][name].get("Properties") or {})


def environment() -> list[tuple[str, Any]]:
    """Every environment variable the template sets: the global ones, then each function's own."""
    pairs = list(GLOBAL_ENV.items())
    for name in FUNCTIONS:
        pairs += props(TEMPLATE, name).get("Environment", {}).get("Variables", {}).items()
    return pairs


# ARCHITECTURE §6: each setting, the environment variable the code reads, and its template value.
SETTINGS: dict[str, Any] = {
    "COMMERCE_BASE_URL": ref("CommerceBaseUrl"),
    "COMMERCE_AUTH": ref("CommerceAuth"),
    "COMMERCE_STORE_CODE": ref("CommerceStoreCode"),
    "STERLING_BASE_URL": ref("SterlingBaseUrl"),
    "STERLING_ENTERPRISE_CODE": ref("SterlingEnterpriseCode"),
    "STERLING_EXTRA_ENTERPRISE_CODES": ref("SterlingExtraEnterpriseCodes"),
    "SHIPMENT_SHIPPED_MIN_STATUS": ref("ShipmentShippedMinStatus"),
    "EVENT_TIME_MAX_SKEW_SECONDS": ref("EventTimeMaxSkewSeconds"),
    "STERLING_AUTH": ref("SterlingAuth"),
    "CARRIER_BASE_URL": ref("CarrierBaseUrl"),
    "DC_BASE_URL": ref("DcBaseUrl"),
    "EVENT_BUS_NAME": ref("EventBus"),
    "STATE_TABLE": ref("StateTable"),
    "IDEMPOTENCY_TABLE": ref("IdempotencyTable"),
    "SECRET_ID": ref("SecretId"),
    "STOCK_CHECK_FAIL_MODE": ref("StockCheckFailMode"),
    "ORDER_HOLD_AMOUNT": ref("OrderHoldAmount"),
    "COMMERCE_WEBHOOK_PUBLIC_KEY": ref("CommerceWebhookPublicKey"),
    "COMMERCE_WEBHOOK_PUBLIC_KEY_NEXT": ref("CommerceWebhookPublicKeyNext"),
    "IO_EVENTS_CLIENT_ID": ref("IoEventsClientId"),
    "MAPPING_OVERRIDES": ref("MappingOverrides"),
    "POWERTOOLS_SERVICE_NAME": "oms-bridge",
    "POWERTOOLS_METRICS_NAMESPACE": NAMESPACE,
    "POWERTOOLS_LOG_LEVEL": ref("LogLevel"),
}

# -- the runtime ------------------------------------------------------------------------------------


def test_globals_run_every_function_on_python313_arm64_with_the_layer() -> None:
    function_globals = TEMPLATE["Globals"]["Function"]
    assert TEMPLATE["Transform"] == "AWS::Serverless-2016-10-31"
    assert function_globals["Runtime"] == "python3.13"
    assert function_globals["Architectures"] == ["arm64"]
    assert function_globals["Layers"] == [ref("ConnectorsLayer")]
    assert function_globals["Tracing"] == "Active"


def test_the_layer_is_built_for_the_same_runtime_and_architecture() -> None:
    layer = RESOURCES["ConnectorsLayer"]
    assert layer["Type"] == "AWS::Serverless::LayerVersion"
    assert layer["Properties"]["ContentUri"] == "layers/connectors"
    assert layer["Properties"]["CompatibleRuntimes"] == ["python3.13"]
    assert layer["Properties"]["CompatibleArchitectures"] == ["arm64"]
    assert layer["Metadata"] == {"BuildMethod": "python3.13", "BuildArchitecture": "arm64"}


@pytest.mark.parametrize("name", FUNCTIONS)
def test_no_function_leaves_the_runtime_or_the_layer(name: str) -> None:
    function = props(TEMPLATE, name)
    assert function.get("Runtime", "python3.13") == "python3.13"
    assert function.get("Architectures", ["arm64"]) == ["arm64"]
    assert "Layers" not in function or ref("ConnectorsLayer") in function["Layers"]


@pytest.mark.parametrize("name", FUNCTIONS)
def test_every_function_points_at_its_handler_module(name: str) -> None:
    function = props(TEMPLATE, name)
    handler = function.get("Handler") or TEMPLATE["Globals"]["Function"].get("Handler")
    module = str(handler).rsplit(".", 1)[0].replace(".", "/")
    assert str(function["CodeUri"]).startswith("functions/")
    assert (ROOT / function["CodeUri"] / f"{module}.py").is_file()


# The secrets (omsbridge.config.SECRET_CONCERNS) each function may read: only what it calls with or
# checks callers against. The public ones (stock check, storefront) hold no key that lets a caller in.
READS = {
    "IngressFunction": {"ingress"},
    "StockCheckFunction": {"commerce", "sterling"},
    "StorefrontFunction": {"commerce", "sterling"},
    "OrderStatusFunction": {"commerce"},
    "OrderExportFunction": {"commerce", "sterling"},
    "StockSyncFunction": {"commerce", "sterling"},
    "ShipmentSyncFunction": {"commerce", "sterling"},
    "CarrierFunction": {"commerce", "sterling", "partners"},
    "DistributionCenterFunction": {"sterling", "partners"},
    "ReturnsFunction": {"commerce", "sterling"},
    "InfoFunction": {"ingress", "commerce", "sterling"},
    # Authenticated by its partner event source (AWS), it calls nothing outside.
    "PartnerEventsFunction": set(),
}


def secret_arn(concern: str) -> dict[str, str]:
    return {"Fn::Sub": "arn:${AWS::Partition}:secretsmanager:${AWS::Region}:${AWS::AccountId}:secret:"
                       f"${{SecretId}}/{concern}-??????"}


def test_every_key_has_one_secret_and_every_secret_a_reader() -> None:
    owners = [key for keys in SECRET_CONCERNS.values() for key in keys]
    assert sorted(owners) == sorted(Secrets.model_fields)
    assert set().union(*READS.values()) == set(SECRET_CONCERNS)
    assert set(READS) == set(FUNCTIONS)


@pytest.mark.parametrize("name", FUNCTIONS)
def test_every_function_may_read_its_own_secrets_and_nothing_wider(name: str) -> None:
    function = props(TEMPLATE, name)
    variables = function["Environment"]["Variables"]
    readable = [policy["AWSSecretsManagerGetSecretValuePolicy"]["SecretArn"] for policy in function["Policies"]
                if "AWSSecretsManagerGetSecretValuePolicy" in policy]
    assert not any(set(policy) & {"Statement", "SecretsManagerReadWrite"} for policy in function["Policies"])
    assert {concern for concern in variables["SECRET_NAMES"].split(",") if concern} == READS[name]
    signs_dlq_records = "DLQ_URL" in variables
    expected = [secret_arn(c) for c in READS[name]] + ([ref("DlqSigningKey")] if signs_dlq_records else [])
    assert sorted(map(json.dumps, readable)) == sorted(map(json.dumps, expected))
    assert variables.get("DLQ_SIGNING_SECRET") == (ref("DlqSigningKey") if signs_dlq_records else None)


def test_the_stack_generates_the_dlq_signing_key() -> None:
    assert RESOURCES["DlqSigningKey"]["Type"] == "AWS::SecretsManager::Secret"
    generate = props(TEMPLATE, "DlqSigningKey")["GenerateSecretString"]
    assert (json.loads(generate["SecretStringTemplate"]), generate["GenerateStringKey"]) == ({}, "dlq_signing_key")
    assert generate["PasswordLength"] >= 32


# -- settings -------------------------------------------------------------------------------------


@pytest.mark.parametrize(("variable", "value"), SETTINGS.items())
def test_every_setting_reaches_every_function_as_its_environment_variable(variable: str, value: Any) -> None:
    assert GLOBAL_ENV[variable] == value
    if isinstance(value, dict) and value["Ref"] not in RESOURCES:
        assert value["Ref"] in PARAMETERS


def test_every_environment_variable_is_a_setting_the_code_reads() -> None:
    unread = {
        name for name, _ in environment()
        if not name.startswith("POWERTOOLS_") and name.lower() not in Settings.model_fields
    }
    assert unread == set()


def test_parameter_choices_are_the_values_the_code_accepts() -> None:
    checked = set()
    for variable, value in environment():
        parameter = PARAMETERS.get(value["Ref"], {}) if isinstance(value, dict) else {}
        field = Settings.model_fields.get(variable.lower())
        if "AllowedValues" in parameter and field is not None:
            assert tuple(parameter["AllowedValues"]) == typing.get_args(field.annotation)
            checked.add(variable)
    assert {"COMMERCE_AUTH", "STERLING_AUTH", "STOCK_CHECK_FAIL_MODE"} <= checked


@pytest.mark.parametrize("name", sorted(PARAMETERS))
def test_every_parameter_default_is_valid_so_a_bare_deploy_works(name: str) -> None:
    parameter = PARAMETERS[name]
    assert "Default" in parameter
    default = str(parameter["Default"])
    assert default in [str(v) for v in parameter.get("AllowedValues", [default])]
    assert re.fullmatch(parameter.get("AllowedPattern", ".*"), default)
    if parameter["Type"] == "Number":
        assert float(default) >= float(parameter.get("MinValue", default))


def test_no_secret_is_a_parameter_or_an_environment_variable() -> None:
    secretish = re.compile(r"PASSWORD|SECRET|TOKEN|API_?KEY|PRIVATE", re.IGNORECASE)
    names = {*PARAMETERS, *(name for name, _ in environment())}
    # They name secrets, and hold none.
    assert {n for n in names if secretish.search(n)} == {"SecretId", "SECRET_ID", "SECRET_NAMES", "DLQ_SIGNING_SECRET"}


# -- state ----------------------------------------------------------------------------------------


def test_state_table_has_the_keys_the_code_uses_and_expires_items() -> None:
    table = props(TEMPLATE, "StateTable")
    assert [k["AttributeName"] for k in table["KeySchema"]] == [*state.order_key("100000001")]
    assert table["KeySchema"] == [
        {"AttributeName": "pk", "KeyType": "HASH"},
        {"AttributeName": "sk", "KeyType": "RANGE"},
    ]
    assert table["AttributeDefinitions"] == [
        {"AttributeName": "pk", "AttributeType": "S"},
        {"AttributeName": "sk", "AttributeType": "S"},
    ]
    assert table["TimeToLiveSpecification"] == {"AttributeName": "expires_at", "Enabled": True}


def test_idempotency_table_is_what_powertools_expects() -> None:
    defaults = inspect.signature(DynamoDBPersistenceLayer.__init__).parameters
    table = props(TEMPLATE, "IdempotencyTable")
    assert table["KeySchema"] == [{"AttributeName": defaults["key_attr"].default, "KeyType": "HASH"}]
    assert table["AttributeDefinitions"] == [{"AttributeName": "id", "AttributeType": "S"}]
    assert table["TimeToLiveSpecification"] == {
        "AttributeName": defaults["expiry_attr"].default,
        "Enabled": True,
    }
    assert defaults["expiry_attr"].default == "expiration"


@pytest.mark.parametrize("name", ["StateTable", "IdempotencyTable"])
def test_tables_are_on_demand_recoverable_and_retained(name: str) -> None:
    table = props(TEMPLATE, name)
    assert table["BillingMode"] == "PAY_PER_REQUEST"
    assert table["PointInTimeRecoverySpecification"] == {"PointInTimeRecoveryEnabled": True}
    assert RESOURCES[name]["DeletionPolicy"] == RESOURCES[name]["UpdateReplacePolicy"] == "Retain"


# -- bus and HTTP API -----------------------------------------------------------------------------


def test_the_bus_is_named_by_its_parameter_and_archived() -> None:
    assert props(TEMPLATE, "EventBus") == {"Name": ref("EventBusName")}
    assert RESOURCES["EventBusArchive"]["Type"] == "AWS::Events::Archive"
    archive = props(TEMPLATE, "EventBusArchive")
    assert archive["SourceArn"] == arn("EventBus")
    assert archive["RetentionDays"] == ref("ArchiveRetentionDays")
    assert "EventPattern" not in archive


def test_ingress_serves_exactly_the_inbound_routes_and_may_publish() -> None:
    ingress = props(TEMPLATE, "IngressFunction")
    routes = {(e["Properties"]["Method"], e["Properties"]["Path"]) for e in ingress["Events"].values()}
    assert routes == {
        ("POST", "/events/sterling/{event}"),
        ("POST", "/events/iv/token"),
        ("POST", "/events/iv"),
        ("GET", "/events/commerce"),
        ("POST", "/events/commerce"),
        ("GET", "/events/adobe-io"),
        ("POST", "/events/adobe-io"),
    }
    assert {"EventBridgePutEventsPolicy": {"EventBusName": ref("EventBus")}} in ingress["Policies"]
    assert "EventInvokeConfig" not in ingress


def test_the_http_api_is_throttled_on_the_stage() -> None:
    api = props(TEMPLATE, "HttpApi")
    assert api["StageName"] == ref("Stage")
    assert api["DefaultRouteSettings"]["ThrottlingRateLimit"] > 0
    assert api["DefaultRouteSettings"]["ThrottlingBurstLimit"] > 0


@pytest.mark.parametrize("name", FUNCTIONS)
def test_routes_use_the_one_http_api_and_rules_the_integration_bus(name: str) -> None:
    for event in (props(TEMPLATE, name).get("Events") or {}).values():
        if event["Type"] == "HttpApi":
            assert event["Properties"]["ApiId"] == ref("HttpApi")
        if event["Type"] in ("EventBridgeRule", "CloudWatchEvent"):
            assert event["Properties"]["EventBusName"] == ref("EventBus")


def test_outputs_name_what_an_integrator_needs() -> None:
    assert {"HttpApiUrl", "SterlingEventsUrl", "CommerceEventsUrl", "EventBusName", "EventBusArn",
            "StateTableName", "IdempotencyTableName"} <= set(TEMPLATE["Outputs"])


# -- logs, concurrency, throttles -----------------------------------------------------------------

# Shoppers' traffic reaches these without credentials: each has a concurrency of its own.
PUBLIC_FUNCTIONS = {"StockCheckFunction": "StockCheckReservedConcurrency",
                    "StorefrontFunction": "StorefrontReservedConcurrency"}


def test_every_function_logs_json_lines_at_the_log_level() -> None:
    logging_config = TEMPLATE["Globals"]["Function"]["LoggingConfig"]
    assert logging_config["LogFormat"] == "JSON"
    assert logging_config["ApplicationLogLevel"] == {"Fn::FindInMap": ["LambdaLogLevel", ref("LogLevel"), "Level"]}
    assert logging_config["SystemLogLevel"] in ("INFO", "WARN")
    lambda_levels = {"TRACE", "DEBUG", "INFO", "WARN", "ERROR", "FATAL"}
    levels = TEMPLATE["Mappings"]["LambdaLogLevel"]
    assert set(levels) == set(PARAMETERS["LogLevel"]["AllowedValues"])
    assert {value["Level"] for value in levels.values()} <= lambda_levels


@pytest.mark.parametrize("name", FUNCTIONS)
def test_every_function_logs_to_its_own_group_with_retention(name: str) -> None:
    group = props(TEMPLATE, name)["LoggingConfig"]["LogGroup"]["Ref"]
    assert RESOURCES[group]["Type"] == "AWS::Logs::LogGroup"
    assert props(TEMPLATE, group) == {
        "LogGroupName": {"Fn::Sub": f"/aws/lambda/${{AWS::StackName}}-{name}"},
        "RetentionInDays": ref("LogRetentionDays"),
    }


def test_every_log_group_keeps_logs_for_log_retention_days() -> None:
    groups = {name for name, res in RESOURCES.items() if res["Type"] == "AWS::Logs::LogGroup"}
    assert "HttpApiAccessLogs" in groups
    assert {name: props(TEMPLATE, name).get("RetentionInDays") for name in groups} == dict.fromkeys(
        groups, ref("LogRetentionDays"))


@pytest.mark.parametrize(("name", "parameter"), PUBLIC_FUNCTIONS.items())
def test_public_functions_have_reserved_concurrency_unless_set_to_zero(name: str, parameter: str) -> None:
    condition = TEMPLATE["Conditions"][props(TEMPLATE, name)["ReservedConcurrentExecutions"]["Fn::If"][0]]
    assert props(TEMPLATE, name)["ReservedConcurrentExecutions"]["Fn::If"][1:] == [ref(parameter), ref("AWS::NoValue")]
    assert condition == {"Fn::Not": [{"Fn::Equals": [ref(parameter), 0]}]}
    assert int(PARAMETERS[parameter]["Default"]) > 0


def test_the_stock_check_route_has_a_throttle_of_its_own_above_the_stage_default() -> None:
    [event] = props(TEMPLATE, "StockCheckFunction")["Events"].values()
    assert event["Properties"]["RouteSettings"] == {
        "ThrottlingBurstLimit": ref("StockCheckBurstLimit"), "ThrottlingRateLimit": ref("StockCheckRateLimit")}
    stage = props(TEMPLATE, "HttpApi")["DefaultRouteSettings"]
    assert int(PARAMETERS["StockCheckRateLimit"]["Default"]) > stage["ThrottlingRateLimit"]
    assert int(PARAMETERS["StockCheckBurstLimit"]["Default"]) > stage["ThrottlingBurstLimit"]


# -- dead-letter wiring ---------------------------------------------------------------------------


def dlq_problems(template: dict[str, Any], name: str) -> list[str]:
    """What is missing from function ``name``'s dead-letter wiring (the pattern in template.yaml)."""
    resources = template["Resources"]
    function = props(template, name)
    events = function.get("Events") or {}
    pushed = {k: e for k, e in events.items() if e["Type"] in PUSHED_EVENTS}
    polled = {k: e for k, e in events.items() if e["Type"] == "SQS"}
    if not pushed and not polled:
        return []
    dlq_url = function.get("Environment", {}).get("Variables", {}).get("DLQ_URL")
    dlq = dlq_url.get("Ref") if isinstance(dlq_url, dict) else None
    if dlq is None or resources.get(dlq, {}).get("Type") != "AWS::SQS::Queue":
        return ["DLQ_URL is not a !Ref to a queue"]
    problems = []
    queue = props(template, dlq)
    if queue.get("MessageRetentionPeriod") != FOURTEEN_DAYS:
        problems.append("DLQ does not keep messages 14 days")
    if queue.get("SqsManagedSseEnabled") is not True and "KmsMasterKeyId" not in queue:
        problems.append("DLQ is not encrypted")
    if pushed:
        invoke = function.get("EventInvokeConfig", {})
        if invoke.get("MaximumRetryAttempts") != 2:
            problems.append("EventInvokeConfig.MaximumRetryAttempts is not 2")
        if invoke.get("DestinationConfig", {}).get("OnFailure") != {"Type": "SQS", "Destination": arn(dlq)}:
            problems.append("EventInvokeConfig OnFailure is not the DLQ")
    for event_name, event in pushed.items():
        event_props = event.get("Properties", {})
        if event_props.get("DeadLetterConfig", {}).get("Arn") != arn(dlq):
            problems.append(f"{event_name}: DeadLetterConfig is not the DLQ")
        if not {"MaximumRetryAttempts", "MaximumEventAgeInSeconds"} <= set(event_props.get("RetryPolicy", {})):
            problems.append(f"{event_name}: RetryPolicy is incomplete")
    for event_name, event in polled.items():
        source = event.get("Properties", {}).get("Queue", {}).get("Fn::GetAtt", [""])[0]
        redrive = resources.get(source, {}).get("Properties", {}).get("RedrivePolicy", {})
        if redrive.get("deadLetterTargetArn") != arn(dlq):
            problems.append(f"{event_name}: source queue does not redrive to the DLQ")
    role = function.get("Role", arn(f"{name}Role"))
    senders = _senders(resources, dlq)
    if ("Service", "events.amazonaws.com") not in senders:
        problems.append("DLQ policy does not let EventBridge send")
    elif any(sources != _rules_dead_lettering_to(resources, dlq) for sources in _event_sources(resources, dlq)):
        problems.append("DLQ policy lets EventBridge send for other rules than those dead-lettering to it")
    if ("AWS", json.dumps(role)) not in senders:
        problems.append("DLQ policy does not let the function's role send")
    if not any(_alarms_on(res, dlq) for res in resources.values()):
        problems.append("no alarm on the DLQ")
    return problems


def _senders(resources: dict[str, Any], queue: str) -> set[tuple[str, str]]:
    found = set()
    for res in resources.values():
        if res["Type"] != "AWS::SQS::QueuePolicy" or ref(queue) not in res["Properties"].get("Queues", []):
            continue
        for statement in res["Properties"]["PolicyDocument"].get("Statement", []):
            actions = statement.get("Action", [])
            if statement.get("Effect") != "Allow" or "sqs:SendMessage" not in actions:
                continue
            for kind, principals in statement.get("Principal", {}).items():
                for principal in principals if isinstance(principals, list) else [principals]:
                    found.add((kind, principal if isinstance(principal, str) else json.dumps(principal)))
    return found


def _policy_statements(resources: dict[str, Any], queue: str) -> list[dict[str, Any]]:
    return [statement for res in resources.values()
            if res["Type"] == "AWS::SQS::QueuePolicy" and ref(queue) in res["Properties"].get("Queues", [])
            for statement in res["Properties"]["PolicyDocument"].get("Statement", [])]


def _event_sources(resources: dict[str, Any], queue: str) -> list[set[str]]:
    """For each statement letting EventBridge send to ``queue``: the rule ARNs its aws:SourceArn
    condition allows (empty: any rule of any account)."""
    found = []
    for statement in _policy_statements(resources, queue):
        if statement.get("Principal", {}).get("Service") != "events.amazonaws.com":
            continue
        allowed = statement.get("Condition", {}).get("ArnEquals", {}).get("aws:SourceArn", [])
        found.append({json.dumps(a) for a in (allowed if isinstance(allowed, list) else [allowed])})
    return found


def _rules_dead_lettering_to(resources: dict[str, Any], queue: str) -> set[str]:
    """The rules whose DeadLetterConfig is ``queue``: a function's or state machine's rule and schedule
    events (SAM names the rule <resource><event>) and the template's own AWS::Events::Rule targets."""
    rules = set()
    for name, res in resources.items():
        properties = res.get("Properties") or {}
        if res["Type"] in ("AWS::Serverless::Function", "AWS::Serverless::StateMachine"):
            for event_name, event in (properties.get("Events") or {}).items():
                if event["Type"] in PUSHED_EVENTS and event["Properties"].get("DeadLetterConfig", {}).get(
                        "Arn") == arn(queue):
                    rules.add(json.dumps(arn(f"{name}{event_name}")))
        elif res["Type"] == "AWS::Events::Rule" and any(
                target.get("DeadLetterConfig", {}).get("Arn") == arn(queue) for target in properties["Targets"]):
            rules.add(json.dumps(arn(name)))
    return rules


def _alarms_on(resource: dict[str, Any], queue: str) -> bool:
    alarm = resource.get("Properties") or {}
    return (
        resource["Type"] == "AWS::CloudWatch::Alarm"
        and alarm.get("Namespace") == "AWS/SQS"
        and alarm.get("MetricName") == "ApproximateNumberOfMessagesVisible"
        and {"Name": "QueueName", "Value": {"Fn::GetAtt": [queue, "QueueName"]}} in alarm.get("Dimensions", [])
        and alarm.get("ComparisonOperator") == "GreaterThanThreshold"
        and alarm.get("Threshold") == 0
    )


@pytest.mark.parametrize("name", FUNCTIONS)
def test_every_asynchronous_function_has_its_dead_letter_wiring(name: str) -> None:
    assert dlq_problems(TEMPLATE, name) == []


def test_the_partner_bus_option_routes_adobe_s_form_to_its_function_and_dead_letters_the_rest() -> None:
    # Adobe's partner sources (its "Amazon EventBridge Integration" guide): aws.partner/developer.adobe.com...
    parameter = PARAMETERS["AdobePartnerEventBusName"]
    assert parameter["Default"] == ""
    for name, allowed in [("", True), ("aws.partner/developer.adobe.com/8dc56ec7-dae2-43cf", True),
                          ("aws.partner/developer.adobe.com.test/8dc56ec7", True), ("oms-bridge", False),
                          ("aws.partner/example.com/x", False)]:
        assert bool(re.fullmatch(parameter["AllowedPattern"], name)) is allowed, name
    assert TEMPLATE["Conditions"]["HasAdobePartnerBus"] == {"Fn::Not": [{"Fn::Equals": [
        ref("AdobePartnerEventBusName"), ""]}]}
    rule = RESOURCES["AdobePartnerEventsRule"]
    assert rule["Condition"] == "HasAdobePartnerBus"
    assert rule["Properties"]["EventBusName"] == ref("AdobePartnerEventBusName")
    assert rule["Properties"]["EventPattern"] == {"source": [ref("AdobePartnerEventBusName")],
                                                  "detail-type": [{"wildcard": "*:*"}]}
    [target] = rule["Properties"]["Targets"]
    assert target["Arn"] == arn("PartnerEventsFunction")
    assert target["DeadLetterConfig"] == {"Arn": arn("PartnerEventsDeadLetterQueue")}
    assert {"MaximumRetryAttempts", "MaximumEventAgeInSeconds"} <= set(target["RetryPolicy"])
    permission = RESOURCES["AdobePartnerEventsPermission"]
    assert permission["Condition"] == "HasAdobePartnerBus"
    assert permission["Properties"] == {"FunctionName": ref("PartnerEventsFunction"), "Action": "lambda:InvokeFunction",
                                        "Principal": "events.amazonaws.com", "SourceArn": arn("AdobePartnerEventsRule")}
    function = props(TEMPLATE, "PartnerEventsFunction")
    assert function["Environment"]["Variables"]["ADOBE_PARTNER_SOURCE"] == ref("AdobePartnerEventBusName")
    assert function["Environment"]["Variables"]["DLQ_URL"] == ref("PartnerEventsDeadLetterQueue")
    assert function["EventInvokeConfig"] == {"MaximumRetryAttempts": 2, "DestinationConfig": {
        "OnFailure": {"Type": "SQS", "Destination": arn("PartnerEventsDeadLetterQueue")}}}
    assert {"EventBridgePutEventsPolicy": {"EventBusName": ref("EventBus")}} in function["Policies"]
    queue = props(TEMPLATE, "PartnerEventsDeadLetterQueue")
    assert (queue["MessageRetentionPeriod"], queue["SqsManagedSseEnabled"]) == (FOURTEEN_DAYS, True)
    policy = props(TEMPLATE, "PartnerEventsDeadLetterQueuePolicy")["PolicyDocument"]
    rule_statement, role_statement = policy["Statement"]
    condition, allowed, absent = rule_statement["Fn::If"]
    assert (condition, absent) == ("HasAdobePartnerBus", ref("AWS::NoValue"))
    assert allowed["Principal"] == {"Service": "events.amazonaws.com"}
    assert allowed["Condition"] == {"ArnEquals": {"aws:SourceArn": [arn("AdobePartnerEventsRule")]}}
    assert role_statement["Principal"] == {"AWS": arn("PartnerEventsFunctionRole")}
    assert any(_alarms_on(res, "PartnerEventsDeadLetterQueue") for res in RESOURCES.values())


def _wired() -> dict[str, Any]:
    """A template fragment with the pattern done right: one rule-driven, one queue-driven function."""
    dlq_policy = {
        "Type": "AWS::SQS::QueuePolicy",
        "Properties": {
            "Queues": [ref("ShipDeadLetterQueue")],
            "PolicyDocument": {"Statement": [
                {"Effect": "Allow", "Action": "sqs:SendMessage",
                 "Principal": {"Service": "events.amazonaws.com"},
                 "Condition": {"ArnEquals": {"aws:SourceArn": [arn("ShipFunctionShipped")]}}},
                {"Effect": "Allow", "Action": ["sqs:SendMessage"],
                 "Principal": {"AWS": [arn("ShipFunctionRole"), arn("StockFunctionRole")]}},
            ]},
        },
    }
    alarm = {
        "Type": "AWS::CloudWatch::Alarm",
        "Properties": {
            "Namespace": "AWS/SQS", "MetricName": "ApproximateNumberOfMessagesVisible",
            "Dimensions": [{"Name": "QueueName", "Value": {"Fn::GetAtt": ["ShipDeadLetterQueue", "QueueName"]}}],
            "ComparisonOperator": "GreaterThanThreshold", "Threshold": 0,
        },
    }
    return {"Resources": {
        "ShipFunction": {"Type": "AWS::Serverless::Function", "Properties": {
            "Environment": {"Variables": {"DLQ_URL": ref("ShipDeadLetterQueue")}},
            "EventInvokeConfig": {
                "MaximumRetryAttempts": 2,
                "DestinationConfig": {"OnFailure": {"Type": "SQS", "Destination": arn("ShipDeadLetterQueue")}},
            },
            "Events": {"Shipped": {"Type": "EventBridgeRule", "Properties": {
                "EventBusName": ref("EventBus"),
                "RetryPolicy": {"MaximumRetryAttempts": 8, "MaximumEventAgeInSeconds": 3600},
                "DeadLetterConfig": {"Arn": arn("ShipDeadLetterQueue")},
            }}},
        }},
        "StockFunction": {"Type": "AWS::Serverless::Function", "Properties": {
            "Environment": {"Variables": {"DLQ_URL": ref("ShipDeadLetterQueue")}},
            "Events": {"Batch": {"Type": "SQS", "Properties": {"Queue": arn("StockQueue")}}},
        }},
        "StockQueue": {"Type": "AWS::SQS::Queue", "Properties": {
            "RedrivePolicy": {"deadLetterTargetArn": arn("ShipDeadLetterQueue"), "maxReceiveCount": 5},
        }},
        "ShipDeadLetterQueue": {"Type": "AWS::SQS::Queue", "Properties": {
            "MessageRetentionPeriod": FOURTEEN_DAYS, "SqsManagedSseEnabled": True,
        }},
        "ShipDeadLetterQueuePolicy": dlq_policy,
        "ShipDlqAlarm": alarm,
    }}


def test_the_dead_letter_check_passes_the_pattern_done_right() -> None:
    wired = _wired()
    assert dlq_problems(wired, "ShipFunction") == []
    assert dlq_problems(wired, "StockFunction") == []


def _parent(template: dict[str, Any], path: str) -> tuple[Any, Any]:
    """The container holding the last step of a dotted path under Resources, and that step."""
    *parents, last = path.split(".")
    node: Any = template["Resources"]
    for part in parents:
        node = node[int(part)] if isinstance(node, list) else node[part]
    return node, int(last) if isinstance(node, list) else last


def _drop(path: str) -> Callable[[dict[str, Any]], None]:
    def mutate(template: dict[str, Any]) -> None:
        node, key = _parent(template, path)
        del node[key]

    return mutate


def _set(path: str, value: Any) -> Callable[[dict[str, Any]], None]:
    def mutate(template: dict[str, Any]) -> None:
        node, key = _parent(template, path)
        node[key] = value

    return mutate


SHIP = "ShipFunction.Properties"
BROKEN: list[tuple[str, Callable[[dict[str, Any]], None], str | list[str]]] = [
    ("ShipFunction", _drop(f"{SHIP}.Environment"), "DLQ_URL is not a !Ref to a queue"),
    ("ShipFunction", _set(f"{SHIP}.Environment.Variables.DLQ_URL", "https://sqs/queue"),
     "DLQ_URL is not a !Ref to a queue"),
    ("ShipFunction", _drop("ShipDeadLetterQueue.Properties.MessageRetentionPeriod"),
     "DLQ does not keep messages 14 days"),
    ("ShipFunction", _drop("ShipDeadLetterQueue.Properties.SqsManagedSseEnabled"), "DLQ is not encrypted"),
    ("ShipFunction", _drop(f"{SHIP}.EventInvokeConfig.DestinationConfig"),
     "EventInvokeConfig OnFailure is not the DLQ"),
    ("ShipFunction", _set(f"{SHIP}.EventInvokeConfig.MaximumRetryAttempts", 0),
     "EventInvokeConfig.MaximumRetryAttempts is not 2"),
    ("ShipFunction", _drop(f"{SHIP}.Events.Shipped.Properties.DeadLetterConfig"),
     ["Shipped: DeadLetterConfig is not the DLQ",
      "DLQ policy lets EventBridge send for other rules than those dead-lettering to it"]),
    ("ShipFunction", _drop(f"{SHIP}.Events.Shipped.Properties.RetryPolicy.MaximumEventAgeInSeconds"),
     "Shipped: RetryPolicy is incomplete"),
    ("ShipFunction", _set("ShipDeadLetterQueuePolicy.Properties.PolicyDocument.Statement.0.Effect", "Deny"),
     "DLQ policy does not let EventBridge send"),
    ("ShipFunction", _drop("ShipDeadLetterQueuePolicy.Properties.PolicyDocument.Statement.0.Condition"),
     "DLQ policy lets EventBridge send for other rules than those dead-lettering to it"),
    ("ShipFunction", _set("ShipDeadLetterQueuePolicy.Properties.PolicyDocument.Statement.0.Condition.ArnEquals",
                          {"aws:SourceArn": arn("SomeOtherRule")}),
     "DLQ policy lets EventBridge send for other rules than those dead-lettering to it"),
    ("ShipFunction", _set("ShipDeadLetterQueuePolicy.Properties.PolicyDocument.Statement.1.Principal",
                          {"AWS": arn("StockFunctionRole")}),
     "DLQ policy does not let the function's role send"),
    ("ShipFunction", _set("ShipDlqAlarm.Properties.MetricName", "NumberOfMessagesSent"), "no alarm on the DLQ"),
    ("StockFunction", _drop("StockQueue.Properties.RedrivePolicy"),
     "Batch: source queue does not redrive to the DLQ"),
]


@pytest.mark.parametrize(("function", "mutate", "problem"), BROKEN)
def test_the_dead_letter_check_names_each_missing_piece(
    function: str, mutate: Callable[[dict[str, Any]], None], problem: str | list[str]
) -> None:
    broken = copy.deepcopy(_wired())
    mutate(broken)
    assert dlq_problems(broken, function) == (problem if isinstance(problem, list) else [problem])


# -- samconfig.toml -------------------------------------------------------------------------------

SAMCONFIG = tomllib.loads((ROOT / "samconfig.toml").read_text())


@pytest.mark.parametrize("env", ["default", "dev", "prod"])
def test_each_samconfig_environment_deploys_with_template_parameters_only(env: str) -> None:
    section = SAMCONFIG[env]
    deploy = section["deploy"]["parameters"]
    assert section["global"]["parameters"]["stack_name"].startswith("oms-bridge")
    assert section["build"]["parameters"] == {"cached": True, "parallel": True}
    assert deploy["capabilities"] == "CAPABILITY_IAM"
    assert deploy["resolve_s3"] is True
    overrides = dict(item.split("=", 1) for item in shlex.split(deploy["parameter_overrides"]))
    assert set(overrides) <= set(PARAMETERS)
    for name, value in overrides.items():
        assert value in PARAMETERS[name].get("AllowedValues", [value])
        assert re.fullmatch(PARAMETERS[name].get("AllowedPattern", ".*"), value)


def test_samconfig_stacks_do_not_collide() -> None:
    envs = ["default", "dev", "prod"]
    assert SAMCONFIG["version"] == 0.1
    assert len({SAMCONFIG[e]["global"]["parameters"]["stack_name"] for e in envs}) == len(envs)


# -- pinned dependencies --------------------------------------------------------------------------


def pins(path: Path) -> dict[str, str]:
    """``name==version`` lines of a lock file, by canonical name; anything looser fails."""
    found = {}
    for line in path.read_text().splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        name, sep, version = line.partition("==")
        assert sep, f"{path.name}: not pinned: {line}"
        assert re.fullmatch(r"[\w.!+]+", version), f"{path.name}: not an exact version: {line}"
        found[re.sub(r"[-_.]+", "-", name).lower()] = version
    return found


def test_the_layer_installs_exactly_the_runtime_pins() -> None:
    runtime = pins(ROOT / "requirements/runtime.txt")
    assert pins(ROOT / "layers/connectors/requirements.txt") == runtime
    assert {"aws-lambda-powertools", "pydantic", "httpx", "cryptography", "oauthlib"} <= set(runtime)
    # The Lambda runtime ships boto3; a second copy in the layer only costs cold start.
    assert not {"boto3", "botocore"} & set(runtime)


def test_tests_run_against_the_runtime_pins() -> None:
    runtime = pins(ROOT / "requirements/runtime.txt")
    dev = pins(ROOT / "requirements/dev.txt")
    assert {name: dev.get(name) for name in runtime} == runtime


def test_the_sam_cli_is_pinned_in_its_own_lock() -> None:
    sam = pins(ROOT / "requirements/sam.txt")
    assert "aws-sam-cli" in sam
    assert "aws-sam-cli" not in pins(ROOT / "requirements/dev.txt")
