//! Per-aggregate serialisation within a process: lock stripes, each with the
//! commands queued for its aggregates and a small cache of their last state.

use std::any::Any;
use std::collections::{HashMap, VecDeque};
use std::hash::{Hash, Hasher};
use std::sync::Arc;

use cqrs_es::Aggregate;
use tokio::sync::{Mutex, OwnedMutexGuard};

use super::batch::Pending;

/// Lock stripes; aggregates hash onto them.
const STRIPES: usize = 1024;
/// Aggregates whose state one stripe keeps.
const CACHED_PER_STRIPE: usize = 8;

/// (aggregate type, aggregate id).
pub(super) type Key = (&'static str, String);

/// An aggregate's state as of `version`, kept between commands, with the
/// hash of its last event (where its chain continues), when known.
struct Cached {
    state: Box<dyn Any + Send + Sync>,
    version: usize,
    hash: Option<String>,
}

/// What the holder of a stripe's lock may use: the cache.
#[derive(Default)]
pub(super) struct Stripe {
    cache: HashMap<Key, Cached>,
}

impl Stripe {
    /// The cached state, version and last event's hash of `key`, if any.
    pub(super) fn cached<A: Aggregate + Clone + 'static>(
        &self,
        key: &Key,
    ) -> Option<(A, usize, Option<String>)> {
        let cached = self.cache.get(key)?;
        let state = cached.state.downcast_ref::<A>()?;
        Some((state.clone(), cached.version, cached.hash.clone()))
    }

    /// Caches `aggregate` at `version` (its last event's hash `hash`),
    /// evicting another entry if full.
    pub(super) fn remember<A: Aggregate + 'static>(
        &mut self,
        key: &Key,
        aggregate: A,
        version: usize,
        hash: Option<String>,
    ) {
        if self.cache.len() >= CACHED_PER_STRIPE && !self.cache.contains_key(key) {
            if let Some(victim) = self.cache.keys().next().cloned() {
                self.cache.remove(&victim);
            }
        }
        self.cache.insert(
            key.clone(),
            Cached {
                state: Box::new(aggregate),
                version,
                hash,
            },
        );
    }

    /// Drops what is cached of `key` (after an unexplained failure).
    pub(super) fn forget(&mut self, key: &Key) {
        self.cache.remove(key);
    }
}

/// The commands waiting for one aggregate. While it exists, a leader task is
/// draining it.
struct Queue {
    pending: Box<dyn Any + Send>,
}

struct Slot {
    lock: Arc<Mutex<Stripe>>,
    queues: std::sync::Mutex<HashMap<Key, Queue>>,
}

/// The stripes of one event store (shared by its clones).
#[derive(Clone)]
pub(super) struct Stripes {
    slots: Arc<Vec<Slot>>,
}

impl Stripes {
    pub(super) fn new() -> Self {
        let slots = (0..STRIPES)
            .map(|_| Slot {
                lock: Arc::new(Mutex::new(Stripe::default())),
                queues: std::sync::Mutex::new(HashMap::new()),
            })
            .collect();
        Self {
            slots: Arc::new(slots),
        }
    }

    fn slot(&self, key: &Key) -> &Slot {
        let mut hasher = std::collections::hash_map::DefaultHasher::new();
        key.hash(&mut hasher);
        &self.slots[(hasher.finish() as usize) % STRIPES]
    }

    /// Queues a command for `key`. Returns `true` when no task is draining
    /// `key`'s queue: the caller must start one (see [`Stripes::next_batch`]).
    pub(super) fn enqueue<A>(&self, key: &Key, pending: Pending<A>) -> bool
    where
        A: Aggregate + 'static,
        A::Command: Send,
        A::Error: Send,
    {
        let mut queues = self.slot(key).queues.lock().expect("queue lock poisoned");
        let mut lead = false;
        let queue = queues.entry(key.clone()).or_insert_with(|| {
            lead = true;
            Queue {
                pending: Box::new(VecDeque::<Pending<A>>::new()),
            }
        });
        queue
            .pending
            .downcast_mut::<VecDeque<Pending<A>>>()
            .expect("an aggregate id is queued under one aggregate type")
            .push_back(pending);
        lead
    }

    /// For the task draining `key`'s queue: every command queued since its
    /// last batch, oldest first. When there is none, the queue is removed
    /// (the task must stop; the next command starts a new one).
    pub(super) fn next_batch<A>(&self, key: &Key) -> Vec<Pending<A>>
    where
        A: Aggregate + 'static,
        A::Command: Send,
        A::Error: Send,
    {
        let mut queues = self.slot(key).queues.lock().expect("queue lock poisoned");
        let Some(queue) = queues.get_mut(key) else {
            return Vec::new();
        };
        let pending = queue
            .pending
            .downcast_mut::<VecDeque<Pending<A>>>()
            .expect("an aggregate id is queued under one aggregate type");
        if pending.is_empty() {
            queues.remove(key);
            return Vec::new();
        }
        pending.drain(..).collect()
    }

    /// The lock of `key`'s stripe, held until the guard is dropped.
    pub(super) async fn lock(&self, key: &Key) -> OwnedMutexGuard<Stripe> {
        self.slot(key).lock.clone().lock_owned().await
    }
}
