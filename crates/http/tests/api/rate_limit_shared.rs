//! The general rate limit shared through a real Redis (D11, D15, API.md §1.7): two replicas
//! (two app states, each with its own Redis client, as two processes have) share one budget;
//! a Redis that stops never fails a request (each replica counts alone meanwhile, `/health`
//! says `warning`, the failure is counted), and the shared budget returns with Redis.

#![expect(
    clippy::unwrap_used,
    reason = "test helpers outside #[test] functions: failing loudly is the point"
)]

use crate::support;

use std::sync::Arc;

use actix_web::http::{Method, StatusCode};
use actix_web::test::{self, TestRequest};
use erp_domain::ports::RateLimitStore;
use erp_persistence::Database;
use erp_persistence::testing::{TestBackend, TestDatabase};
use erp_redis::testing::{RedisServer, shared_redis_url, unique_prefix};
use erp_redis::{RedisRateLimitStore, RedisSettings};
use support::{App, TestClock, call_app};

fn store(url: &str, prefix: &str) -> Arc<dyn RateLimitStore> {
    Arc::new(
        RedisRateLimitStore::new(&RedisSettings {
            url: url.to_owned(),
            prefix: prefix.to_owned(),
            timeout: std::time::Duration::from_millis(200),
        })
        .unwrap(),
    )
}

async fn replica(
    db: &Arc<Database>,
    clock: &Arc<TestClock>,
    rpm: u32,
    store: Arc<dyn RateLimitStore>,
) -> App {
    erp_http::metrics::install();
    let app = support::application(Arc::clone(db), Arc::clone(clock) as _);
    let mut settings = support::settings(rpm);
    settings.rate_limit_store = Some(store);
    let state = erp_http::AppState::new(support::service(), settings, Arc::clone(db) as _, app);
    actix_service::boxed::service(test::init_service(erp_http::app(state)).await)
}

/// A frozen clock at least 10 seconds before the end of its minute, so that a test that moves
/// it by a few seconds stays in one window.
fn clock() -> Arc<TestClock> {
    let clock = TestClock::starting_now();
    let second = erp_domain::Clock::now(&*clock).timestamp().rem_euclid(60);
    if second > 45 {
        clock.advance(chrono::Duration::seconds(61 - second));
    }
    clock
}

async fn status(app: &App) -> StatusCode {
    call_app(app, TestRequest::get().uri("/api/v1/auth/me"))
        .await
        .status
}

#[actix_web::test]
async fn replicas_share_one_budget_through_redis() {
    let Some(url) = shared_redis_url() else {
        return;
    };
    let guard = TestDatabase::new(TestBackend::Sqlite).unwrap();
    let db = Arc::new(guard.migrated());
    let clock = clock();
    let prefix = unique_prefix();
    let a = replica(&db, &clock, 4, store(&url, &prefix)).await;
    let b = replica(&db, &clock, 4, store(&url, &prefix)).await;
    for (i, app) in [&a, &b, &a, &b].into_iter().enumerate() {
        assert_eq!(status(app).await, StatusCode::UNAUTHORIZED, "request {i}");
    }
    let res = call_app(&a, TestRequest::get().uri("/api/v1/auth/me")).await;
    assert_eq!(res.status, StatusCode::TOO_MANY_REQUESTS, "the fifth, on A");
    assert_eq!(res.body["error"]["code"], "TOO_MANY_REQUESTS");
    assert!(res.header("retry-after").is_some());
    assert_eq!(status(&b).await, StatusCode::TOO_MANY_REQUESTS, "and on B");
    // Another client has its own budget.
    let other = TestRequest::get()
        .uri("/api/v1/auth/me")
        .peer_addr("192.0.2.44:4000".parse().unwrap())
        .to_request();
    let other = actix_service::Service::call(&a, other).await.unwrap();
    assert_eq!(other.status(), StatusCode::UNAUTHORIZED);
    let health = call_app(&a, TestRequest::get().uri("/health")).await;
    assert_eq!(
        health.body["checks"]["redis"]["status"], "healthy",
        "{}",
        health.body
    );
}

#[actix_web::test]
async fn a_stopped_redis_fails_no_request_and_the_shared_budget_returns_with_it() {
    let Some(mut redis) = RedisServer::start() else {
        return;
    };
    let guard = TestDatabase::new(TestBackend::Sqlite).unwrap();
    let db = Arc::new(guard.migrated());
    let clock = clock();
    let prefix = unique_prefix();
    let a = replica(&db, &clock, 3, store(&redis.url(), &prefix)).await;
    let b = replica(&db, &clock, 3, store(&redis.url(), &prefix)).await;
    for app in [&a, &b, &a] {
        assert_eq!(status(app).await, StatusCode::UNAUTHORIZED);
    }
    assert_eq!(status(&b).await, StatusCode::TOO_MANY_REQUESTS, "shared");

    redis.stop();
    // Redis holds the budget as spent, yet each replica now serves on its own counters.
    assert_eq!(
        status(&a).await,
        StatusCode::UNAUTHORIZED,
        "served without Redis"
    );
    assert_eq!(
        status(&b).await,
        StatusCode::UNAUTHORIZED,
        "served without Redis"
    );
    let health = call_app(&a, TestRequest::get().uri("/health")).await;
    assert_eq!(health.status, StatusCode::OK, "{}", health.body);
    assert_eq!(health.body["status"], "degraded");
    assert_eq!(health.body["checks"]["redis"]["status"], "warning");
    let ready = call_app(&a, TestRequest::get().uri("/ready")).await;
    assert_eq!(
        ready.status,
        StatusCode::OK,
        "/ready does not depend on Redis"
    );
    let text = {
        let req = TestRequest::default()
            .method(Method::GET)
            .uri("/metrics")
            .peer_addr("127.0.0.1:5555".parse().unwrap())
            .to_request();
        let res = actix_service::Service::call(&a, req).await.unwrap();
        String::from_utf8(test::read_body(res).await.to_vec()).unwrap()
    };
    assert!(
        text.lines()
            .any(|l| l.starts_with("rate_limit_store_errors_total ") && !l.ends_with(" 0")),
        "the failures are counted"
    );

    assert!(redis.restart());
    // The clients reconnect by themselves (`/health` pings through them)…
    for app in [&a, &b] {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        while call_app(app, TestRequest::get().uri("/health")).await.body["checks"]["redis"]["status"]
            != "healthy"
        {
            assert!(std::time::Instant::now() < deadline, "no reconnection");
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
    }
    // …and the failed store, left alone for a second, is used again.
    clock.advance(chrono::Duration::seconds(2));
    // Redis restarted empty: a fresh shared budget of three, which replica-local counting
    // (one request already on each) would not end at the fourth.
    for app in [&a, &a, &b] {
        assert_eq!(status(app).await, StatusCode::UNAUTHORIZED);
    }
    assert_eq!(
        status(&b).await,
        StatusCode::TOO_MANY_REQUESTS,
        "the shared limit is back"
    );
    let health = call_app(&a, TestRequest::get().uri("/health")).await;
    assert_eq!(health.body["checks"]["redis"]["status"], "healthy");
}
