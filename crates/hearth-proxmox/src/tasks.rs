//! Tasks: a call that answers a UPID (`UPID:node:pid:pstart:starttime:type:id:user:`) has only
//! started the work; `GET /nodes/{node}/tasks/{upid}/status` is read, with a growing pause, until
//! the task has stopped, and its `exitstatus` says how it ended (`OK`, `WARNINGS: n`, or the
//! error). A client runs at most `tasks_per_node` tasks on its node at once (two by default),
//! since a node serialises guest operations behind per-guest locks anyway and more only turns
//! into lock timeouts. A task that failed because a lock could not be taken is started again.

use serde_json::{Map, Value, json};

use crate::Error;
use crate::client::{Client, Method};
use crate::error::is_lock_message;

impl Client {
    /// Starts a task with `method path params` and waits for it to end. An answer that is not a
    /// UPID (a call that finished at once) counts as done.
    pub async fn task(&self, method: Method, path: &str, params: &Map<String, Value>) -> Result<(), Error> {
        self.run_task(method, path, params, false).await.map(drop)
    }

    /// `task`, answering the end of the task's log.
    pub async fn task_logged(
        &self,
        method: Method,
        path: &str,
        params: &Map<String, Value>,
    ) -> Result<Vec<String>, Error> {
        self.run_task(method, path, params, true).await
    }

    async fn run_task(
        &self,
        method: Method,
        path: &str,
        params: &Map<String, Value>,
        want_log: bool,
    ) -> Result<Vec<String>, Error> {
        // The permit is held from the start of the task to its end, so the node never runs more
        // than `tasks_per_node` of this client's tasks.
        let _permit = self.tasks.acquire().await.map_err(|_| Error::Protocol {
            what: format!("{} {path}", method.as_str()),
            reason: "the task queue was closed".into(),
        })?;
        let mut attempt = 0;
        loop {
            let answer = self.call(method, path, params).await?;
            let result = match answer.as_str().filter(|s| s.starts_with("UPID:")) {
                Some(upid) => match self.wait(upid).await {
                    Ok(()) if want_log => Ok(self.log_tail(upid).await),
                    Ok(()) => Ok(Vec::new()),
                    Err(e) => Err(e),
                },
                None => Ok(Vec::new()),
            };
            match result {
                Err(Error::Task { ref exitstatus, .. })
                    if is_lock_message(exitstatus) && attempt + 1 < self.retry.attempts =>
                {
                    tokio::time::sleep(self.retry.backoff(attempt)).await;
                    attempt += 1;
                }
                other => return other,
            }
        }
    }

    /// Waits for task `upid` to stop; its error carries the end of its log.
    pub async fn wait(&self, upid: &str) -> Result<(), Error> {
        let path = format!("/nodes/{}/tasks/{upid}/status", self.node());
        let started = tokio::time::Instant::now();
        let mut pause = self.retry.poll;
        loop {
            let status = self.get(&path, &Map::new()).await?;
            if status.get("status").and_then(Value::as_str) == Some("stopped") {
                let exit = status.get("exitstatus").and_then(Value::as_str).unwrap_or("no exit status").to_string();
                if exit == "OK" || exit.starts_with("WARNINGS") {
                    return Ok(());
                }
                let log = self.log_tail(upid).await;
                return Err(Error::Task { upid: upid.to_string(), exitstatus: exit, log });
            }
            if started.elapsed() >= self.retry.task_timeout {
                return Err(Error::TaskTimeout { upid: upid.to_string(), secs: self.retry.task_timeout.as_secs() });
            }
            tokio::time::sleep(pause).await;
            pause = (pause * 2).min(self.retry.max_poll);
        }
    }

    /// The last lines of a task's log (none when the log cannot be read: the status already
    /// says why the task failed).
    async fn log_tail(&self, upid: &str) -> Vec<String> {
        let path = format!("/nodes/{}/tasks/{upid}/log", self.node());
        let mut params = Map::new();
        params.insert("limit".into(), json!(500));
        let Ok(Value::Array(lines)) = self.get(&path, &params).await else { return Vec::new() };
        let text: Vec<String> = lines
            .iter()
            .filter_map(|l| l.get("t").and_then(Value::as_str))
            .filter(|t| !t.trim().is_empty() && !t.starts_with("TASK "))
            .map(str::to_string)
            .collect();
        text[text.len().saturating_sub(3)..].to_vec()
    }
}
