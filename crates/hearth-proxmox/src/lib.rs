//! The Proxmox VE API client and the plan and apply of a homelab's guests.
//!
//! `Client` talks to one node (token authentication, a CA file or a pinned certificate, retries
//! of transient failures, task polling, at most two tasks at a time). `desired` turns the model's
//! guests into the requests the render writes (`hearth_render::proxmox::guest_request`), `plan`
//! compares them with what the node has (a pure function) and `apply` carries the plan out.
//! Nothing here touches a guest without the `hearth` tag. Beside the guests, a node's own steps
//! (`host`): its ZFS datasets (`zfs`, made as root over SSH), its backup jobs (`backup`,
//! `/cluster/backup`), and a check of the bridges the guests attach to (`network`).

pub mod api;
pub mod apply;
pub mod backup;
pub mod client;
pub mod desired;
pub mod error;
pub mod host;
pub mod network;
pub mod plan;
pub mod property;
pub mod shell;
pub mod snapshots;
pub mod tasks;
pub mod text;
pub mod tls;
pub mod token;
pub mod zfs;

pub use client::{Client, Endpoint, RetryPolicy};
pub use desired::{DesiredGuest, desired_guests};
pub use error::Error;
pub use plan::{Actual, ActualGuest, GuestAction, GuestPlan, NodePlan, plan_node};
pub use shell::{NoShell, NodeShell};
pub use tls::Trust;
pub use token::Token;
