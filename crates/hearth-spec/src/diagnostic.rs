//! Diagnostics: what is wrong, where, and how to fix it.
//!
//! Every problem Hearth reports carries a stable [`Code`], a primary span, optional secondary
//! labels and a help line. Loading and checking collect diagnostics instead of stopping at the
//! first one, so one run shows every problem.

use std::fmt::{self, Write as _};

use crate::source::{SourceMap, Span};

/// Error stops the run (`hearth check` exits 1); a warning does not.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Error,
    Warning,
}

macro_rules! codes {
    ($($variant:ident = $code:literal, $slug:literal, $sev:ident;)*) => {
        /// Stable diagnostic codes. The number never changes meaning; retired codes are not reused.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub enum Code { $($variant,)* }

        impl Code {
            pub const ALL: &'static [Code] = &[$(Code::$variant,)*];

            /// The code as printed, e.g. `E301`.
            pub fn as_str(self) -> &'static str {
                match self { $(Code::$variant => $code,)* }
            }

            /// A short kebab-case name, e.g. `duplicate-address`.
            pub fn slug(self) -> &'static str {
                match self { $(Code::$variant => $slug,)* }
            }

            pub fn severity(self) -> Severity {
                match self { $(Code::$variant => Severity::$sev,)* }
            }
        }
    };
}

