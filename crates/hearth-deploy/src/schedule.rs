//! Running machines in parallel, at most `jobs` at once, each after the machines it is ordered
//! after (data tier before its consumers, the proxy after its upstreams).

use std::collections::{BTreeMap, BTreeSet};
use std::future::Future;

use tokio::sync::{Semaphore, watch};

use crate::error::DeployError;

/// For each machine, the machines it waits for. Edges `(before, after)` naming a machine not in
/// `machines` are dropped: a deploy to some machines orders only those. A cycle is an error.
pub fn predecessors(
    machines: &[String],
    edges: &[(String, String)],
) -> Result<BTreeMap<String, BTreeSet<String>>, DeployError> {
    let known: BTreeSet<&String> = machines.iter().collect();
    let mut preds: BTreeMap<String, BTreeSet<String>> = machines.iter().map(|m| (m.clone(), BTreeSet::new())).collect();
    for (before, after) in edges {
        if known.contains(before) && known.contains(after) && before != after {
            preds.entry(after.clone()).or_default().insert(before.clone());
        }
    }
    // Kahn's algorithm: whatever cannot be ordered sits on a cycle.
    let mut waiting = preds.clone();
    loop {
        let ready: Vec<String> = waiting.iter().filter(|(_, p)| p.is_empty()).map(|(m, _)| m.clone()).collect();
        if ready.is_empty() {
            break;
        }
        for m in &ready {
            waiting.remove(m);
        }
        for p in waiting.values_mut() {
            for m in &ready {
                p.remove(m);
            }
        }
    }
    match waiting.keys().next() {
        Some(machine) => Err(DeployError::OrderingCycle { machine: machine.clone() }),
        None => Ok(preds),
    }
}

/// Where a machine announces whether it succeeded (`None` while it runs).
type Channel = (watch::Sender<Option<bool>>, watch::Receiver<Option<bool>>);

/// What a scheduled machine's work returns: whether machines after it may go ahead.
pub trait Succeeded {
    fn succeeded(&self) -> bool;
}

/// Runs `work(i)` for every machine `i`, after its predecessors succeeded, with at most `jobs`
/// running at once; a machine whose predecessor failed gets `skip(i, failed_predecessor)`. Results
/// come back in the order of `machines`.
pub async fn run<T, W, Fut, S>(
    machines: &[String],
    preds: &BTreeMap<String, BTreeSet<String>>,
    jobs: usize,
    work: W,
    skip: S,
) -> Vec<T>
where
    T: Succeeded,
    W: Fn(usize) -> Fut,
    Fut: Future<Output = T>,
    S: Fn(usize, &str) -> T,
{
    let semaphore = Semaphore::new(jobs.max(1));
    let channels: BTreeMap<&str, Channel> = machines.iter().map(|m| (m.as_str(), watch::channel(None))).collect();
    let tasks = machines.iter().enumerate().map(|(i, machine)| {
        let semaphore = &semaphore;
        let channels = &channels;
        let work = &work;
        let skip = &skip;
        async move {
            for pred in preds.get(machine).into_iter().flatten() {
                let Some((_, rx)) = channels.get(pred.as_str()) else { continue };
                let mut rx = rx.clone();
                let ok = matches!(rx.wait_for(Option::is_some).await.map(|v| *v), Ok(Some(true)));
                if !ok {
                    let result = skip(i, pred);
                    if let Some((tx, _)) = channels.get(machine.as_str()) {
                        tx.send_replace(Some(false));
                    }
                    return result;
                }
            }
            // The semaphore is never closed, so acquiring only waits.
            let _permit = semaphore.acquire().await.ok();
            let result = work(i).await;
            if let Some((tx, _)) = channels.get(machine.as_str()) {
                tx.send_replace(Some(result.succeeded()));
            }
            result
        }
    });
    futures_util::future::join_all(tasks).await
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;

    use super::*;

    fn names(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| s.to_string()).collect()
    }

    fn edges(list: &[(&str, &str)]) -> Vec<(String, String)> {
        list.iter().map(|(a, b)| (a.to_string(), b.to_string())).collect()
    }

    /// Runs machines in order with `jobs`, failing those in `fail`; returns the start order and
    /// which ran (`true`) or were skipped.
    fn check(
        machines: &[&str],
        order: &[(&str, &str)],
        fail: &[&str],
        expected_starts: &[&str],
        expected_ran: &[bool],
    ) {
        let machines = names(machines);
        let preds = predecessors(&machines, &edges(order)).unwrap();
        let starts = Mutex::new(Vec::new());
        let runtime = tokio::runtime::Builder::new_current_thread().build().unwrap();
        let results = runtime.block_on(run(
            &machines,
            &preds,
            1,
            |i| {
                starts.lock().unwrap().push(machines[i].clone());
                let ok = !fail.contains(&machines[i].as_str());
                async move { (true, ok) }
            },
            |_, _| (false, false),
        ));
        assert_eq!(starts.into_inner().unwrap(), names(expected_starts));
        assert_eq!(results.iter().map(|r| r.0).collect::<Vec<_>>(), expected_ran);
    }

    impl Succeeded for (bool, bool) {
        fn succeeded(&self) -> bool {
            self.1
        }
    }

    #[test]
    fn ordering() {
        check(
            &["proxy", "app", "db"],
            &[("db", "app"), ("app", "proxy")],
            &[],
            &["db", "app", "proxy"],
            &[true, true, true],
        );
        check(&["proxy", "app", "db"], &[("db", "app"), ("app", "proxy")], &["db"], &["db"], &[false, false, true]);
        check(&["a", "b"], &[("x", "a")], &[], &["a", "b"], &[true, true]);
    }

    #[test]
    fn cycles_are_refused() {
        let err = predecessors(&names(&["a", "b"]), &edges(&[("a", "b"), ("b", "a")])).unwrap_err();
        assert_eq!(err.to_string(), "ordering edges form a cycle through `a`");
    }
}
