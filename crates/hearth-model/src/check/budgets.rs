//! Host budgets: memory, disk, storage pools and CPU given to guests against what the host has.

use hearth_spec::{Code, Diagnostic, Spec};

use crate::model::Model;

/// Totals saturate: a spec may give sizes whose sum does not fit, and the check must still say
/// the host is over budget rather than overflow.
pub(super) fn budgets(spec: &Spec, model: &Model, out: &mut Vec<Diagnostic>) {
    for e in &spec.hosts.entries {
        let Some(hw) = &e.value.hardware else { continue };
        let guests: Vec<(&String, &crate::model::Guest)> =
            model.guests.iter().filter(|(_, g)| g.host == e.name).collect();
        if guests.is_empty() {
            continue;
        }
        if let Some(mem) = &hw.memory {
            let total: u64 = guests.iter().map(|(_, g)| g.memory.bytes).fold(0, |a, b| a.saturating_add(b));
            if total > mem.value.bytes {
                let shown = hearth_spec::units::Size::new(total, mem.value.binary);
                out.push(
                    Diagnostic::new(
                        Code::MemoryOverCapacity,
                        mem.span,
                        format!("guests on `{}` are given {shown} of memory, the host has {}", e.name, mem.value),
                    )
                    .label(if guests.len() == 1 {
                        "its guest asks for more than this".to_string()
                    } else {
                        format!("its {} guests ask for more than this", guests.len())
                    })
                    .help("shrink guests' `size.memory`, move guests to another host, or add memory"),
                );
            }
        }
        let total_storage: u64 = e
            .value
            .storage
            .iter()
            .filter_map(|(_, p)| p.size.as_ref())
            .map(|s| s.value.bytes)
            .fold(0, |a, b| a.saturating_add(b));
        let total_disk: u64 = guests.iter().map(|(_, g)| g.disk.bytes).fold(0, |a, b| a.saturating_add(b));
        if total_storage > 0 && total_disk > total_storage {
            let span = e.value.storage.entries.first().map_or(e.key_span, |p| p.key_span);
            out.push(
                Diagnostic::new(
                    Code::DiskOverCapacity,
                    span,
                    format!(
                        "guests on `{}` are given {} of disk, its storage holds {}",
                        e.name,
                        hearth_spec::units::Size::new(total_disk, false),
                        hearth_spec::units::Size::new(total_storage, false)
                    ),
                )
                .help("shrink guests' `size.disk` or add storage"),
            );
        }
        for pe in &e.value.storage.entries {
            let Some(size) = &pe.value.size else { continue };
            let used: u64 = guests
                .iter()
                .filter(|(_, g)| g.storage.as_deref() == Some(pe.name.as_str()))
                .map(|(_, g)| g.disk.bytes)
                .fold(0, |a, b| a.saturating_add(b));
            // One guest larger than the pool on its own is `capacity`'s error, at that guest.
            let one_too_large = guests
                .iter()
                .any(|(_, g)| g.storage.as_deref() == Some(pe.name.as_str()) && g.disk.bytes > size.value.bytes);
            if used > size.value.bytes && !one_too_large {
                out.push(
                    Diagnostic::new(
                        Code::StorageOverCapacity,
                        size.span,
                        format!(
                            "guest disks on pool `{}` add up to {}, the pool holds {}",
                            pe.name,
                            hearth_spec::units::Size::new(used, size.value.binary),
                            size.value
                        ),
                    )
                    .help("thin provisioning may allow this, but the pool fills up if guests use their disks"),
                );
            }
        }
        let cores: u32 = guests.iter().map(|(_, g)| g.cores).fold(0, |a, b| a.saturating_add(b));
        let physical = hw.cores.as_ref().map(|c| c.value);
        let threads = hw.threads.as_ref().map(|t| t.value).or(physical);
        if let (Some(t), Some(span)) =
            (threads, hw.threads.as_ref().map(|t| t.span).or(hw.cores.as_ref().map(|c| c.span)))
            && t > 0
            && cores > t
        {
            let ratio_threads = cores as f64 / t as f64;
            let against_cores =
                physical.map_or(String::new(), |c| format!(", {:.1}:1 against its {c} cores", cores as f64 / c as f64));
            out.push(
                    Diagnostic::new(
                        Code::CpuOversubscribed,
                        span,
                        format!("guests on `{}` have {cores} vCPUs: {ratio_threads:.1}:1 against its {t} threads{against_cores}", e.name),
                    )
                    .label("oversubscribed")
                    .help("fine while guests are mostly idle; lower `size.cores` if they compete for CPU"),
                );
        }
    }
}
