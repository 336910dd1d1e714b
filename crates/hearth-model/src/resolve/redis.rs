//! Redis logical databases: pinned numbers kept, remembered ones reused, the rest handed out.

use std::collections::{BTreeMap, BTreeSet};

use hearth_spec::ast;

use super::Resolver;
use crate::model::{Model, RedisDb};

#[derive(Default)]
pub(super) struct RedisState {
    pub(super) pinned: BTreeSet<u32>,
    pub(super) remembered: BTreeMap<String, u32>,
    pub(super) used: BTreeSet<u32>,
}

impl Resolver<'_> {
    /// What allocation needs to know about one Redis server, gathered once per server so that
    /// allocating for many consumers stays linear.
    pub(super) fn redis_state(&mut self, server: &str) -> &mut RedisState {
        if !self.redis.contains_key(server) {
            let mut state = RedisState::default();
            for (consumer, s) in self.spec.services.iter() {
                for x in s.uses.iter().filter(|x| x.service.value == server) {
                    match &x.db {
                        Some(d) => {
                            state.pinned.insert(d.value);
                        }
                        None => {
                            let key = format!("service/{consumer}/redis-db/{server}");
                            if let Some(d) = self.previous.get(&key).and_then(|v| v.parse::<u32>().ok()) {
                                state.remembered.insert(consumer.to_string(), d);
                            }
                        }
                    }
                }
            }
            self.redis.insert(server.to_string(), state);
        }
        self.redis.entry(server.to_string()).or_default()
    }

    pub(super) fn redis_db(&mut self, consumer: &str, server: &str, u: &ast::Use, model: &mut Model) -> u32 {
        if let Some(db) = &u.db {
            self.origins.redis.push((server.to_string(), db.value, consumer.to_string(), db.span));
            model.redis_dbs.push(RedisDb { server: server.to_string(), db: db.value, consumer: consumer.to_string() });
            return db.value;
        }
        let state = self.redis_state(server);
        let used: BTreeSet<u32> = state.used.iter().copied().chain(state.pinned.iter().copied()).collect();
        // Numbers that other unpinned consumers of this server had in the lock stay theirs.
        let others: BTreeSet<u32> =
            state.remembered.iter().filter(|(c, _)| c.as_str() != consumer).map(|(_, d)| *d).collect();
        let key = format!("service/{consumer}/redis-db/{server}");
        let remembered = self.previous.get(&key).and_then(|v| v.parse::<u32>().ok()).filter(|d| !used.contains(d));
        let db = remembered.unwrap_or_else(|| (0..).find(|d| !used.contains(d) && !others.contains(d)).unwrap_or(0));
        self.allocations.set(key, db.to_string());
        self.redis_state(server).used.insert(db);
        self.origins.redis.push((server.to_string(), db, consumer.to_string(), u.service.span));
        model.redis_dbs.push(RedisDb { server: server.to_string(), db, consumer: consumer.to_string() });
        db
    }
}
