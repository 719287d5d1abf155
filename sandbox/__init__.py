"""A Docker-free local stack: simulators of Commerce, Sterling, a carrier and a WMS, AWS in moto,
and a router that delivers events and HTTP requests to the functions the way AWS would."""
