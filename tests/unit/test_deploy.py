"""Deploying as a user would: `sam deploy --guided` in any region, answering its defaults.

The SAM CLI's own guided checks run against the template (in its venv, `.venv-sam`, as `make
validate` uses it): no question whose default answer aborts the deploy."""

from __future__ import annotations

import json
import re
import subprocess
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SAM_PYTHON = ROOT / ".venv-sam" / "bin" / "python"
REGION = re.compile(r"\b(?:us|eu|ap|sa|ca|me|af|il|mx)-(?:gov-)?[a-z]+-\d\b")

# What `sam deploy --guided` does before it asks "<function> has no authentication. Is this okay?
# [y/N]" (samcli.commands.deploy.guided_context.GuidedContext.guided_prompts): the resources its
# answer would be "N" for, which aborts the deploy ("Security Constraints Not Satisfied!").
GUIDED_AUTH_CHECK = """
import json, sys
from samcli.commands.deploy.auth_utils import auth_per_resource
from samcli.lib.providers.sam_stack_provider import SamLocalStackProvider
stacks, _ = SamLocalStackProvider.get_stacks(sys.argv[1], global_parameter_overrides={"AWS::Region": "eu-west-1"})
print(json.dumps([name for name, authorized in auth_per_resource(stacks) if not authorized]))
"""


def test_sam_deploy_guided_asks_no_route_whether_no_authentication_is_okay() -> None:
    assert SAM_PYTHON.is_file(), "the SAM CLI venv is missing: make bootstrap"
    answer = subprocess.run([str(SAM_PYTHON), "-c", GUIDED_AUTH_CHECK, str(ROOT / "template.yaml")],
                            capture_output=True, text=True, check=True, cwd=ROOT,
                            env={"AWS_DEFAULT_REGION": "eu-west-1", "SAM_CLI_TELEMETRY": "0", "PATH": "/usr/bin:/bin"})
    assert json.loads(answer.stdout.strip().splitlines()[-1]) == []


def test_no_file_a_deploy_reads_names_a_region() -> None:
    samconfig = tomllib.loads((ROOT / "samconfig.toml").read_text())
    for env in ("default", "dev", "prod"):
        for command in samconfig[env].values():
            assert "region" not in command["parameters"], env
    deployed = [ROOT / "template.yaml", *sorted((ROOT / "commerce").rglob("*.xml")),
                *sorted((ROOT / "commerce").rglob("*.php"))]
    for path in deployed:
        assert REGION.findall(path.read_text()) == [], path.relative_to(ROOT)
