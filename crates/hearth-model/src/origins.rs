//! Where things were claimed in the spec, kept by the resolver for the checks that follow it.

use std::collections::{BTreeMap, BTreeSet};
use std::net::IpAddr;

use hearth_spec::Span;
use hearth_spec::ast::Protocol;

/// Where things were written, for the checks that follow resolution.
#[derive(Debug, Default)]
pub struct Origins {
    /// Every address claimed by something: (address, owner, span).
    pub addresses: Vec<(IpAddr, String, Span)>,
    /// Guest id spans.
    pub guest_ids: BTreeMap<String, Span>,
    /// Exposure spans: fqdn -> (service, span).
    pub exposures: Vec<(String, String, Span)>,
    /// Redis DB spans: (server, db, consumer, span).
    pub redis: Vec<(String, u32, String, Span)>,
    /// Host port claims: (machine, port, protocol, service, the service's name for the port, span).
    pub ports: Vec<(String, u16, Protocol, String, String, Span)>,
    /// Port claimers whose ports the spec cannot change: companion containers
    /// (`<service>-<companion>`), which publish what their catalog entry says.
    pub companions: BTreeSet<String>,
}
