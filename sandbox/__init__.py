"""A Docker-free local stack: simulators of Commerce, Sterling, a carrier and a WMS, AWS in moto,
and a router that delivers events and HTTP requests to the functions the way AWS would."""

import sys
from pathlib import Path

# Lambda mounts the connectors layer on the import path (/opt/python); the sandbox does the same.
_LAYER = str(Path(__file__).resolve().parent.parent / "layers" / "connectors")
if _LAYER not in sys.path:
    sys.path.insert(0, _LAYER)
