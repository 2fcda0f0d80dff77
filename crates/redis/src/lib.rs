//! Redis adapter of the shared rate-limit store (D11, D15, DATA.md §2.6): one pipelined
//! `INCR` + `EXPIRE` per request on `<prefix>:ip:<client>:<window>`, through `redis`'s
//! connection manager, which reconnects by itself.
//!
//! The client runs on a small Tokio runtime of its own, on its own thread: the HTTP workers
//! (actix, one single-threaded runtime each) only await a task's handle, so the connection's
//! driver never depends on one worker being polled, and dropping the store never drops a
//! runtime inside an async context. Every operation is bounded by the configured timeout: a
//! slow or absent Redis costs a request at most that long, and the caller then serves it on
//! its own counters.

#[cfg(feature = "testing")]
pub mod testing;

use std::sync::mpsc;
use std::time::Duration;

use erp_domain::ports::{RateLimitStore, RateStoreError, StoreFuture};
use redis::aio::{ConnectionManager, ConnectionManagerConfig};

/// How long a window's counter outlives the window's start: its minute, plus a margin for
/// clocks that disagree between replicas.
const COUNTER_TTL_SECONDS: i64 = 120;

/// Settings of the store (`rate_limit.redis_*`).
#[derive(Debug, Clone)]
pub struct RedisSettings {
    /// `redis://[user:password@]host:port[/db]` or `rediss://…`.
    pub url: String,
    /// Prefix of every key, so that several deployments can share one Redis.
    pub prefix: String,
    /// Longest wait for a connection or an answer.
    pub timeout: Duration,
}

/// Why the store could not be created.
#[derive(Debug, thiserror::Error)]
pub enum RedisStoreError {
    /// The URL is not a Redis URL.
    #[error("invalid Redis URL: {0}")]
    Url(String),
    /// The runtime or its thread could not be started.
    #[error("cannot start the Redis client: {0}")]
    Runtime(String),
}

/// The shared rate-limit store on Redis. Creating it does not connect: the first request does,
/// and a Redis that is down at start-up only means the first requests use the fallback.
pub struct RedisRateLimitStore {
    handle: tokio::runtime::Handle,
    connection: ConnectionManager,
    prefix: String,
    timeout: Duration,
    /// Dropped with the store: ends the runtime's thread.
    _stop: mpsc::SyncSender<()>,
}

impl std::fmt::Debug for RedisRateLimitStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisRateLimitStore")
            .field("prefix", &self.prefix)
            .field("timeout", &self.timeout)
            .finish_non_exhaustive()
    }
}

impl RedisRateLimitStore {
    /// Starts the client's runtime and a connection manager that connects lazily.
    ///
    /// # Errors
    /// [`RedisStoreError::Url`] for a malformed URL; [`RedisStoreError::Runtime`] when the
    /// thread or runtime cannot start.
    pub fn new(settings: &RedisSettings) -> Result<Self, RedisStoreError> {
        let client = redis::Client::open(settings.url.as_str())
            .map_err(|e| RedisStoreError::Url(e.to_string()))?;
        let (handle_tx, handle_rx) = mpsc::sync_channel(1);
        let (stop_tx, stop_rx) = mpsc::sync_channel::<()>(0);
        std::thread::Builder::new()
            .name("redis-client".into())
            .spawn(move || {
                let runtime = match tokio::runtime::Builder::new_multi_thread()
                    .worker_threads(1)
                    .thread_name("redis-io")
                    .enable_all()
                    .build()
                {
                    Ok(runtime) => runtime,
                    Err(e) => {
                        let _ = handle_tx.send(Err(e.to_string()));
                        return;
                    }
                };
                let _ = handle_tx.send(Ok(runtime.handle().clone()));
                // Blocks until the store is dropped (the sender hangs up); the runtime is then
                // dropped here, on a thread of its own.
                let _ = stop_rx.recv();
                runtime.shutdown_timeout(Duration::from_millis(100));
            })
            .map_err(|e| RedisStoreError::Runtime(e.to_string()))?;
        let handle = handle_rx
            .recv()
            .map_err(|e| RedisStoreError::Runtime(e.to_string()))?
            .map_err(RedisStoreError::Runtime)?;
        let config = ConnectionManagerConfig::new()
            .set_connection_timeout(Some(settings.timeout))
            .set_response_timeout(Some(settings.timeout))
            // Reconnection is retried by the next requests, not inside one of them.
            .set_number_of_retries(1)
            .set_min_delay(Duration::from_millis(10))
            .set_max_delay(settings.timeout);
        let connection = {
            let _entered = handle.enter();
            ConnectionManager::new_lazy_with_config(client, config)
                .map_err(|e| RedisStoreError::Runtime(e.to_string()))?
        };
        Ok(Self {
            handle,
            connection,
            prefix: settings.prefix.clone(),
            timeout: settings.timeout,
            _stop: stop_tx,
        })
    }

    /// The key of a client's counter in a window.
    #[must_use]
    pub fn key(&self, client: &str, window: i64) -> String {
        format!("{}:ip:{client}:{window}", self.prefix)
    }

    /// Runs `op` on the client's runtime, bounded by the timeout.
    fn run<T: Send + 'static>(
        &self,
        op: impl Future<Output = redis::RedisResult<T>> + Send + 'static,
    ) -> StoreFuture<'_, T> {
        let timeout = self.timeout;
        let task = self
            .handle
            .spawn(async move { tokio::time::timeout(timeout, op).await });
        Box::pin(async move {
            match task.await {
                Ok(Ok(Ok(value))) => Ok(value),
                Ok(Ok(Err(e))) => Err(RateStoreError(e.to_string())),
                Ok(Err(_)) => Err(RateStoreError(format!(
                    "no answer within {} ms",
                    timeout.as_millis()
                ))),
                Err(e) => Err(RateStoreError(e.to_string())),
            }
        })
    }
}

impl RateLimitStore for RedisRateLimitStore {
    fn hit(&self, client: &str, window: i64) -> StoreFuture<'_, u64> {
        let key = self.key(client, window);
        let mut connection = self.connection.clone();
        self.run(async move {
            // One round trip: both commands are pipelined.
            let (count,): (u64,) = redis::pipe()
                .incr(&key, 1)
                .expire(&key, COUNTER_TTL_SECONDS)
                .ignore()
                .query_async(&mut connection)
                .await?;
            Ok(count)
        })
    }

    fn ping(&self) -> StoreFuture<'_, ()> {
        let mut connection = self.connection.clone();
        self.run(async move {
            let _: String = redis::cmd("PING").query_async(&mut connection).await?;
            Ok(())
        })
    }
}
