//! Shared set-up of the in-process HTTP tests: the real app factory, the real application
//! with every real adapter, on a real database.

#![expect(
    clippy::expect_used,
    clippy::unwrap_used,
    reason = "test set-up: failing loudly is the point"
)]

use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, LazyLock};

use erp_application::tx::transaction;
use erp_application::{Application, IdentityConfig, Ports};
use erp_domain::User;
use erp_domain::clock::{Clock, Timestamp, truncate_to_micros};
use erp_domain::password::PlainPassword;
use erp_domain::ports::{PasswordHasher as _, TransactionMode};
use erp_domain::user::{Email, FullName, NewUser, UserRole, Username};
use erp_http::cors::CorsPolicy;
use erp_http::{AppState, HttpSettings, ServiceInfo};
use erp_persistence::Database;
use erp_security::keys::SigningKey;
use erp_security::{
    Argon2Hasher, BoundedHasher, FernetVault, JwtService, JwtSettings, OsSecretGenerator,
    RandomOpaqueTokens, SigningConfig,
};

use actix_web::dev::{Service, ServiceResponse};
use actix_web::http::{Method, StatusCode};
use actix_web::test::{self, TestRequest};
use erp_persistence::testing::{TestBackend, TestDatabase};
use serde_json::{Value, json};

pub mod world;
pub use world::World;

pub const ALLOWED_ORIGIN: &str = "http://localhost:5173";
pub const PASSWORD: &str = "Maintenance#2026x";

/// One RSA key per test binary (generation takes a while).
pub static SIGNING_KEY: LazyLock<SigningKey> = LazyLock::new(|| {
    let pem = erp_security::keys::generate_rsa_pem().expect("rsa");
    SigningKey::from_pem(secrecy::ExposeSecret::expose_secret(&pem)).expect("key")
});

/// A clock tests can move forward.
#[derive(Debug)]
pub struct TestClock(AtomicI64);

impl TestClock {
    pub fn starting_now() -> Arc<Self> {
        Arc::new(Self(AtomicI64::new(
            erp_domain::SystemClock.now().timestamp_micros(),
        )))
    }

    pub fn advance(&self, d: chrono::Duration) {
        self.0
            .fetch_add(d.num_microseconds().unwrap_or(0), Ordering::SeqCst);
    }
}

impl Clock for TestClock {
    fn now(&self) -> Timestamp {
        truncate_to_micros(
            chrono::DateTime::from_timestamp_micros(self.0.load(Ordering::SeqCst))
                .unwrap_or_default(),
        )
    }
}

pub fn jwt() -> Arc<JwtService> {
    Arc::new(
        JwtService::new(
            &SigningConfig::Rs256 {
                signing: SIGNING_KEY.clone(),
                previous_public_pems: vec![],
            },
            JwtSettings {
                issuer: "erp-mif-maroc".into(),
                audience: "erp-mif-maroc-api".into(),
                ttl_seconds: 900,
            },
        )
        .expect("jwt"),
    )
}

/// One Fernet key per test binary, and a document directory for the states built without a
/// harness (they never store a document).
pub static FERNET_KEY: LazyLock<String> = LazyLock::new(|| {
    secrecy::ExposeSecret::expose_secret(&erp_security::keys::generate_fernet_key()).to_owned()
});
static SHARED_DOCS: LazyLock<tempfile::TempDir> =
    LazyLock::new(|| tempfile::tempdir().expect("documents dir"));

/// The document vault over `dir` with the key ring `keys` (comma-separated, newest first).
pub fn vault(dir: &std::path::Path, keys: &str) -> Arc<FernetVault> {
    vault_over(
        Arc::new(erp_storage::FsBlobStore::new(dir).expect("blob dir")),
        keys,
    )
}

/// The document vault over a blob store with the key ring `keys`.
pub fn vault_over(store: Arc<dyn erp_domain::ports::BlobStore>, keys: &str) -> Arc<FernetVault> {
    Arc::new(
        FernetVault::new(
            store,
            &erp_security::keys::FernetKeyRing::parse(keys).expect("ring"),
        )
        .expect("vault"),
    )
}