codes! {
    Io = "E100", "io", Error;
    YamlSyntax = "E101", "yaml-syntax", Error;
    YamlLimit = "E102", "yaml-limit", Error;
    UnknownKey = "E103", "unknown-key", Error;
    DuplicateKey = "E104", "duplicate-key", Error;
    WrongType = "E105", "wrong-type", Error;
    InvalidValue = "E106", "invalid-value", Error;
    MissingKey = "E107", "missing-key", Error;
    DuplicateDefinition = "E108", "duplicate-definition", Error;
    Include = "E109", "include", Error;
    Catalog = "E110", "catalog", Error;
    UnknownReference = "E201", "unknown-reference", Error;
    DependencyCycle = "E202", "dependency-cycle", Error;
    WrongKind = "E203", "wrong-kind", Error;
    MissingRuntime = "E204", "missing-runtime", Error;
    DuplicateAddress = "E301", "duplicate-address", Error;
    DuplicateVmId = "E302", "duplicate-vmid", Error;
    DuplicateHostname = "E303", "duplicate-hostname", Error;
    DuplicateSubdomain = "E304", "duplicate-subdomain", Error;
    DuplicateRedisDb = "E305", "duplicate-redis-db", Error;
    AddressOutsideSubnet = "E306", "address-outside-subnet", Error;
    ReservedAddress = "E307", "reserved-address", Error;
    PortConflict = "E308", "port-conflict", Error;
    AllocationExhausted = "E309", "allocation-exhausted", Error;
    MemoryOverCapacity = "E401", "memory-over-capacity", Error;
    DiskOverCapacity = "E402", "disk-over-capacity", Error;
    RedisDbOutOfRange = "E403", "redis-db-out-of-range", Error;
    PlaintextSecret = "E501", "plaintext-secret", Error;
    PublicWithoutTls = "E502", "public-without-tls", Error;
    DatabaseExposed = "E503", "database-exposed", Error;
    SizeWithoutUnit = "E700", "size-without-unit", Error;
    PortOutOfRange = "E701", "port-out-of-range", Error;
    UnknownTimezone = "E702", "unknown-timezone", Error;
    DomainNotBare = "E703", "domain-not-bare", Error;
    AcmeWithoutPublicDomain = "E704", "acme-without-public-domain", Error;
    TemplateInEnv = "E705", "template-in-env", Error;
    NameTooLong = "E706", "name-too-long", Error;
    UrlWithoutScheme = "E707", "url-without-scheme", Error;
    InvalidEmail = "E708", "invalid-email", Error;
    ZeroSize = "E709", "zero-size", Error;
    OverlappingNetworks = "E710", "overlapping-networks", Error;
    DuplicateForward = "E711", "duplicate-forward", Error;
    DeviceShared = "E712", "device-shared", Error;
    PciOnLxc = "E713", "pci-on-lxc", Error;
    GuestCoresOverHost = "E714", "guest-cores-over-host", Error;
    GuestDiskOverPool = "E715", "guest-disk-over-pool", Error;
    PoolOverDisks = "E716", "pool-over-disks", Error;
    MemoryBelowServices = "E717", "memory-below-services", Error;
    DiskInTwoPools = "E718", "disk-in-two-pools", Error;
    GuestMemoryOverHost = "E719", "guest-memory-over-host", Error;
    AcmeDnsIncomplete = "E720", "acme-dns-incomplete", Error;
    TlsModesConflict = "E721", "tls-modes-conflict", Error;
    NetworkModeConflict = "E800", "network-mode-conflict", Error;
    DockerOnlySetting = "E801", "docker-only-setting", Error;
    UnknownEnvReference = "E802", "unknown-env-reference", Error;
    DockerAddressOutsideSubnet = "E803", "docker-address-outside-subnet", Error;
    DuplicateDockerAddress = "E804", "duplicate-docker-address", Error;
    DockerAddressWithoutSubnet = "E805", "docker-address-without-subnet", Error;
    DockerNetworkInTwoStacks = "E806", "docker-network-in-two-stacks", Error;
    PortWithoutNumber = "E807", "port-without-number", Error;
    DropsNoVolume = "E808", "drops-no-volume", Error;
    DockerWithoutRuntime = "E809", "docker-without-runtime", Error;
    UnknownExporter = "E611", "unknown-exporter", Error;
    ExporterNotDeployed = "E612", "exporter-not-deployed", Error;
    AlertWithoutData = "E613", "alert-without-data", Error;
    NotifyWithoutAlertmanager = "E614", "notify-without-alertmanager", Error;
    NativeUnsupported = "E621", "native-unsupported", Error;
    NativeNeedsVersion = "E622", "native-needs-version", Error;
    HostPathMustMatch = "E631", "host-path-must-match", Error;
    NoComposeV2 = "E632", "no-compose-v2", Error;
    GuestStorageUnfit = "E641", "guest-storage-unfit", Error;
    VmMountUnsupported = "E642", "vm-mount-unsupported", Error;
    BackupUnreachable = "E643", "backup-unreachable", Error;
    ProxyOnCluster = "E651", "proxy-on-cluster", Error;
    ClusterWithoutServer = "E652", "cluster-without-server", Error;
    TraefikNotK3s = "E870", "traefik-not-k3s", Error;
    UpdateRebootInvalid = "E871", "update-reboot-invalid", Error;
    UpdatesUnmanaged = "E872", "updates-unmanaged", Error;
    UpdatesBesideNixosUpgrade = "E873", "updates-beside-nixos-upgrade", Error;
    SnapshotStorageUnfit = "E874", "snapshot-storage-unfit", Error;
    SnapshotKeepZero = "E875", "snapshot-keep-zero", Error;
    ShareOnServiceUnfit = "E882", "share-on-service-unfit", Error;
    JobUnfit = "E883", "job-unfit", Error;
    NodeNotInCluster = "E884", "node-not-in-cluster", Error;
    NodesAwayFromVolumes = "E885", "nodes-away-from-volumes", Error;
    DependsOnPlanned = "E760", "depends-on-planned", Error;
    AllowUnknownSource = "E810", "allow-unknown-source", Error;
    BasicAuthWithoutSecret = "E811", "basic-auth-without-secret", Error;
    RateLimitZero = "E812", "rate-limit-zero", Error;
    InvalidHeader = "E813", "invalid-header", Error;
    BackendCaNotPem = "E814", "backend-ca-not-pem", Error;
    BackendVerifyConflict = "E815", "backend-verify-conflict", Error;
    WatchInterval = "E780", "watch-interval", Error;
    WatchTimeout = "E781", "watch-timeout", Error;
    WatchTimeoutOverInterval = "E782", "watch-timeout-over-interval", Error;
    WatchFailAfter = "E783", "watch-fail-after", Error;
    IgnoredUseKey = "E730", "ignored-use-key", Error;
    SnapshotNotZfs = "E731", "snapshot-not-zfs", Error;
    ViaElsewhere = "E732", "via-elsewhere", Error;
    InterfaceOutsideNetwork = "E820", "interface-outside-network", Error;
    TwoInterfacesOneNetwork = "E821", "two-interfaces-one-network", Error;
    PrimaryInterfaceMissing = "E822", "primary-interface-missing", Error;
    UnknownZone = "E823", "unknown-zone", Error;
    FlowDeniedByPolicy = "E824", "flow-denied-by-policy", Error;
    RouterGuestInvalid = "E825", "router-guest-invalid", Error;
    ServiceNetworkNotOnMachine = "E826", "service-network-not-on-machine", Error;
    AllowOpensNothing = "W820", "allow-opens-nothing", Warning;
    DatabaseExporterWithoutServer = "E850", "database-exporter-without-server", Error;
    DatabaseExporterUnplaceable = "W850", "database-exporter-unplaceable", Warning;
    ScrapeTargetUnknown = "E851", "scrape-target-unknown", Error;
    ScrapeTargetInvalid = "E852", "scrape-target-invalid", Error;
    ScrapeJobDuplicate = "E853", "scrape-job-duplicate", Error;
    ProbesWithoutBlackbox = "E854", "probes-without-blackbox", Error;
    LogStoreNotS3 = "E856", "log-store-not-s3", Error;
    LogLocalOverRetention = "E857", "log-local-over-retention", Error;
    LogRuleWithoutLoki = "E858", "log-rule-without-loki", Error;
    LogLocalWithoutStore = "W856", "log-local-without-store", Warning;
    WidgetShowsNowhere = "W859", "widget-shows-nowhere", Warning;
    ShareServerUnfit = "E840", "share-server-unfit", Error;
    ShareClientNotAllowed = "E841", "share-client-not-allowed", Error;
    ShareReadonlyMountedRw = "E842", "share-readonly-mounted-rw", Error;
    ShareCollision = "E843", "share-collision", Error;
    ShareCredentialsOnNfs = "E844", "share-credentials-on-nfs", Error;
    SharePathInvalid = "E845", "share-path-invalid", Error;
    ShareMountUnfit = "E846", "share-mount-unfit", Error;
    ShareUnused = "W840", "share-unused", Warning;
    BackupPolicyTwice = "E860", "backup-policy-twice", Error;
    FolderKeep = "E861", "folder-keep", Error;
    FolderNotAbsolute = "E862", "folder-not-absolute", Error;
    NixosSettingsElsewhere = "E863", "nixos-settings-elsewhere", Error;
    RsyncTargetInvalid = "E864", "rsync-target-invalid", Error;
    CopyHostUnknown = "E865", "copy-host-unknown", Error;
    CopyPathInvalid = "E866", "copy-path-invalid", Error;
    CopyKeep = "E867", "copy-keep", Error;
    CopyPolicyMismatch = "E868", "copy-policy-mismatch", Error;
    GitUrlInvalid = "E869", "git-url-invalid", Error;
    ExposedPortUnpublished = "E920", "exposed-port-unpublished", Error;
    ClusterNodeIsHost = "E921", "cluster-node-is-host", Error;
    PortWithoutSsh = "E922", "port-without-ssh", Error;
    TimeMachineUnfit = "E923", "time-machine-unfit", Error;
    SharePasswordsDiffer = "E924", "share-passwords-differ", Error;
    PbsJobsUnrendered = "W860", "pbs-jobs-unrendered", Warning;
    UnknownMachineType = "E830", "unknown-machine-type", Error;
    WindowsWithoutUefiTpm = "E831", "windows-without-uefi-tpm", Error;
    PcieWithoutQ35 = "E832", "pcie-without-q35", Error;
    DeviceOptionUnfit = "E833", "device-option-unfit", Error;
    UsbOnLxc = "E834", "usb-on-lxc", Error;
    UnknownDevice = "E835", "unknown-device", Error;
    TooManyDisks = "E836", "too-many-disks", Error;
    LdapOutpostWithoutAuthentik = "E837", "ldap-outpost-without-authentik", Error;
    DiscoveryMachineUnfit = "E838", "discovery-machine-unfit", Error;
    DiscoveryProxyNotTraefik = "E839", "discovery-proxy-not-traefik", Error;
    LdapOutpostVersion = "W837", "ldap-outpost-version", Warning;
    CloudflareAccessOffTunnel = "E847", "cloudflare-access-off-tunnel", Error;
    CloudflareAccessAdmitsNobody = "E848", "cloudflare-access-admits-nobody", Error;
    DiskByKernelName = "W830", "disk-by-kernel-name", Warning;
    HostDiskWithoutId = "W831", "host-disk-without-id", Warning;
    WatcherUnknownMachine = "E785", "watcher-unknown-machine", Error;
    WatcherMachineUnfit = "E786", "watcher-machine-unfit", Error;
    WatcherListenElsewhere = "E787", "watcher-listen-elsewhere", Error;
    WatcherWithoutToken = "E788", "watcher-without-token", Error;
    WatcherSources = "E789", "watcher-sources", Error;
    CpuOversubscribed = "W401", "cpu-oversubscribed", Warning;
    FlowFromIsolatedNetwork = "E601", "flow-from-isolated-network", Error;
    FlowFromNoAddress = "E602", "flow-from-no-address", Error;
    PublicWithoutAuth = "W501", "public-without-auth", Warning;
    DatabaseReachable = "W502", "database-reachable", Warning;
    UnpinnedImage = "W503", "unpinned-image", Warning;
    NoBackup = "W504", "stateful-without-backup", Warning;
    RouteToUnknownAddress = "W505", "route-to-unknown-address", Warning;
    AddressInDhcpPool = "W506", "address-in-dhcp-pool", Warning;
    UnusedDefinition = "W507", "unused", Warning;
    NoHealthcheck = "W508", "no-healthcheck", Warning;
    StorageOverCapacity = "W509", "storage-over-capacity", Warning;
    RecordShadowsExposure = "W510", "record-shadows-exposure", Warning;
    AcmeHttpUnreachable = "W511", "acme-http-unreachable", Warning;
    DefaultMemoryBelowServices = "W700", "default-memory-below-services", Warning;
    DuplicateVlan = "W701", "duplicate-vlan", Warning;
    GpuWithoutDevice = "W800", "gpu-without-device", Warning;
    MetricsUnreachable = "W611", "metrics-unreachable", Warning;
    AlertsWithoutAlertmanager = "W612", "alerts-without-alertmanager", Warning;
    NativeWithoutPackage = "W621", "native-without-package", Warning;
    PlaceholderSshKey = "W641", "placeholder-ssh-key", Warning;
    BackupWithoutData = "W642", "backup-without-data", Warning;
    DuplicateRecord = "W651", "duplicate-record", Warning;
    UnmanagedBackup = "W760", "unmanaged-backup", Warning;
    NoteOnActive = "W761", "note-on-active", Warning;
    DecidedWithoutChoice = "W762", "decided-without-choice", Warning;
    MiddlewareUnsupported = "W810", "middleware-unsupported", Warning;
    MiddlewareBehindTunnel = "W811", "middleware-behind-tunnel", Warning;
    WatchLateIncident = "W780", "watch-late-incident", Warning;
    StatedTotalDiffers = "W880", "stated-total-differs", Warning;
    StatedTotalUnchecked = "W881", "stated-total-unchecked", Warning;
    SnapshotUnmanaged = "W871", "snapshot-unmanaged", Warning;
    ChannelBehindLogin = "W910", "channel-behind-login", Warning;
}

