//! An item's status (`status: planned | future`) and the `decisions:` section: what a homelab
//! intends but does not run yet, and the choices behind it.
//!
//! Both are documentation that the checker holds to the rest of the spec: a planned item is
//! checked like any other but never rendered, deployed or verified, and a decision names the items
//! it is about so those names are checked too.

use crate::decode::Sp;
use crate::{spec_enum, spec_struct};

spec_enum! {
    /// Whether an item runs now. Hosts, guests, clusters, services, backup repositories, policies
    /// and replication jobs have one.
    pub enum Status {
        /// Runs: rendered, deployed and verified (the default).
        Active = "active",
        /// Decided and coming: checked and documented, nothing rendered or deployed.
        Planned = "planned",
        /// An idea not decided yet: checked and documented like a planned item.
        Future = "future",
    }
}

impl Status {
    /// Whether the item is rendered and deployed.
    pub fn is_active(self) -> bool {
        self == Status::Active
    }
}

spec_enum! {
    /// Whether a decision is taken.
    pub enum DecisionStatus {
        Open = "open",
        Decided = "decided",
    }
}

spec_struct! {
    /// A design decision, open or taken, for the docs.
    pub struct Decision {
        /// What is being decided.
        req title: String,
        /// `open` (default) or `decided`.
        opt status: Sp<DecisionStatus>,
        /// What was chosen, or, while open, the option in front.
        opt choice: String,
        /// Why, or what is still unclear.
        opt note: String,
        /// The hosts, guests, clusters, services, networks, repositories and policies it is about.
        def about: Vec<Sp<String>>,
    }
}