pub fn application(db: Arc<Database>, clock: Arc<dyn Clock>) -> Application {
    application_with(db, clock, vault(SHARED_DOCS.path(), &FERNET_KEY))
}

pub fn application_with(
    db: Arc<Database>,
    clock: Arc<dyn Clock>,
    documents: Arc<FernetVault>,
) -> Application {
    let hasher = BoundedHasher::new(Argon2Hasher::owasp().expect("argon2"), 2);
    application_hashing(db, clock, documents, Arc::new(hasher))
}

/// [`application_with`] and a given password hasher.
pub fn application_hashing(
    db: Arc<Database>,
    clock: Arc<dyn Clock>,
    documents: Arc<FernetVault>,
    hasher: Arc<dyn erp_domain::ports::PasswordHasher>,
) -> Application {
    let jwt = jwt();
    let ports = Ports {
        db,
        hasher,
        issuer: Arc::clone(&jwt) as _,
        verifier: jwt,
        opaque: Arc::new(RandomOpaqueTokens),
        secrets: Arc::new(OsSecretGenerator),
        clock,
        documents,
    };
    Application::new(ports, IdentityConfig::default()).expect("application")
}

pub fn settings(requests_per_minute: u32) -> HttpSettings {
    HttpSettings {
        cors: CorsPolicy::new(&[ALLOWED_ORIGIN.to_owned()]),
        hsts: false,
        json_limit: erp_http::extract::DEFAULT_JSON_LIMIT,
        trusted_proxies: erp_http::proxy::TrustedProxies::default(),
        requests_per_minute,
        rate_limit_store: None,
        scheduler_interval: None,
        docs_enabled: true,
        hashing_slots: 1,
        traced: false,
        admin_listener: false,
    }
}

pub fn service() -> ServiceInfo {
    ServiceInfo {
        name: "erp-mif-maroc".into(),
        version: "0.1.0-test".into(),
        environment: "test".into(),
    }
}

/// The state over `db` with the system clock and a generous rate limit.
pub fn state(db: Database) -> AppState {
    state_with(Arc::new(db), Arc::new(erp_domain::SystemClock), 10_000)
}

pub fn state_with(db: Arc<Database>, clock: Arc<dyn Clock>, requests_per_minute: u32) -> AppState {
    erp_http::metrics::install();
    let app = application(Arc::clone(&db), clock);
    AppState::new(service(), settings(requests_per_minute), db, app)
}

/// Inserts a user directly (real Argon2 hash of [`PASSWORD`] unless given).
pub fn seed_user(db: &Database, username: &str, role: UserRole, password: Option<&str>) -> User {
    let hash = Argon2Hasher::owasp()
        .unwrap()
        .hash(&PlainPassword::new(password.unwrap_or(PASSWORD)))
        .unwrap();
    transaction(db, TransactionMode::ReadWrite, |uow| {
        let client_id = if role == UserRole::Client {
            Some(uow.insert_client(&erp_domain::ports::NewClient {
                nom_entreprise: format!("Client {username}"),
                email: None,
                now: erp_domain::SystemClock.now(),
            })?)
        } else {
            None
        };
        uow.insert_user(&NewUser {
            username: Username::parse("username", username).unwrap(),
            email: Email::parse("email", &format!("{username}@mif.ma")).unwrap(),
            full_name: Some(FullName::parse("full_name", &format!("Nom {username}")).unwrap()),
            password_hash: hash,
            role,
            is_active: true,
            client_id,
            now: erp_domain::SystemClock.now(),
        })
    })
    .unwrap()
}

pub type App =
    actix_service::boxed::BoxService<actix_http::Request, ServiceResponse, actix_web::Error>;

impl std::fmt::Debug for Harness {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Harness")
            .field("guard", &self.guard)
            .finish_non_exhaustive()
    }
}

