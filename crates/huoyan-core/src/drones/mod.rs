//! Drones (空中督导): the police fleet's patrols over the sealed zones. The core holds the rules
//! that need no I/O — for now the coverage planner that turns zone polygons into sorties.

pub mod coverage;
