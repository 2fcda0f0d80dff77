//! Request coalescing for expensive reads: concurrent requests for the same answer share one
//! computation, and every request still gets an answer that is *fresh for it*.
//!
//! A computation that was already under way when a request arrived may have read the database
//! before a write the client saw committed, so that request never takes its answer. It waits
//! for the next computation instead — one that starts after it arrived — and so does every
//! request that arrives in the meantime: at most one computation runs per key, and each one
//! answers everything that queued up while the previous one ran. Under load a key costs one
//! computation at a time however many clients ask; alone, a request costs exactly one.
//!
//! Waiting is asynchronous (no blocking thread is held), and the computation runs in a task
//! of its own, so a client that goes away — the one whose request started it included — does
//! not take the answer away from the others.

use std::collections::HashMap;
use std::future::Future;
use std::hash::Hash;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use tokio::sync::Notify;

/// Requests coalesced by key (for the dashboard: who sees the same numbers).
#[derive(Debug)]
pub struct Coalescer<K, V> {
    flights: Mutex<HashMap<K, Arc<Flight<V>>>>,
}

#[derive(Debug)]
struct Flight<V> {
    state: Mutex<State<V>>,
    finished: Notify,
}

#[derive(Debug)]
struct State<V> {
    /// Computations started so far; while `running`, the last of them is under way.
    started: u64,
    running: bool,
    /// The number of the last computation that ended, and its answer (`None`: it was lost —
    /// its task panicked — and a waiter starts another one).
    last: Option<(u64, Option<V>)>,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

impl<K, V> Default for Coalescer<K, V> {
    fn default() -> Self {
        Self {
            flights: Mutex::new(HashMap::new()),
        }
    }
}

impl<K: Eq + Hash + Clone, V: Clone + 'static> Coalescer<K, V> {
    /// The answer of a computation of `key` that started after this call: this request's
    /// own `compute` if none is under way, else the one that starts when the current one ends
    /// (shared with every request that waits for it). `compute` is called at most once, on the
    /// current actix runtime (`actix_web::rt::spawn`).
    ///
    /// `None` if the computation this request started was lost (its task panicked).
    pub async fn run<F, Fut>(&self, key: K, compute: F) -> Option<V>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = V> + 'static,
    {
        let flight = self.flight(&key);
        let _leave = Leave {
            coalescer: self,
            key: &key,
            flight: &flight,
        };
        // The first computation to start from now on: whatever runs now began before us.
        let needed = lock(&flight.state).started + 1;
        let mut compute = Some(compute);
        loop {
            // Registered before the state is read, so that an end in between still wakes us.
            let finished = flight.finished.notified();
            let start = {
                let mut state = lock(&flight.state);
                match &state.last {
                    Some((n, Some(answer))) if *n >= needed => return Some(answer.clone()),
                    _ => {}
                }
                if state.running {
                    None
                } else {
                    // Nothing under way and no fresh answer yet: this request computes one,
                    // unless its own computation was the one lost.
                    let compute = compute.take()?;
                    state.running = true;
                    state.started += 1;
                    Some((state.started, compute))
                }
            };
            // Started outside the lock: a task dropped at once (a runtime shutting down)
            // publishes its loss through `End`, which takes the lock.
            if let Some((number, compute)) = start {
                let end = End {
                    flight: Arc::clone(&flight),
                    number,
                    answer: None,
                };
                let work = compute();
                actix_web::rt::spawn(async move { end.publish(work.await) });
            }
            finished.await;
        }
    }

    fn flight(&self, key: &K) -> Arc<Flight<V>> {
        let mut flights = lock(&self.flights);
        Arc::clone(flights.entry(key.clone()).or_insert_with(|| {
            Arc::new(Flight {
                state: Mutex::new(State {
                    started: 0,
                    running: false,
                    last: None,
                }),
                finished: Notify::new(),
            })
        }))
    }

    /// Keys remembered: those computed or waited for, and any whose last request went away
    /// while its computation ran (forgotten when the next request for it leaves).
    #[must_use]
    pub fn keys_in_use(&self) -> usize {
        lock(&self.flights).len()
    }
}

/// Publishes a computation's end — its answer, or its loss if the task unwinds — and wakes
/// every waiter.
struct End<V> {
    flight: Arc<Flight<V>>,
    number: u64,
    answer: Option<V>,
}

impl<V> End<V> {
    fn publish(mut self, answer: V) {
        self.answer = Some(answer);
    }
}

