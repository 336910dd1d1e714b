//! The history: SQLite (bundled, WAL) with one row per result, hourly aggregates and
//! incidents.
//!
//! `results` keeps every check's outcome and latency for `raw_days`; `hourly` keeps, per
//! target and hour, the count of checks and failures and the latency sum and maximum, updated
//! in the same transaction as the results it aggregates, so dropping old results *is* the
//! downsampling: uptime over 24 h, 7 d and 30 d reads `hourly` alone. `incidents` has one row
//! per incident, open until its `ended` is set. Target ids are interned (`targets`) so a
//! result row is a few integers. Writes come in batches, one transaction each, since a commit
//! costs more than the rows it holds.

use std::collections::HashMap;
use std::path::Path;

use rusqlite::{Connection, OptionalExtension as _, params};
use serde::Serialize;
use thiserror::Error;

use crate::track::Millis;

/// A database error, with what was being done.
#[derive(Debug, Error)]
#[error("the watch database `{path}`: {what}: {source}")]
pub struct StoreError {
    path: String,
    what: &'static str,
    source: rusqlite::Error,
}

/// One result to record.
#[derive(Debug, Clone, PartialEq)]
pub struct Row {
    pub target: String,
    pub at: Millis,
    pub ok: bool,
    pub latency_us: u64,
    pub reason: Option<String>,
}

/// One incident, open or past.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Incident {
    pub id: i64,
    pub target: String,
    pub started: Millis,
    pub ended: Option<Millis>,
    pub reason: String,
    /// Whether it was announced (not opened inside a maintenance window).
    pub announced: bool,
}

/// Checks and failures over a span of hours.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Tally {
    pub checks: u64,
    pub failures: u64,
}

impl Tally {
    /// The share of checks that passed, when there were any.
    pub fn uptime(&self) -> Option<f64> {
        (self.checks > 0).then(|| (self.checks - self.failures) as f64 / self.checks as f64)
    }
}

/// The open database.
pub struct Store {
    db: Connection,
    path: String,
    ids: HashMap<String, i64>,
}

const HOUR: Millis = 3_600_000;
const DAY: Millis = 24 * HOUR;

impl Store {
    /// Opens (creating) the database at `path`.
    pub fn open(path: &Path) -> Result<Store, StoreError> {
        let shown = path.display().to_string();
        let db = Connection::open(path).map_err(|source| StoreError {
            path: shown.clone(),
            what: "cannot open it",
            source,
        })?;
        Store::init(db, shown)
    }

    /// A database in memory (tests).
    pub fn in_memory() -> Result<Store, StoreError> {
        let db = Connection::open_in_memory().map_err(|source| StoreError {
            path: ":memory:".into(),
            what: "cannot open it",
            source,
        })?;
        Store::init(db, ":memory:".into())
    }