impl fmt::Display for Code {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A span with a short note printed under it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Label {
    pub span: Span,
    pub text: String,
}

/// A concrete change to the spec that a help line proposes: the text at `span` is replaced by
/// `text` (an empty span inserts it there). When `part` is set only its first occurrence inside
/// the span is replaced, for spans that cover more than the word to change (a quoted scalar,
/// `secret:NAME`). Tests apply every edit mechanically and expect the diagnostic gone with no
/// new error, so a help that carries an edit is a fix that works.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Edit {
    pub span: Span,
    pub part: Option<String>,
    pub text: String,
    /// `text` is one more entry for the sequence or mapping at `span`, written in flow style
    /// (`{ from: lan, to: apps }`, `allow: []`): it goes before the closing bracket of a flow
    /// collection, or on a line of its own after a block one, indented like its first entry.
    pub append: bool,
}

impl Edit {
    /// `source` (the text of the span's file) with the edit applied; `None` when the span does
    /// not fit `source` or `part` is not inside it.
    pub fn apply(&self, source: &str) -> Option<String> {
        let (mut start, mut end) = (self.span.start as usize, self.span.end as usize);
        let within = source.get(start..end)?;
        if self.append {
            return append(source, start, end, &self.text);
        }
        if let Some(part) = &self.part {
            let at = within.find(part.as_str())?;
            start += at;
            end = start + part.len();
        } else if self.text.is_empty() {
            (start, end) = removal(source, start, end);
        }
        Some(format!("{}{}{}", &source[..start], self.text, &source[end..]))
    }