impl<V> Drop for End<V> {
    fn drop(&mut self) {
        let mut state = lock(&self.flight.state);
        state.running = false;
        state.last = Some((self.number, self.answer.take()));
        drop(state);
        self.flight.finished.notify_waiters();
    }
}

/// Forgets a key when its last request leaves and nothing is under way, so that the map only
/// holds the keys in use.
struct Leave<'a, K: Eq + Hash, V> {
    coalescer: &'a Coalescer<K, V>,
    key: &'a K,
    flight: &'a Arc<Flight<V>>,
}

impl<K: Eq + Hash, V> Drop for Leave<'_, K, V> {
    fn drop(&mut self) {
        let mut flights = lock(&self.coalescer.flights);
        // The map's reference and ours: nobody else waits, and no task computes (it holds one).
        if Arc::strong_count(self.flight) == 2 && !lock(&self.flight.state).running {
            flights.remove(self.key);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicU64, Ordering};
    use std::time::Duration;

    type Work = std::pin::Pin<Box<dyn Future<Output = u64>>>;

    /// Computations started and ended, shared by a test's requests.
    #[derive(Default)]
    struct Calls {
        started: AtomicU64,
        ended: AtomicU64,
    }

    /// A computation that numbers itself by its start and answers that number after `delay`.
    fn counted(calls: &Arc<Calls>, delay: Duration) -> impl FnOnce() -> Work + use<> {
        let calls = Arc::clone(calls);
        move || {
            let n = calls.started.fetch_add(1, Ordering::SeqCst) + 1;
            Box::pin(async move {
                tokio::time::sleep(delay).await;
                calls.ended.fetch_add(1, Ordering::SeqCst);
                n
            })
        }
    }

    fn started(calls: &Calls) -> u64 {
        calls.started.load(Ordering::SeqCst)
    }

    #[actix_web::test]
    async fn a_lone_request_computes_once_and_the_key_is_forgotten() {
        let c = Coalescer::<&str, u64>::default();
        let calls = Arc::new(Calls::default());
        assert_eq!(c.run("k", counted(&calls, Duration::ZERO)).await, Some(1));
        assert_eq!(c.run("k", counted(&calls, Duration::ZERO)).await, Some(2));
        assert_eq!(started(&calls), 2, "one computation per lone request");
        assert_eq!(c.keys_in_use(), 0);
    }

    #[actix_web::test]
    async fn requests_arriving_during_a_computation_share_the_next_one() {
        let c = Coalescer::<&str, u64>::default();
        let calls = Arc::new(Calls::default());
        let slow = Duration::from_millis(50);
        let first = c.run("k", counted(&calls, slow));
        let later = async {
            // Arrive while the first computation runs.
            tokio::time::sleep(Duration::from_millis(10)).await;
            futures_util::future::join_all((0..5).map(|_| c.run("k", counted(&calls, slow)))).await
        };
        let other_key = c.run("other", counted(&calls, slow));
        let (first, later, other) = futures_util::future::join3(first, later, other_key).await;
        // Computations are numbered by the shared counter: "k" first (1), "other" (2), then
        // the one computation the five latecomers share (3).
        assert_eq!(first, Some(1));
        assert_eq!(other, Some(2));
        assert_eq!(
            later,
            vec![Some(3); 5],
            "never the answer that started before them"
        );
        assert_eq!(started(&calls), 3);
        assert_eq!(c.keys_in_use(), 0);
    }

    #[actix_web::test]
    async fn a_computation_outlives_the_client_that_started_it() {
        let c = Coalescer::<&str, u64>::default();
        let calls = Arc::new(Calls::default());
        let slow = Duration::from_millis(40);
        let leader = c.run("k", counted(&calls, slow));
        let gave_up = tokio::time::timeout(Duration::from_millis(5), leader).await;
        assert!(
            gave_up.is_err(),
            "the client went away while its computation ran"
        );
        // A request arriving now needs a computation that starts after it: the next one.
        let waiter = c.run("k", counted(&calls, slow)).await;
        assert_eq!(waiter, Some(2));
        assert_eq!(
            calls.ended.load(Ordering::SeqCst),
            2,
            "the abandoned computation ran to its end"
        );
        assert_eq!(c.keys_in_use(), 0);
    }

    #[actix_web::test]
    async fn a_lost_computation_is_an_answer_for_nobody() {
        let c = Coalescer::<&str, u64>::default();
        let lost = c
            .run("k", || async { panic!("the computation fails") })
            .await;
        assert_eq!(lost, None, "its own request learns it was lost");
        let calls = Arc::new(Calls::default());
        assert_eq!(c.run("k", counted(&calls, Duration::ZERO)).await, Some(1));
    }
}