/// The real app on a fresh database, with a movable clock and its own document directory.
pub struct Harness {
    pub app: App,
    pub db: Arc<Database>,
    pub clock: Arc<TestClock>,
    pub guard: TestDatabase,
    /// Encrypted document blobs of this harness.
    pub docs: tempfile::TempDir,
}

pub async fn harness(backend: TestBackend) -> Option<Harness> {
    harness_with(backend, 10_000).await
}

pub async fn harness_with(backend: TestBackend, rpm: u32) -> Option<Harness> {
    let docs = tempfile::tempdir().expect("documents dir");
    let documents = vault(docs.path(), &FERNET_KEY);
    harness_over(backend, rpm, docs, documents).await
}

/// A harness whose documents live in `documents` (`docs` is then only kept alive).
pub async fn harness_over(
    backend: TestBackend,
    rpm: u32,
    docs: tempfile::TempDir,
    documents: Arc<FernetVault>,
) -> Option<Harness> {
    let guard = TestDatabase::new(backend)?;
    let db = Arc::new(guard.migrated());
    let clock = TestClock::starting_now();
    let app = app_over(
        &db,
        &clock,
        rpm,
        documents,
        erp_application::documents::DocumentPolicy::default(),
    )
    .await;
    Some(Harness {
        app,
        db,
        clock,
        guard,
        docs,
    })
}

/// The real app over an existing database, with a given vault and document policy.
pub async fn app_over(
    db: &Arc<Database>,
    clock: &Arc<TestClock>,
    rpm: u32,
    documents: Arc<FernetVault>,
    policy: erp_application::documents::DocumentPolicy,
) -> App {
    let app = application_with(Arc::clone(db), Arc::clone(clock) as _, documents)
        .with_document_policy(policy);
    let state = AppState::new(service(), settings(rpm), Arc::clone(db) as _, app);
    actix_service::boxed::service(test::init_service(erp_http::app(state)).await)
}

#[derive(Debug)]
pub struct Res {
    pub status: StatusCode,
    pub headers: actix_web::http::header::HeaderMap,
    pub body: Value,
}

impl Res {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).map(|v| v.to_str().unwrap())
    }
    pub fn message(&self) -> &str {
        self.body["error"]["message"].as_str().unwrap_or_default()
    }
    /// The string field `key` of every row of a JSON array body, in order.
    pub fn strs(&self, key: &str) -> Vec<&str> {
        let rows = self.body.as_array().expect("an array body");
        rows.iter().map(|r| r[key].as_str().unwrap()).collect()
    }

    /// The `id` of every row of a JSON array body, in order.
    pub fn ids(&self) -> Vec<i64> {
        let rows = self.body.as_array().expect("an array body");
        rows.iter().map(|r| r["id"].as_i64().unwrap()).collect()
    }

    /// Asserts the response is an error with this status and this message.
    #[track_caller]
    pub fn assert_error(&self, status: StatusCode, message: &str) {
        assert_eq!(
            (self.status, self.message()),
            (status, message),
            "{}",
            self.body
        );
    }

    /// Asserts that every `(field, code)` pair is among the response's error details.
    #[track_caller]
    pub fn assert_detail_codes(&self, expected: &[(&str, &str)]) {
        let codes = self.detail_codes();
        for &(field, code) in expected {
            assert!(
                codes.contains(&(field.into(), code.into())),
                "{:?} in {codes:?}",
                (field, code)
            );
        }
    }
    pub fn detail_codes(&self) -> Vec<(String, String)> {
        self.body["error"]["details"]
            .as_array()
            .map(|a| {
                a.iter()
                    .map(|d| {
                        (
                            d["field"].as_str().unwrap().to_owned(),
                            d["code"].as_str().unwrap().to_owned(),
                        )
                    })
                    .collect()
            })
            .unwrap_or_default()
    }
}

