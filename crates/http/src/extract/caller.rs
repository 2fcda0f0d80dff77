//! The authenticated caller (API.md §1.6): `Authorization: Bearer <token>` verified, then the
//! session and user read from the database, so revocations count on the very next request.
//!
//! Two forms: [`Authenticated`] checks the token in its own call to the blocking pool before
//! the handler runs; [`Bearer`] defers that check into the blocking call of the use case it
//! guards ([`Bearer::run`]), one hop instead of two, for handlers whose input is known before
//! the use case (path and query, no body).

use std::future::{Future, Ready, ready};
use std::pin::Pin;

use actix_web::HttpMessage as _;
use actix_web::dev::Payload;
use actix_web::http::header;
use actix_web::{FromRequest, HttpRequest, web};
use erp_application::authz::{Action, authorize};
use erp_application::{AppError, Application, AuthFailure, Caller};

use crate::error::{ApiError, unauthorized};
use crate::extract::client::context_of;
use crate::middleware::CallerId;
use crate::state::AppState;

/// An authenticated request.
#[derive(Debug, Clone)]
pub struct Authenticated(pub Caller);

/// The bearer token of a request, if the header is a well-formed `Bearer` one.
#[must_use]
pub fn bearer_token(req: &HttpRequest) -> Option<String> {
    let value = req.headers().get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.trim().split_once(' ')?;
    let token = token.trim();
    (scheme.eq_ignore_ascii_case("bearer") && !token.is_empty()).then(|| token.to_owned())
}

impl FromRequest for Authenticated {
    type Error = ApiError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, ApiError>>>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let state = req.app_data::<web::Data<AppState>>().cloned();
        let token = bearer_token(req);
        let ctx = context_of(req);
        let req = req.clone();
        Box::pin(async move {
            let state = state.ok_or_else(|| ApiError::internal("application state missing"))?;
            let token = token.ok_or_else(|| unauthorized(AuthFailure::MissingCredentials))?;
            let app = state.app().clone();
            let span = tracing::Span::current();
            let caller = web::block(move || span.in_scope(|| app.authenticate(&token, &ctx)))
                .await
                .map_err(|e| ApiError::internal(e.to_string()))??;
            // For the access log line (`user_id`, D12).
            req.extensions_mut().insert(CallerId(caller.user.id.get()));
            Ok(Self(caller))
        })
    }
}

impl Authenticated {
    /// Checks the role matrix for `action`; a refusal is a 403 written to the audit trail.
    ///
    /// # Errors
    /// The 403.
    pub async fn allow(&self, req: &HttpRequest, action: Action) -> Result<(), ApiError> {
        // Allowed: decided here, without a call to the blocking pool. Refused: the application
        // decides again and writes the refusal to the audit trail, in one.
        if authorize(self.0.user.role, action).is_ok() {
            return Ok(());
        }
        let state = req
            .app_data::<web::Data<AppState>>()
            .cloned()
            .ok_or_else(|| ApiError::internal("application state missing"))?;
        let caller = self.0.clone();
        crate::blocking::use_case(req, &state, move |app, ctx| {
            app.authorize_request(&caller, action, ctx)
        })
        .await
    }
}

/// A request's bearer token, not yet checked: [`Bearer::run`] checks it, its session and the
/// caller's role in the blocking call of the use case. A request without a well-formed
/// `Bearer` header is refused (401) before anything runs.
#[derive(Debug, Clone)]
pub struct Bearer(String);

impl FromRequest for Bearer {
    type Error = ApiError;
    type Future = Ready<Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        ready(
            bearer_token(req)
                .map(Self)
                .ok_or_else(|| unauthorized(AuthFailure::MissingCredentials)),
        )
    }
}

impl Bearer {
    /// Runs the use case `f` on the blocking pool after, in the same call and in the contract's
    /// order (API.md §1.5), the token and its session are checked (401), the caller's role is
    /// allowed `action` (403, written to the audit trail) and the request's `input` is valid
    /// (its own error: 422, 404…). `input` is parsed by the handler beforehand, but its error
    /// only counts once the caller is known to be allowed.
    ///
    /// # Errors
    /// The first failing check's, else the use case's.
    pub async fn run<I, T>(
        self,
        req: &HttpRequest,
        state: &web::Data<AppState>,
        action: Action,
        input: Result<I, ApiError>,
        f: impl FnOnce(&Application, &Caller, I) -> Result<T, AppError> + Send + 'static,
    ) -> Result<T, ApiError>
    where
        I: Send + 'static,
        T: Send + 'static,
    {
        let token = self.0;
        let (caller, done) = crate::blocking::in_use_case(req, state, move |app, ctx| {
            let caller = match app.authenticate(&token, ctx) {
                Ok(caller) => caller,
                Err(e) => return (None, Err(ApiError::from(e))),
            };
            let id = caller.user.id.get();
            if let Err(e) = app.authorize_request(&caller, action, ctx) {
                return (Some(id), Err(ApiError::from(e)));
            }
            let done = input.and_then(|input| f(app, &caller, input).map_err(ApiError::from));
            (Some(id), done)
        })
        .await?;
        if let Some(id) = caller {
            // For the access log line (`user_id`, D12).
            req.extensions_mut().insert(CallerId(id));
        }
        done
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use actix_web::test::TestRequest;

    #[test]
    fn only_well_formed_bearer_headers_give_a_token() {
        let with = |v: &str| {
            bearer_token(
                &TestRequest::default()
                    .insert_header(("Authorization", v))
                    .to_http_request(),
            )
        };
        assert_eq!(with("Bearer abc"), Some("abc".into()));
        assert_eq!(
            with("bearer abc"),
            Some("abc".into()),
            "scheme is case-insensitive"
        );
        assert_eq!(with("BEARER  abc "), Some("abc".into()));
        assert_eq!(with("Basic abc"), None);
        assert_eq!(with("Bearer"), None);
        assert_eq!(with("Bearer "), None);
        assert_eq!(
            bearer_token(&TestRequest::default().to_http_request()),
            None
        );
    }
}