    /// An edit that removes the entry or item at `span` (for a `key: value` entry, the span from
    /// the key to the end of the value), with what separates it from its neighbours.
    pub fn remove(span: Span) -> Edit {
        Edit { span, part: None, text: String::new(), append: false }
    }

    /// An edit that adds `entry` to the sequence or mapping at `span` (see [`Edit::append`]).
    pub fn append(span: Span, entry: impl Into<String>) -> Edit {
        Edit { span, part: None, text: entry.into(), append: true }
    }
}

/// `source` with `entry` added to the collection at `start..end`. A flow collection (`[...]`,
/// `{...}`) gets it before its closing bracket; a block one gets a new line after its last,
/// at the column of its first entry, with `- ` when it is a sequence.
fn append(source: &str, start: usize, end: usize, entry: &str) -> Option<String> {
    let within = source.get(start..end)?.trim_end();
    if within.starts_with('[') || within.starts_with('{') {
        let close = start + within.len() - 1;
        let inner = source[start + 1..close].trim();
        let sep = if inner.is_empty() { "" } else { ", " };
        let head = source[..close].trim_end_matches([' ', '\t']);
        let gap = &source[head.len()..close];
        return Some(format!("{head}{sep}{entry}{gap}{}", &source[close..]));
    }
    let line_start = source[..start].rfind('\n').map_or(0, |i| i + 1);
    let indent = &source[line_start..start];
    // A block sequence's span starts at its first `- `; the column of the dash is the indent.
    let (indent, dash) = match within.strip_prefix('-') {
        Some(_) => (indent.to_string(), "- "),
        None => (indent.chars().map(|c| if c == '-' { ' ' } else { c }).collect(), ""),
    };
    let last = start + within.len();
    let line_end = source[last..].find('\n').map_or(source.len(), |i| last + i);
    let indent: String = indent.chars().map(|c| if c == '\t' { '\t' } else { ' ' }).collect();
    Some(format!("{}\n{indent}{dash}{entry}{}", &source[..line_end], &source[line_end..]))
}