/// Sends `req` to `app` from 127.0.0.1 and reads the answer.
pub async fn call_app(app: &App, req: TestRequest) -> Res {
    let res = app
        .call(
            req.peer_addr("127.0.0.1:5555".parse().unwrap())
                .to_request(),
        )
        .await
        .unwrap();
    let status = res.status();
    let headers = res.headers().clone();
    let bytes = test::read_body(res).await;
    let body = if bytes.is_empty() {
        Value::Null
    } else {
        serde_json::from_slice(&bytes).unwrap_or(Value::Null)
    };
    Res {
        status,
        headers,
        body,
    }
}

/// A JSON request, with a bearer token when given.
pub fn json_request(
    method: Method,
    uri: &str,
    token: Option<&str>,
    body: Option<Value>,
) -> TestRequest {
    let mut req = TestRequest::default().method(method).uri(uri);
    if let Some(t) = token {
        req = req.insert_header(("Authorization", format!("Bearer {t}")));
    }
    if let Some(b) = body {
        req = req.set_json(b);
    }
    req
}

impl Harness {
    pub async fn call(&self, req: TestRequest) -> Res {
        call_app(&self.app, req).await
    }

    pub async fn json(
        &self,
        method: Method,
        uri: &str,
        token: Option<&str>,
        body: Option<Value>,
    ) -> Res {
        self.call(json_request(method, uri, token, body)).await
    }

    /// `GET uri` as `token`.
    pub async fn get(&self, uri: &str, token: &str) -> Res {
        self.json(Method::GET, uri, Some(token), None).await
    }

    /// `DELETE uri` as `token`.
    pub async fn delete(&self, uri: &str, token: &str) -> Res {
        self.json(Method::DELETE, uri, Some(token), None).await
    }

    /// `POST uri` as `token`, with a JSON body (a `Value`) or none (`None`).
    pub async fn post(&self, uri: &str, token: &str, body: impl Into<Option<Value>>) -> Res {
        self.json(Method::POST, uri, Some(token), body.into()).await
    }

    /// `PATCH uri` as `token`, with a JSON body (a `Value`) or none (`None`).
    pub async fn patch(&self, uri: &str, token: &str, body: impl Into<Option<Value>>) -> Res {
        self.json(Method::PATCH, uri, Some(token), body.into())
            .await
    }

    /// `PUT uri` as `token`, with a JSON body (a `Value`) or none (`None`).
    pub async fn put(&self, uri: &str, token: &str, body: impl Into<Option<Value>>) -> Res {
        self.json(Method::PUT, uri, Some(token), body.into()).await
    }

    /// A second replica: the real app over its own pool on the same database.
    pub async fn replica(&self) -> App {
        let db = Arc::new(self.guard.connect());
        app_over(
            &db,
            &self.clock,
            10_000,
            vault(self.docs.path(), &FERNET_KEY),
            erp_application::documents::DocumentPolicy::default(),
        )
        .await
    }

    pub async fn login(&self, username: &str, password: &str) -> Res {
        self.json(
            Method::POST,
            "/api/v1/auth/token",
            None,
            Some(json!({"username": username, "password": password})),
        )
        .await
    }

    pub async fn token(&self, username: &str) -> (String, String) {
        let res = self.login(username, PASSWORD).await;
        assert_eq!(res.status, StatusCode::OK, "{}", res.body);
        (
            res.body["access_token"].as_str().unwrap().to_owned(),
            res.body["refresh_token"].as_str().unwrap().to_owned(),
        )
    }

    pub async fn admin(&self) -> String {
        seed_user(&self.db, "admin", UserRole::Admin, None);
        self.token("admin").await.0
    }
}

/// Runs async test bodies on SQLite and PostgreSQL.
#[macro_export]
macro_rules! both {
    ($($name:ident => $body:expr;)*) => {
        mod sqlite {
            use super::*;
            $(#[actix_web::test] async fn $name() { let h = $crate::support::harness(erp_persistence::testing::TestBackend::Sqlite).await.unwrap(); $body(h).await; })*
        }
        mod postgres {
            use super::*;
            $(#[actix_web::test] async fn $name() { let Some(h) = $crate::support::harness(erp_persistence::testing::TestBackend::Postgres).await else { return }; $body(h).await; })*
        }
    };
}
