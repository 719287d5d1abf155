"""oms-bridge connectors: the code every oms-bridge Lambda function shares."""

__version__ = "0.1.0"
