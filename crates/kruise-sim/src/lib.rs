//! kruise-sim: the simulator.
