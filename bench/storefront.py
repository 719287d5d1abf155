"""Storefront function cold path: what importing its handler costs, and what it loads.

    python bench/storefront.py [--import-runs 9]

Prints one JSON line:

* ``cold_import_ms``: importing ``functions/storefront/app.py`` in a fresh interpreter, bytecode
  compiled (as the layer ships it), median of ``--import-runs`` (``bench/stock_check.py``'s method);
* ``cold_first_call_imports_ms``: the same plus what the first request imports (the Sterling and
  Commerce clients, Powertools Parameters for the secrets);
* ``boto3_loaded`` / ``botocore_client_loaded``: whether the handler's import loads boto3 or
  botocore's clients (Powertools reads ``botocore.__version__``, which costs nothing);
* ``resolver_modules``: the Powertools event handler modules the import loads (one resolver is needed:
  the HTTP API's);
* ``modules``: how many modules the import loads in all;
* ``load_average``: the machine's, since a busy machine stretches every figure.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT / "bench")]

from stock_check import LAMBDA_ENV, cold_imports  # type: ignore[import-not-found]  # noqa: E402 - the sibling bench

HANDLER = ROOT / "functions" / "storefront" / "app.py"
FIRST_CALL_IMPORTS = "import omsbridge.sterling, omsbridge.commerce\nimport aws_lambda_powertools.utilities.parameters"
PROBE = """
import importlib.util, json, sys
spec = importlib.util.spec_from_file_location("app", sys.argv[1])
module = importlib.util.module_from_spec(spec)
spec.loader.exec_module(module)
print(json.dumps(sorted(sys.modules)))
"""


def loaded_modules() -> list[str]:
    env = {**os.environ, **LAMBDA_ENV, "AWS_LAMBDA_FUNCTION_NAME": "StorefrontFunction",
           "LAMBDA_TASK_ROOT": str(HANDLER.parent), "PYTHONPATH": str(ROOT / "layers" / "connectors")}
    answer = subprocess.run([sys.executable, "-c", PROBE, str(HANDLER)], env=env, check=True,  # noqa: S603
                            capture_output=True, text=True)
    modules: list[str] = json.loads(answer.stdout)
    return modules


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--import-runs", type=int, default=9)
    args = parser.parse_args()
    times = cold_imports({"handler": (HANDLER, ""), "first_call": (HANDLER, FIRST_CALL_IMPORTS)}, args.import_runs)
    modules = loaded_modules()
    resolvers = sorted(name for name in modules if name.startswith("aws_lambda_powertools.event_handler.")
                       and name.rsplit(".", 1)[1] not in ("api_gateway", "types", "exceptions", "content_types"))
    print(json.dumps({
        "cold_import_ms": times["handler"],
        "cold_first_call_imports_ms": times["first_call"],
        "boto3_loaded": "boto3" in modules,
        "botocore_client_loaded": "botocore.client" in modules,
        "resolver_modules": len(resolvers),
        "modules": len(modules),
        "load_average": round(os.getloadavg()[0], 2),
    }))


if __name__ == "__main__":
    main()
