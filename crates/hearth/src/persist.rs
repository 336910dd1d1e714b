//! Writing what resolution produced: `hearth.lock` (allocations) and missing generated secrets
//! in `hearth.secrets.age`. Only `hearth resolve` and `hearth secrets` write; `check` and `show`
//! only read.

use std::path::{Path, PathBuf};

use anyhow::{Context, anyhow, bail};
use hearth_model::{Allocations, Model};
use hearth_secrets::Store;

/// `hearth.lock` beside the spec's root file.
pub fn lock_path(root: &Path) -> PathBuf {
    root.with_file_name("hearth.lock")
}

/// `hearth.secrets.age` beside the spec's root file.
pub fn store_path(root: &Path) -> PathBuf {
    root.with_file_name(hearth_secrets::STORE_FILE_NAME)
}

/// Opens the secret store beside the spec with the identity that decrypts it, for reading. A
/// folder that has neither (never resolved) is told to run `hearth resolve`, which creates both:
/// "no age identity found" alone would send the operator looking for a key that never existed.
pub fn open_store(root: &Path) -> anyhow::Result<(Store, hearth_secrets::Identity)> {
    let path = store_path(root);
    let store = Store::open(&path)?;
    match hearth_secrets::Identity::load(&path, false) {
        Ok(identity) => Ok((store, identity)),
        Err(hearth_secrets::SecretsError::NoIdentity { .. }) if !path.exists() => bail!(
            "no secret store `{}` and no age identity: run `hearth resolve` on the spec first (it generates the secrets and the identity)",
            path.display()
        ),
        Err(e) => Err(e.into()),
    }
}

/// Reads the lock file; a missing one means no previous allocations. One that cannot be read or
/// parsed is an error naming its line: ignoring it would renumber guests and addresses.
pub fn read_lock(root: &Path) -> anyhow::Result<Allocations> {
    let path = lock_path(root);
    let text = match std::fs::read_to_string(&path) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Allocations::default()),
        Err(e) => bail!("cannot read `{}`: {e}", path.display()),
    };
    Allocations::from_text(&text).map_err(|e| {
        anyhow!("{}:{}: {e}; correct the line or restore the file from version control", path.display(), e.line())
    })
}

/// Writes the lock file if its content changed. Returns whether it wrote.
pub fn write_lock(root: &Path, allocations: &Allocations) -> anyhow::Result<bool> {
    let path = lock_path(root);
    let text = allocations.to_text();
    if std::fs::read_to_string(&path).is_ok_and(|old| old == text) {
        return Ok(false);
    }
    let tmp = path.with_extension("lock.tmp");
    std::fs::write(&tmp, &text).with_context(|| format!("cannot write `{}`", tmp.display()))?;
    std::fs::rename(&tmp, &path).with_context(|| format!("cannot replace `{}`", path.display()))?;
    Ok(true)
}

/// Generates the secrets the model needs that the store does not hold yet. Returns their names.
pub fn ensure_secrets(root: &Path, model: &Model) -> anyhow::Result<Vec<String>> {
    let path = store_path(root);
    let wanted: Vec<(&str, usize)> = model
        .generated_secrets
        .iter()
        .map(|s| (s.name.as_str(), s.length.clamp(8, hearth_secrets::MAX_GENERATED_LENGTH)))
        .collect();
    if wanted.is_empty() {
        return Ok(Vec::new());
    }
    let mut store = Store::open_or_init(&path).with_context(|| format!("cannot open `{}`", path.display()))?;
    let generated = store.ensure(&wanted)?;
    if !generated.is_empty() {
        store.save().with_context(|| format!("cannot save `{}`", path.display()))?;
    }
    Ok(generated)
}
