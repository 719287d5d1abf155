"""HTTP simulators of the outside systems oms-bridge talks to."""