/// The range a removal takes out: the whole lines when the item stands on lines of its own
/// (block style), else the item and the comma after it, or the one before it (flow style).
fn removal(source: &str, start: usize, end: usize) -> (usize, usize) {
    let line_start = source[..start].rfind('\n').map_or(0, |i| i + 1);
    let line_end = source[end..].find('\n').map_or(source.len(), |i| end + i + 1);
    let before = source[line_start..start].trim();
    let after = source[end..line_end].trim();
    if (before.is_empty() || before == "-") && (after.is_empty() || after.starts_with('#')) {
        return (line_start, line_end);
    }
    let rest = &source[end..];
    let gap = rest.len() - rest.trim_start_matches([' ', '\t']).len();
    if rest[gap..].starts_with(',') {
        let tail = &rest[gap + 1..];
        let space = tail.len() - tail.trim_start_matches([' ', '\t']).len();
        return (start, end + gap + 1 + space);
    }
    let head = source[..start].trim_end_matches([' ', '\t']);
    match head.strip_suffix(',') {
        Some(h) => (h.trim_end_matches([' ', '\t']).len(), end),
        None => (start, end),
    }
}

impl Edit {
    /// Whether the edit removes something (shown as "remove" rather than "write").
    pub fn is_removal(&self) -> bool {
        self.text.is_empty() && self.part.is_none() && !self.append
    }
}

