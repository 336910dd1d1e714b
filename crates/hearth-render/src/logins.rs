//! What the database-init renderers (`postgres`, `mysql`, `mongo`) share: one login per distinct
//! user, the script variable holding its password, and the spec lines a server's init files
//! come from (the server and every consumer of its databases).

use std::collections::BTreeMap;

use hearth_model::model::Database;

use crate::File;
use crate::shell::env_name;

/// One login per distinct user, with the password secret of its first database.
pub(crate) fn logins<'a>(databases: &[&'a Database]) -> BTreeMap<&'a str, &'a str> {
    let mut logins = BTreeMap::new();
    for d in databases {
        logins.entry(d.user.as_str()).or_insert(d.password_secret.as_str());
    }
    logins
}

/// The script variable holding a user's password: `pw_` and the name with anything else than
/// ASCII letters, digits and `_` turned into `_`.
pub(crate) fn password_var(user: &str) -> String {
    format!("pw_{}", env_name(user).to_ascii_lowercase())
}

/// `file` attributed to `source` (the server's entity) and to every consumer of `databases`.
pub(crate) fn from_consumers(file: File, source: &str, databases: &[&Database]) -> File {
    databases.iter().flat_map(|d| &d.consumers).fold(file.from(source), |f, c| f.from(format!("service/{c}")))
}
