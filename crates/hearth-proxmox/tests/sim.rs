//! The client against the simulator of `hearth-pve-sim`, served in-process on a loopback port.
//! The simulator validates every request against the vendored API schema and refuses an invalid
//! one, so each successful apply here also proves that Hearth's requests pass that check.

mod sim {
    pub mod appliances;
    pub mod bench;
    pub mod examples;
    pub mod faults;
    pub mod harness;
    pub mod snapshots;
}