/// One problem found in a spec.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Diagnostic {
    pub code: Code,
    pub severity: Severity,
    pub message: String,
    pub primary: Label,
    pub secondary: Vec<Label>,
    pub help: Option<String>,
    /// The edit the help line proposes, when it proposes exactly one.
    pub suggestion: Option<Edit>,
}

impl Diagnostic {
    /// A diagnostic with the code's own severity.
    pub fn new(code: Code, span: Span, message: impl Into<String>) -> Diagnostic {
        Diagnostic {
            code,
            severity: code.severity(),
            message: message.into(),
            primary: Label { span, text: String::new() },
            secondary: Vec::new(),
            help: None,
            suggestion: None,
        }
    }

    /// The note under the primary span.
    pub fn label(mut self, text: impl Into<String>) -> Diagnostic {
        self.primary.text = text.into();
        self
    }

    /// Another span that explains the problem (the first definition of a duplicate, say).
    pub fn with(mut self, span: Span, text: impl Into<String>) -> Diagnostic {
        self.secondary.push(Label { span, text: text.into() });
        self
    }

    pub fn help(mut self, text: impl Into<String>) -> Diagnostic {
        self.help = Some(text.into());
        self
    }

    /// The edit the help line proposes: replace the text at `span` with `text`. The help line
    /// says the same in words; without one, `write \`text\` here` is shown.
    pub fn suggest(self, span: Span, text: impl Into<String>) -> Diagnostic {
        self.suggest_edit(Edit { span, part: None, text: text.into(), append: false })
    }

    /// Like [`Diagnostic::suggest`], replacing only the first `part` inside `span`.
    pub fn suggest_part(self, span: Span, part: impl Into<String>, text: impl Into<String>) -> Diagnostic {
        self.suggest_edit(Edit { span, part: Some(part.into()), text: text.into(), append: false })
    }

    /// The help proposes removing the entry or item at `span` (see [`Edit::remove`]).
    pub fn suggest_removal(self, span: Span) -> Diagnostic {
        self.suggest_edit(Edit::remove(span))
    }

    pub fn suggest_edit(mut self, edit: Edit) -> Diagnostic {
        if self.help.is_none() {
            self.help = Some(if edit.is_removal() {
                "remove this".to_string()
            } else if edit.append {
                format!("add `{}` here", edit.text)
            } else {
                format!("write `{}` here", edit.text)
            });
        }
        self.suggestion = Some(edit);
        self
    }

    pub fn is_error(&self) -> bool {
        self.severity == Severity::Error
    }