    fn init(db: Connection, path: String) -> Result<Store, StoreError> {
        let err = |what| {
            let path = path.clone();
            move |source| StoreError { path, what, source }
        };
        // WAL lets the page read while the recorder writes; NORMAL syncs at checkpoints only,
        // which loses at most the last batch on a power cut, never the database.
        db.pragma_update(None, "journal_mode", "WAL").map_err(err("cannot switch to WAL"))?;
        db.pragma_update(None, "synchronous", "NORMAL").map_err(err("cannot set `synchronous`"))?;
        db.busy_timeout(std::time::Duration::from_secs(5)).map_err(err("cannot set the busy timeout"))?;
        db.execute_batch(
            "CREATE TABLE IF NOT EXISTS targets (id INTEGER PRIMARY KEY, key TEXT NOT NULL UNIQUE);
             CREATE TABLE IF NOT EXISTS results (
                 target INTEGER NOT NULL, at INTEGER NOT NULL, ok INTEGER NOT NULL,
                 latency_us INTEGER NOT NULL, reason TEXT);
             CREATE INDEX IF NOT EXISTS results_by_target ON results (target, at);
             CREATE INDEX IF NOT EXISTS results_by_time ON results (at);
             CREATE TABLE IF NOT EXISTS hourly (
                 target INTEGER NOT NULL, hour INTEGER NOT NULL, checks INTEGER NOT NULL,
                 failures INTEGER NOT NULL, latency_sum_us INTEGER NOT NULL, latency_max_us INTEGER NOT NULL,
                 PRIMARY KEY (target, hour)) WITHOUT ROWID;
             CREATE TABLE IF NOT EXISTS incidents (
                 id INTEGER PRIMARY KEY, target INTEGER NOT NULL, started INTEGER NOT NULL,
                 ended INTEGER, reason TEXT NOT NULL, announced INTEGER NOT NULL);
             CREATE INDEX IF NOT EXISTS incidents_open ON incidents (ended);",
        )
        .map_err(err("cannot create its tables"))?;
        let mut ids = HashMap::new();
        {
            let mut stmt = db.prepare("SELECT key, id FROM targets").map_err(err("cannot read its targets"))?;
            let rows = stmt
                .query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?)))
                .map_err(err("cannot read its targets"))?;
            for row in rows {
                let (k, v) = row.map_err(err("cannot read its targets"))?;
                ids.insert(k, v);
            }
        }
        Ok(Store { db, path, ids })
    }

    fn err(&self, what: &'static str) -> impl Fn(rusqlite::Error) -> StoreError + '_ {
        move |source| StoreError { path: self.path.clone(), what, source }
    }

    fn id(&mut self, key: &str) -> Result<i64, StoreError> {
        if let Some(id) = self.ids.get(key) {
            return Ok(*id);
        }
        self.db.execute("INSERT OR IGNORE INTO targets (key) VALUES (?1)", [key]).map_err(|source| StoreError {
            path: self.path.clone(),
            what: "cannot add a target",
            source,
        })?;
        let id: i64 = self
            .db
            .query_row("SELECT id FROM targets WHERE key = ?1", [key], |r| r.get(0))
            .map_err(|source| StoreError { path: self.path.clone(), what: "cannot add a target", source })?;
        self.ids.insert(key.to_string(), id);
        Ok(id)
    }

    /// Records a batch of results and their hourly aggregates in one transaction.
    pub fn record(&mut self, rows: &[Row]) -> Result<(), StoreError> {
        let ids: Vec<i64> = rows.iter().map(|r| self.id(&r.target)).collect::<Result<_, _>>()?;
        let path = self.path.clone();
        let err = |what| {
            let path = path.clone();
            move |source| StoreError { path, what, source }
        };
        let tx = self.db.transaction().map_err(err("cannot begin a transaction"))?;
        {
            let mut insert = tx
                .prepare_cached("INSERT INTO results (target, at, ok, latency_us, reason) VALUES (?1, ?2, ?3, ?4, ?5)")
                .map_err(err("cannot record a result"))?;
            let mut hourly = tx
                .prepare_cached(
                    "INSERT INTO hourly (target, hour, checks, failures, latency_sum_us, latency_max_us)
                     VALUES (?1, ?2, 1, ?3, ?4, ?4)
                     ON CONFLICT (target, hour) DO UPDATE SET checks = checks + 1, failures = failures + ?3,
                         latency_sum_us = latency_sum_us + ?4, latency_max_us = max(latency_max_us, ?4)",
                )
                .map_err(err("cannot record an hourly aggregate"))?;
            for (row, id) in rows.iter().zip(ids) {
                let latency = row.latency_us.min(i64::MAX as u64) as i64;
                insert
                    .execute(params![id, row.at, row.ok, latency, row.reason])
                    .map_err(err("cannot record a result"))?;
                hourly
                    .execute(params![id, row.at.div_euclid(HOUR) * HOUR, i64::from(!row.ok), latency])
                    .map_err(err("cannot record an hourly aggregate"))?;
            }
        }
        tx.commit().map_err(err("cannot commit results"))
    }

    /// Opens an incident; its id.
    pub fn open_incident(
        &mut self,
        target: &str,
        started: Millis,
        reason: &str,
        announced: bool,
    ) -> Result<i64, StoreError> {
        let id = self.id(target)?;
        self.db
            .execute(
                "INSERT INTO incidents (target, started, reason, announced) VALUES (?1, ?2, ?3, ?4)",
                params![id, started, reason, announced],
            )
            .map_err(self.err("cannot open an incident"))?;
        Ok(self.db.last_insert_rowid())
    }

    /// Closes an incident at `ended`.
    pub fn close_incident(&mut self, id: i64, ended: Millis) -> Result<(), StoreError> {
        self.db
            .execute("UPDATE incidents SET ended = ?2 WHERE id = ?1 AND ended IS NULL", params![id, ended])
            .map_err(self.err("cannot close an incident"))?;
        Ok(())
    }

    /// The open incidents and up to `past` closed ones, newest first.
    pub fn incidents(&self, past: usize) -> Result<Vec<Incident>, StoreError> {
        let mut stmt = self
            .db
            .prepare_cached(
                "SELECT i.id, t.key, i.started, i.ended, i.reason, i.announced FROM incidents i
                 JOIN targets t ON t.id = i.target
                 WHERE i.ended IS NULL OR i.id IN (SELECT id FROM incidents WHERE ended IS NOT NULL ORDER BY ended DESC, id DESC LIMIT ?1)
                 ORDER BY i.ended IS NOT NULL, COALESCE(i.ended, i.started) DESC, i.id DESC",
            )
            .map_err(self.err("cannot read incidents"))?;
        let rows = stmt
            .query_map([past as i64], |r| {
                Ok(Incident {
                    id: r.get(0)?,
                    target: r.get(1)?,
                    started: r.get(2)?,
                    ended: r.get(3)?,
                    reason: r.get(4)?,
                    announced: r.get(5)?,
                })
            })
            .map_err(self.err("cannot read incidents"))?;
        rows.collect::<Result<_, _>>().map_err(self.err("cannot read incidents"))
    }

    /// Checks and failures per target since `since` (from the hourly aggregates, whose hour
    /// holding `since` counts whole).
    pub fn tallies(&self, since: Millis) -> Result<HashMap<String, Tally>, StoreError> {
        let mut stmt = self
            .db
            .prepare_cached(
                "SELECT t.key, SUM(h.checks), SUM(h.failures) FROM hourly h JOIN targets t ON t.id = h.target
                 WHERE h.hour >= ?1 GROUP BY h.target",
            )
            .map_err(self.err("cannot read uptime"))?;
        let rows = stmt
            .query_map([since.div_euclid(HOUR) * HOUR], |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    Tally { checks: r.get::<_, i64>(1)? as u64, failures: r.get::<_, i64>(2)? as u64 },
                ))
            })
            .map_err(self.err("cannot read uptime"))?;
        rows.collect::<Result<_, _>>().map_err(self.err("cannot read uptime"))
    }

    /// When `target` last passed, if ever.
    pub fn last_success(&mut self, target: &str) -> Result<Option<Millis>, StoreError> {
        let id = self.id(target)?;
        self.db
            .query_row("SELECT MAX(at) FROM results WHERE target = ?1 AND ok = 1", [id], |r| {
                r.get::<_, Option<Millis>>(0)
            })
            .optional()
            .map(Option::flatten)
            .map_err(self.err("cannot read the last success"))
    }

    /// The latest `n` latencies of `target`, oldest first (to refill the sparklines on start).
    pub fn latencies(&mut self, target: &str, n: usize) -> Result<Vec<(bool, u64)>, StoreError> {
        let id = self.id(target)?;
        let mut stmt = self
            .db
            .prepare_cached("SELECT ok, latency_us FROM results WHERE target = ?1 ORDER BY at DESC LIMIT ?2")
            .map_err(self.err("cannot read latencies"))?;
        let rows = stmt
            .query_map(params![id, n as i64], |r| Ok((r.get::<_, bool>(0)?, r.get::<_, i64>(1)?.max(0) as u64)))
            .map_err(self.err("cannot read latencies"))?;
        let mut out: Vec<(bool, u64)> = rows.collect::<Result<_, _>>().map_err(self.err("cannot read latencies"))?;
        out.reverse();
        Ok(out)
    }

    /// Drops results older than `raw_days` (their hours stay in `hourly`) and hourly
    /// aggregates older than `hourly_days`; how many rows went.
    pub fn prune(&mut self, now: Millis, raw_days: u32, hourly_days: u32) -> Result<usize, StoreError> {
        let raw = self
            .db
            .execute("DELETE FROM results WHERE at < ?1", [now - Millis::from(raw_days) * DAY])
            .map_err(self.err("cannot drop old results"))?;
        let hourly = self
            .db
            .execute("DELETE FROM hourly WHERE hour < ?1", [now - Millis::from(hourly_days) * DAY])
            .map_err(self.err("cannot drop old aggregates"))?;
        Ok(raw + hourly)
    }

    /// How many results are kept (tests, the benchmark).
    pub fn result_count(&self) -> Result<u64, StoreError> {
        self.db
            .query_row("SELECT COUNT(*) FROM results", [], |r| r.get::<_, i64>(0))
            .map(|n| n as u64)
            .map_err(self.err("cannot count results"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(target: &str, at: Millis, ok: bool) -> Row {
        Row { target: target.into(), at, ok, latency_us: 1000, reason: (!ok).then(|| "refused".into()) }
    }

    #[test]
    fn results_downsample_to_hours_that_outlive_them() {
        let mut s = Store::in_memory().unwrap();
        // Day 0: 4 checks of `a`, one failing; day 10: 2 passing.
        let rows = [row("a", 1000, true), row("a", 2000, false), row("a", HOUR + 5, true), row("a", 2 * HOUR, true)];
        s.record(&rows).unwrap();
        s.record(&[row("a", 10 * DAY, true), row("a", 10 * DAY + 1, true), row("b", 10 * DAY, false)]).unwrap();
        let check = |s: &Store, since: Millis, expected: &[(&str, u64, u64)]| {
            let mut got: Vec<(String, u64, u64)> =
                s.tallies(since).unwrap().into_iter().map(|(k, t)| (k, t.checks, t.failures)).collect();
            got.sort();
            let expected: Vec<(String, u64, u64)> = expected.iter().map(|(k, c, f)| (k.to_string(), *c, *f)).collect();
            assert_eq!(got, expected);
        };
        check(&s, 0, &[("a", 6, 1), ("b", 1, 1)]);
        check(&s, 9 * DAY, &[("a", 2, 0), ("b", 1, 1)]);
        // Keeping 2 days of raw results at day 11 drops day 0's rows but not its hours.
        assert_eq!(s.prune(11 * DAY, 2, 400).unwrap(), 4);
        assert_eq!(s.result_count().unwrap(), 3);
        check(&s, 0, &[("a", 6, 1), ("b", 1, 1)]);
        // Hourly aggregates go after their own retention.
        assert_eq!(s.prune(11 * DAY, 2, 5).unwrap(), 3);
        check(&s, 0, &[("a", 2, 0), ("b", 1, 1)]);
        assert_eq!(Tally { checks: 4, failures: 1 }.uptime(), Some(0.75));
        assert_eq!(Tally::default().uptime(), None);
    }

    #[test]
    fn incidents_list_open_first_then_past_newest_first() {
        let mut s = Store::in_memory().unwrap();
        let a = s.open_incident("a", 100, "refused", true).unwrap();
        let b = s.open_incident("b", 200, "timeout", false).unwrap();
        let c = s.open_incident("c", 300, "500", true).unwrap();
        s.close_incident(a, 400).unwrap();
        s.close_incident(c, 500).unwrap();
        s.close_incident(c, 900).unwrap();
        let shown: Vec<(i64, Option<Millis>)> = s.incidents(10).unwrap().iter().map(|i| (i.id, i.ended)).collect();
        assert_eq!(shown, [(b, None), (c, Some(500)), (a, Some(400))]);
        let shown: Vec<i64> = s.incidents(1).unwrap().iter().map(|i| i.id).collect();
        assert_eq!(shown, [b, c]);
    }

    #[test]
    fn a_reopened_file_keeps_its_history() {
        let dir = std::env::temp_dir().join(format!("hearth-watch-store-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("watch.db");
        let _ = std::fs::remove_file(&path);
        {
            let mut s = Store::open(&path).unwrap();
            s.record(&[row("a", 1000, true), row("a", 2000, false)]).unwrap();
            s.open_incident("a", 2000, "refused", true).unwrap();
        }
        let mut s = Store::open(&path).unwrap();
        assert_eq!(s.last_success("a").unwrap(), Some(1000));
        assert_eq!(s.latencies("a", 5).unwrap(), [(true, 1000), (false, 1000)]);
        assert_eq!(s.incidents(0).unwrap().len(), 1);
        let mode: String = s.db.query_row("PRAGMA journal_mode", [], |r| r.get(0)).unwrap();
        assert_eq!(mode, "wal");
        drop(s);
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
