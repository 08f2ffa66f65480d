//! Several instances of one function, as Lambda runs them: a request that finds every instance
//! busy starts another (up to a cap), so that concurrent requests run concurrently locally too,
//! and races show as they would deployed.

use std::sync::{Arc, Condvar, Mutex};
use std::time::Duration;

use crate::{Function, FunctionSpec, Outcome, RuntimeError};

/// The default cap on instances per function.
pub const DEFAULT_MAX_INSTANCES: usize = 10;

/// Up to `max` instances of one function.
pub struct Pool {
    spec: FunctionSpec,
    max: usize,
    state: Mutex<State>,
    released: Condvar,
}

#[derive(Default)]
struct State {
    /// Every instance started, in order (for their logs).
    all: Vec<Arc<Function>>,
    /// Instances alive.
    live: usize,
    /// The ones not serving a request.
    idle: Vec<Arc<Function>>,
    /// Instances being started.
    starting: usize,
}

impl Pool {
    /// A pool of `spec` with at most `max` instances (at least one), one started now so that a
    /// function that cannot start is known at once.
    pub fn start(spec: FunctionSpec, max: usize) -> Result<Self, RuntimeError> {
        let first = Arc::new(Function::start(spec.clone())?);
        let state = State {
            all: vec![first.clone()],
            idle: vec![first],
            live: 1,
            starting: 0,
        };
        Ok(Self {
            spec,
            max: max.max(1),
            state: Mutex::new(state),
            released: Condvar::new(),
        })
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// An idle instance, a new one when all are busy and the cap allows, or the next one
    /// released.
    fn acquire(&self) -> Result<Arc<Function>, RuntimeError> {
        let mut state = self.lock();
        loop {
            if let Some(f) = state.idle.pop() {
                return Ok(f);
            }
            if state.live + state.starting < self.max {
                state.starting += 1;
                drop(state);
                let started = Function::start(self.spec.clone()).map(Arc::new);
                let mut state = self.lock();
                state.starting -= 1;
                let f = started?;
                state.all.push(f.clone());
                state.live += 1;
                return Ok(f);
            }
            state = self.released.wait(state).unwrap_or_else(|e| e.into_inner());
        }
    }

    /// Invokes one instance with `payload`, waiting up to `timeout` for its answer.
    pub fn invoke(&self, payload: &[u8], timeout: Duration) -> Result<Outcome, RuntimeError> {
        let f = self.acquire()?;
        let outcome = f.invoke(payload, timeout);
        let mut state = self.lock();
        if matches!(outcome, Err(RuntimeError::Died { .. })) {
            // A dead instance serves nothing more; the next request starts a fresh one.
            state.live -= 1;
        } else {
            state.idle.push(f);
        }
        drop(state);
        self.released.notify_one();
        outcome
    }

    /// How many instances have been started and are alive.
    pub fn instances(&self) -> usize {
        self.lock().live
    }

    /// Everything every instance has printed, instance after instance.
    pub fn logs(&self) -> String {
        self.lock().all.iter().map(|f| f.logs()).collect()
    }
}
