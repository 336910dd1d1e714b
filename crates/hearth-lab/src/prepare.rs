//! From a spec on disk to what `lab up` needs: the address map, and the model resolved and
//! rendered from the re-addressed spec.

use std::cell::RefCell;
use std::io;
use std::path::{Path, PathBuf};
use std::process::Command;

use hearth_catalog::Catalog;
use hearth_model::{Allocations, Model};
use hearth_render::File;
use hearth_spec::load::Files;
use hearth_spec::{Diagnostic, FsFiles};
use ipnet::Ipv4Net;

use crate::error::Error;
use crate::process;
use crate::readdress::AddressMap;
use crate::state::{self, LABEL, Paths};

/// The homelab as the lab runs it: every address a lab address.
#[derive(Debug, Clone)]
pub struct LabInput {
    pub map: AddressMap,
    pub model: Model,
    /// Rendered with secret placeholders: the lab never reads secret values.
    pub files: Vec<File>,
    /// Warnings from resolving the re-addressed spec.
    pub diagnostics: Vec<Diagnostic>,
}

impl LabInput {
    /// A machine's host name: a guest's `hostname`, else its name.
    pub fn hostname<'a>(&'a self, machine: &'a str) -> &'a str {
        self.model.guests.get(machine).map_or(machine, |g| g.hostname.as_str())
    }
}

/// Loads the spec at `spec`, plans lab subnets (keeping the ones the lab in `dir` used before),
/// and resolves and renders the re-addressed spec, with `hearth.lock` re-addressed the same way.
/// A spec with errors is refused: the caller checks the real spec first and reports them.
pub fn prepare(spec: &Path, catalog: &Catalog, dir: &Path) -> Result<LabInput, Error> {
    let original = hearth_spec::load(spec, &FsFiles);
    if original.has_errors() {
        return Err(Error::Spec { diagnostics: original.diagnostics });
    }
    let networks: Vec<(String, ipnet::IpNet)> =
        original.spec.networks.iter().map(|(name, n)| (name.to_string(), n.cidr.value.0)).collect();
    let previous = state::previous_map(&Paths::new(dir))?;
    let map = AddressMap::plan(&networks, &subnets_in_use(&state::lab_id(dir))?, &previous)?;

    let files = Readdressed { map: &map, error: RefCell::new(None) };
    let loaded = hearth_spec::load(spec, &files);
    if let Some(e) = files.error.into_inner() {
        return Err(e);
    }
    let lock_path = loaded.root.with_file_name("hearth.lock");
    let allocations = match std::fs::read_to_string(&lock_path) {
        Ok(text) => Allocations::from_text(
            &map.rewrite(&text).map_err(|source| Error::ReaddressFile { path: lock_path.clone(), source })?,
        ),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Allocations::default(),
        Err(e) => return Err(Error::Io { path: lock_path, source: e }),
    };
    let analysis = hearth_model::analyze(&loaded.spec, catalog, &allocations);
    let mut diagnostics = loaded.diagnostics;
    diagnostics.extend(analysis.diagnostics);
    if diagnostics.iter().any(Diagnostic::is_error) {
        return Err(Error::Spec { diagnostics });
    }
    let files = hearth_render::render(&hearth_render::Context { model: &analysis.model, catalog, secrets: None });
    Ok(LabInput { map, model: analysis.model, files, diagnostics })
}

/// Spec files as the lab sees them: read from disk, every address re-addressed.
struct Readdressed<'a> {
    map: &'a AddressMap,
    /// The first address that could not be mapped, and its file; loading reports only an I/O
    /// failure.
    error: RefCell<Option<Error>>,
}

impl Files for Readdressed<'_> {
    fn read(&self, path: &Path) -> io::Result<String> {
        let text = FsFiles.read(path)?;
        self.map.rewrite(&text).map_err(|e| {
            let message = format!("{}: {e}", path.display());
            self.error.borrow_mut().get_or_insert(Error::ReaddressFile { path: path.to_path_buf(), source: e });
            io::Error::other(message)
        })
    }

    fn yaml_in_dir(&self, path: &Path) -> Option<Vec<PathBuf>> {
        FsFiles.yaml_in_dir(path)
    }
}

/// Subnets a lab network must not overlap: other Docker networks (this lab's own excepted, so
/// an `up` over a running lab keeps its subnets) and this machine's routes.
fn subnets_in_use(id: &str) -> Result<Vec<Ipv4Net>, Error> {
    let mut out = Vec::new();
    let all = process::run(Command::new("docker").args(["network", "ls", "-q"]))?;
    let ours =
        process::run(Command::new("docker").args(["network", "ls", "-q", "--filter", &format!("label={LABEL}={id}")]))?;
    let ours: Vec<&str> = ours.lines().collect();
    let others: Vec<&str> = all.lines().filter(|l| !l.trim().is_empty() && !ours.contains(l)).collect();
    if !others.is_empty() {
        let text = process::run(
            Command::new("docker")
                .args(["network", "inspect", "--format", "{{range .IPAM.Config}}{{.Subnet}} {{end}}"])
                .args(&others),
        )?;
        out.extend(text.split_whitespace().filter_map(|s| s.parse::<Ipv4Net>().ok()));
    }
    out.extend(routes(&std::fs::read_to_string("/proc/net/route").unwrap_or_default()));
    Ok(out)
}

/// The destinations of `/proc/net/route` (the default route excepted), as subnets.
fn routes(table: &str) -> Vec<Ipv4Net> {
    table
        .lines()
        .skip(1)
        .filter_map(|line| {
            let cols: Vec<&str> = line.split_whitespace().collect();
            let dest = u32::from_str_radix(cols.get(1)?, 16).ok()?;
            let mask = u32::from_str_radix(cols.get(7)?, 16).ok()?;
            // The kernel prints these little-endian.
            let dest = std::net::Ipv4Addr::from(dest.swap_bytes());
            let prefix = mask.count_ones() as u8;
            (prefix > 0).then(|| Ipv4Net::new(dest, prefix).ok()).flatten()
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_route_table() {
        let table = "Iface\tDestination\tGateway\tFlags\tRefCnt\tUse\tMetric\tMask\tMTU\tWindow\tIRTT\n\
                     eth0\t00000000\t010200C0\t0003\t0\t0\t0\t00000000\t0\t0\t0\n\
                     docker0\t000011AC\t00000000\t0001\t0\t0\t0\t0000FFFF\t0\t0\t0\n";
        assert_eq!(routes(table), vec!["172.17.0.0/16".parse::<Ipv4Net>().unwrap()]);
    }
}
