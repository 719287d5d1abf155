"""The IBM Sterling OMS simulator (``/smcfs/restapi``)."""

from sandbox.sim.sterling.simulator import PipelineError, SterlingSim

__all__ = ["PipelineError", "SterlingSim"]
