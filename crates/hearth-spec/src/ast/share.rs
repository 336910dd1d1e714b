//! `shares:`: NFS exports and SMB shares, served by one machine and mounted by others.
//!
//! A share names its server once; clients mount it with `share:NAME` in their `mounts:`, so
//! the export's client list, the firewall opening and the mount units all come from one place.

use crate::decode::Sp;
use crate::reference::SecretRef;
use crate::units::Size;
use crate::{spec_enum, spec_struct};

spec_enum! {
    /// The protocol a share is served with.
    pub enum ShareKind {
        /// NFS version 4 (one port, 2049/tcp).
        Nfs = "nfs",
        /// SMB 3 (445/tcp), served by Samba or an appliance.
        Smb = "smb",
    }
}

spec_struct! {
    /// A folder one machine serves over NFS or SMB.
    pub struct Share {
        /// `nfs` or `smb`.
        req kind: Sp<ShareKind>,
        /// A `nfs-server` or `samba` service (Hearth renders its export), or a guest or host
        /// Hearth does not manage (an appliance such as TrueNAS or DSM).
        req server: Sp<String>,
        /// The folder the server shares, as the server sees it (NFS: the export path).
        req path: Sp<String>,
        /// SMB: the share's name (default: the share's key).
        opt name: Sp<String>,
        /// Whether clients may only read (default false).
        opt readonly: Sp<bool>,
        /// Machines, networks or zones allowed to mount it (default: the machines that mount it).
        def clients: Vec<Sp<String>>,
        /// SMB: the user clients log in as.
        opt user: Sp<String>,
        /// SMB: that user's password.
        opt password: Sp<SecretRef>,
        /// SMB: a Time Machine destination for Macs (`true`, or `{ max_size: 1TB }`).
        #[schemars(with = "Option<crate::decode::OrScalar<TimeMachine>>")]
        opt time_machine: TimeMachine,
        opt description: String,
        /// `planned` or `future`: checked and documented, not deployed (default `active`).
        opt status: Sp<super::Status>,
        /// Why or when, for a planned item (shown in the docs' Planned section).
        opt note: String,
    }
}

spec_struct! {
    @shorthand enabled;
    /// An SMB share Macs back up to with Time Machine (Samba's `vfs_fruit`).
    pub struct TimeMachine {
        /// `false` turns it off (default `true` when the key is given).
        opt enabled: Sp<bool>,
        /// The most the backups may take on the share (`fruit:time machine max size`).
        opt max_size: Sp<Size>,
    }
}