    /// One compact block: `path:line:col: error[E301]: message`, then the labels and help,
    /// each on its own indented line. Stable, colourless, and what the tests snapshot.
    pub fn render_short(&self, sources: &SourceMap) -> String {
        let mut out = String::new();
        let sev = match self.severity {
            Severity::Error => "error",
            Severity::Warning => "warning",
        };
        let _ = write!(out, "{}: {sev}[{}]: {}", sources.location(self.primary.span), self.code, self.message);
        if !self.primary.text.is_empty() {
            let _ = write!(out, "\n  = label: {}", self.primary.text);
        }
        for label in &self.secondary {
            let _ = write!(out, "\n  = note: {}: {}", sources.location(label.span), label.text);
        }
        if let Some(help) = &self.help {
            let _ = write!(out, "\n  = help: {help}");
        }
        out
    }
}

/// Sorts diagnostics by file, position and code so output is the same on every run.
pub fn sort(diagnostics: &mut [Diagnostic]) {
    diagnostics.sort_by(|a, b| {
        (a.primary.span.file, a.primary.span.start, a.code, &a.message).cmp(&(
            b.primary.span.file,
            b.primary.span.start,
            b.code,
            &b.message,
        ))
    });
}

#[cfg(test)]
mod tests {
    use super::Edit;
    use crate::source::{FileId, Span};

    /// Applies the edit that removes `item` (its first occurrence) from `source`.
    fn check_removal(source: &str, item: &str, expected: &str) {
        let start = source.find(item).expect("item in source");
        let edit = Edit::remove(Span::new(FileId::default(), start, start + item.len()));
        assert_eq!(edit.apply(source).as_deref(), Some(expected), "removing `{item}`");
    }

    #[test]
    fn removals_take_their_separators() {
        check_removal("a: { x: 1, y: 2, z: 3 }\n", "y: 2", "a: { x: 1, z: 3 }\n");
        check_removal("a: { x: 1, y: 2 }\n", "y: 2", "a: { x: 1 }\n");
        check_removal("a: [p, q]\n", "p", "a: [q]\n");
        check_removal("a:\n  x: 1\n  y:\n    z: 2\nb: 3\n", "y:\n    z: 2", "a:\n  x: 1\nb: 3\n");
        check_removal("l:\n  - p\n  - q  # note\n", "q", "l:\n  - p\n");
    }

    #[test]
    fn replacements_of_a_part_leave_the_rest() {
        let source = "token: \"secret:tg-tokn\"\n";
        let start = source.find('"').expect("quote");
        let span = Span::new(FileId::default(), start, source.len() - 1);
        let edit = Edit { span, part: Some("tg-tokn".into()), text: "tg-token".into(), append: false };
        assert_eq!(edit.apply(source).as_deref(), Some("token: \"secret:tg-token\"\n"));
        let outside = Edit { span, part: Some("nope".into()), text: "x".into(), append: false };
        assert_eq!(outside.apply(source), None);
    }

    /// Appends `entry` to the collection written as `collection` (its first occurrence).
    fn check_append(source: &str, collection: &str, entry: &str, expected: &str) {
        let start = source.find(collection).expect("collection in source");
        let edit = Edit::append(Span::new(FileId::default(), start, start + collection.len()), entry);
        assert_eq!(edit.apply(source).as_deref(), Some(expected), "appending to `{collection}`");
    }

    #[test]
    fn appends_follow_the_collection_style() {
        check_append("a: [p, q]\n", "[p, q]", "r", "a: [p, q, r]\n");
        check_append("a: []\n", "[]", "r", "a: [r]\n");
        check_append("p: { default: deny }\n", "{ default: deny }", "allow: []", "p: { default: deny, allow: [] }\n");
        check_append("l:\n  - p\n  - q\nb: 1\n", "- p\n  - q", "r", "l:\n  - p\n  - q\n  - r\nb: 1\n");
        check_append(
            "p:\n  default: deny\nb: 1\n",
            "default: deny",
            "allow: []",
            "p:\n  default: deny\n  allow: []\nb: 1\n",
        );
    }
}
