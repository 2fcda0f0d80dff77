//! The OpenAPI 3.1 document of API.md, generated from the code: every handler carries its
//! `#[utoipa::path]`, response bodies are the typed DTOs the handlers serialise, and the global
//! rules of API.md §1 (authentication, validation, rate limit, paths served twice) are applied
//! here once, from the route table, instead of being repeated on every handler.

pub mod params;
pub mod schema;

use std::collections::{BTreeMap, BTreeSet};
use std::sync::OnceLock;

use utoipa::OpenApi as _;
use utoipa::openapi::content::ContentBuilder;
use utoipa::openapi::header::HeaderBuilder;
use utoipa::openapi::path::{Operation, PathItem};
use utoipa::openapi::response::{Response, ResponseBuilder};
use utoipa::openapi::schema::{Object, Schema, Type};
use utoipa::openapi::security::{
    Flow, HttpAuthScheme, HttpBuilder, OAuth2, Password, Scopes, SecurityRequirement,
    SecurityScheme,
};
use utoipa::openapi::{OpenApi, Ref, RefOr};

use crate::routes::{
    audit, auth, competences, dashboard, docs, documents, equipements, interventions,
    notifications, planning, probes, techniciens, users,
};

/// The security scheme of every authenticated operation.
pub const BEARER: &str = "bearer";
/// The same token, obtained through the OAuth2 password flow at `/api/v1/auth/token`.
pub const OAUTH2: &str = "oauth2";

#[derive(utoipa::OpenApi)]
#[openapi(
    info(
        title = "ERP MIF Maroc API",
        description = "Industrial maintenance ERP: interventions, equipment, techniciens, planning, documents. The binding contract is API.md; this document is generated from the server's code.",
        license(name = "Proprietary"),
    ),
    paths(
        probes::root, probes::live, probes::ready, probes::health, probes::health_detailed,
        probes::metrics, docs::openapi, docs::docs, docs::asset,
        auth::token, auth::login, auth::refresh, auth::logout, auth::me, auth::change_password,
        users::list, users::create, users::me, users::update_me, users::get, users::update,
        users::deactivate, users::activate,
        techniciens::list, techniciens::create, techniciens::get, techniciens::update,
        techniciens::delete,
        competences::list, competences::create, competences::get, competences::update,
        competences::delete,
        equipements::list, equipements::create, equipements::get, equipements::update,
        equipements::delete,
        interventions::list, interventions::list_filters, interventions::list_for_equipement,
        interventions::create, interventions::get, interventions::update,
        interventions::history, interventions::change_statut, interventions::affecter,
        interventions::demarrer, interventions::suspendre, interventions::reprendre,
        interventions::cloturer, interventions::annuler, interventions::archiver,
        interventions::valider,
        planning::list, planning::create, planning::get, planning::update, planning::delete,
        planning::reschedule, planning::generate,
        notifications::list, notifications::create, notifications::mine,
        notifications::mine_alias, notifications::of_user, notifications::mark_read,
        notifications::delete,
        documents::list, documents::upload_with_query, documents::upload_alias,
        documents::upload_with_path, documents::list_for_intervention,
        documents::list_by_intervention_alias, documents::meta, documents::download,
        documents::delete,
        dashboard::stats,
        audit::list,
    ),
    components(schemas(crate::error::FieldErrorOut)),
    tags(
        (name = "probes", description = "Root, probes, metrics and this document (public)"),
        (name = "auth", description = "Login, tokens, logout, password change"),
        (name = "users", description = "User accounts"),
        (name = "techniciens", description = "Techniciens and their skills"),
        (name = "competences", description = "The skill catalogue"),
        (name = "equipements", description = "Equipment"),
        (name = "interventions", description = "Interventions and their lifecycle"),
        (name = "planning", description = "Preventive maintenance plans"),
        (name = "notifications", description = "Notifications"),
        (name = "documents", description = "Documents attached to interventions"),
        (name = "dashboard", description = "Statistics"),
        (name = "audit", description = "Audit trail"),
    ),
)]
struct ApiDoc;

/// Operations every role may call: no 403 (API.md §2).
const OPEN_TO_EVERY_ROLE: [(&str, &str); 9] = [
    ("post", "/api/v1/auth/logout"),
    ("get", "/api/v1/auth/me"),
    ("post", "/api/v1/auth/change-password"),
    ("get", "/api/v1/users/me"),
    ("put", "/api/v1/users/update"),
    ("get", "/api/v1/notifications/me"),
    ("get", "/api/v1/notifications/user/me"),
    ("put", "/api/v1/notifications/{id}/read"),
    ("patch", "/api/v1/notifications/{id}/read"),
];

/// The document.
#[must_use]
pub fn document() -> OpenApi {
    let mut doc = ApiDoc::openapi();
    doc.info.version = env!("CARGO_PKG_VERSION").to_owned();
    let routes = crate::routes::route_table().operations();
    serve_twice(&mut doc, &routes);
    let rate_limited: BTreeSet<(String, String)> = routes
        .iter()
        .filter(|r| r.rate_limited)
        .map(|r| (r.method.as_str().to_lowercase(), r.path.clone()))
        .collect();
    download_types(&mut doc);
    sort_patterns(&mut doc);
    for (path, item) in &mut doc.paths.paths {
        for (method, op) in operations_mut(item) {
            let limited = rate_limited.contains(&(method.to_owned(), path.clone()));
            global_rules(method, path, op, limited);
            op.operation_id = Some(operation_id(method, path));
        }
    }
    if let Some(components) = doc.components.as_mut() {
        components.add_security_scheme(
            BEARER,
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("JWT")
                    .description(Some(
                        "Access token of a TokenResponse (`POST /api/v1/auth/token`)",
                    ))
                    .build(),
            ),
        );
        components.add_security_scheme(
            OAUTH2,
            SecurityScheme::OAuth2(OAuth2::with_description(
                [Flow::Password(Password::new(
                    "/api/v1/auth/token",
                    Scopes::new(),
                ))],
                "The same bearer token, obtained with the OAuth2 password flow",
            )),
        );
        for (name, response) in shared_responses() {
            components
                .responses
                .insert(name.to_owned(), RefOr::T(response));
        }
        require_every_field(&mut components.schemas);
    }
    doc
}

/// The document as served: pretty JSON, keys in a stable order (built once).
#[must_use]
pub fn document_json() -> &'static str {
    static JSON: OnceLock<String> = OnceLock::new();
    JSON.get_or_init(|| {
        let mut text = document().to_pretty_json().unwrap_or_default();
        text.push('\n');
        text
    })
}

/// Copies the operations of the paths served both at the root and under `/api/v1` (API.md
/// §1.1): the route table says which.
fn serve_twice(doc: &mut OpenApi, routes: &[crate::routing::Operation]) {
    let registered: BTreeSet<&str> = routes.iter().map(|r| r.path.as_str()).collect();
    let twice: Vec<(String, PathItem)> = doc
        .paths
        .paths
        .iter()
        .filter_map(|(path, item)| {
            let prefixed = format!("{}{path}", probes::API_PREFIX);
            (path != "/" && registered.contains(prefixed.as_str()))
                .then(|| (prefixed, item.clone()))
        })
        .collect();
    doc.paths.paths.extend(twice);
}

fn operations_mut(item: &mut PathItem) -> Vec<(&'static str, &mut Operation)> {
    [
        ("get", item.get.as_mut()),
        ("post", item.post.as_mut()),
        ("put", item.put.as_mut()),
        ("patch", item.patch.as_mut()),
        ("delete", item.delete.as_mut()),
    ]
    .into_iter()
    .filter_map(|(m, op)| op.map(|op| (m, op)))
    .collect()
}

/// A download is served with its document's canonical MIME type: one media type per type of
/// the allow-list (API.md §3.9).
fn download_types(doc: &mut OpenApi) {
    let Some(RefOr::T(ok)) = doc
        .paths
        .paths
        .get_mut("/api/v1/documents/{id}/download")
        .and_then(|item| item.get.as_mut())
        .and_then(|op| op.responses.responses.get_mut("200"))
    else {
        return;
    };
    for file_type in erp_domain::document::DEFAULT_FILE_TYPES {
        ok.content.insert(
            file_type.canonical.to_owned(),
            ContentBuilder::new()
                .schema(Some(
                    utoipa::openapi::ObjectBuilder::new()
                        .schema_type(Type::String)
                        .format(Some(utoipa::openapi::SchemaFormat::KnownFormat(
                            utoipa::openapi::KnownFormat::Binary,
                        ))),
                ))
                .build(),
        );
    }
}

/// The sort keys each list accepts, from the same constants the handlers parse them with.
fn sort_keys(path: &str) -> Option<&'static [&'static str]> {
    use erp_domain::equipement::EquipementSortField;
    use erp_domain::intervention::InterventionSortField;
    use erp_domain::notification::NotificationSortField;
    use erp_domain::planning::PlanningSortField;
    use erp_domain::technicien::{CompetenceSortField, TechnicienSortField};
    use erp_domain::user::UserSortField;
    Some(match path {
        "/api/v1/users" => &UserSortField::NAMES,
        "/api/v1/techniciens" => &TechnicienSortField::NAMES,
        "/api/v1/techniciens/competences" => &CompetenceSortField::NAMES,
        "/api/v1/equipements" => &EquipementSortField::NAMES,
        "/api/v1/interventions"
        | "/api/v1/filters/interventions"
        | "/api/v1/equipements/{id}/interventions" => &InterventionSortField::NAMES,
        "/api/v1/planning" => &PlanningSortField::NAMES,
        "/api/v1/notifications" => &NotificationSortField::NAMES,
        _ => return None,
    })
}

/// `sort`: comma-separated keys, each optionally prefixed by `-` (API.md §1.4).
fn sort_patterns(doc: &mut OpenApi) {
    for (path, item) in &mut doc.paths.paths {
        let Some(keys) = sort_keys(path) else {
            continue;
        };
        let key = format!("-?({})", keys.join("|"));
        let pattern = format!("^{key}(,{key})*$");
        for (_, op) in operations_mut(item) {
            for param in op.parameters.iter_mut().flatten() {
                if param.name == "sort"
                    && let Some(RefOr::T(Schema::Object(object))) = param.schema.as_mut()
                {
                    object.pattern = Some(pattern.clone());
                }
            }
        }
    }
}

/// `get_api_v1_users_id`: unique, and stable across releases.
fn operation_id(method: &str, path: &str) -> String {
    let mut id = method.to_owned();
    for segment in path.split('/').filter(|s| !s.is_empty()) {
        id.push('_');
        id.extend(segment.chars().filter_map(|c| match c {
            '{' | '}' => None,
            c if c.is_ascii_alphanumeric() => Some(c),
            _ => Some('_'),
        }));
    }
    if id == method {
        id.push_str("_root");
    }
    id
}

/// The errors API.md §1 gives every operation of a kind: 401/403 with a token, 413/415/422
/// with a body, 422/404 with parameters, 429 under the rate limit. An operation's own
/// description of a status wins.
fn global_rules(method: &str, path: &str, op: &mut Operation, rate_limited: bool) {
    let secured = op.security.as_ref().is_some_and(|s| !s.is_empty());
    let has_body = op.request_body.is_some();
    let params = op.parameters.as_deref().unwrap_or_default();
    let has_path_param = params
        .iter()
        .any(|p| p.parameter_in == utoipa::openapi::path::ParameterIn::Path);
    // Query values and integer path ids are validated (422); a free-text path segment is not.
    let validated_params = params.iter().any(|p| {
        p.parameter_in == utoipa::openapi::path::ParameterIn::Query
            || matches!(
                &p.schema,
                Some(RefOr::T(Schema::Object(o)))
                    if o.schema_type == utoipa::openapi::schema::SchemaType::Type(Type::Integer)
            )
    });
    let mut add = |status: &str, shared: &str| {
        op.responses
            .responses
            .entry(status.to_owned())
            .or_insert_with(|| RefOr::Ref(Ref::from_response_name(shared)));
    };
    if secured {
        add("401", "Unauthorized");
        if !OPEN_TO_EVERY_ROLE.contains(&(method, path)) {
            add("403", "Forbidden");
        }
    }
    if has_body {
        add("413", "PayloadTooLarge");
        add("415", "UnsupportedMediaType");
    }
    if has_body || validated_params {
        add("422", "ValidationError");
    }
    if has_path_param {
        add("404", "NotFound");
    }
    if rate_limited {
        add("429", "TooManyRequests");
    }
    if secured {
        let mut security = op.security.take().unwrap_or_default();
        security.push(SecurityRequirement::new(OAUTH2, Vec::<String>::new()));
        op.security = Some(security);
    }
}

/// The error responses [`global_rules`] refers to.
fn shared_responses() -> Vec<(&'static str, Response)> {
    vec![
        (
            "Unauthorized",
            error(
                "Missing, invalid or expired token; revoked session; deactivated user",
                Some((
                    "WWW-Authenticate",
                    "`Bearer` or `Bearer error=\"invalid_token\"`",
                )),
            ),
        ),
        (
            "Forbidden",
            error("Role not allowed (\"Accès réservé aux rôles : …\")", None),
        ),
        ("PayloadTooLarge", error("Body over the size limit", None)),
        (
            "UnsupportedMediaType",
            error("Unsupported Content-Type", None),
        ),
        (
            "ValidationError",
            error(
                "Invalid input: `details` lists every field error (FieldErrorOut)",
                None,
            ),
        ),
        (
            "NotFound",
            error("No such resource (or not visible to the caller)", None),
        ),
        (
            "TooManyRequests",
            error(
                "Rate limit (or login lockout) exceeded; `details.retry_after` in seconds",
                Some(("Retry-After", "Seconds until the window ends")),
            ),
        ),
    ]
}

/// An error response with the envelope.
fn error(description: &str, header: Option<(&str, &str)>) -> Response {
    let mut builder = ResponseBuilder::new().description(description).content(
        "application/json",
        ContentBuilder::new()
            .schema(Some(Ref::from_schema_name("ErrorEnvelope")))
            .build(),
    );
    if let Some((name, text)) = header {
        builder = builder.header(
            name,
            HeaderBuilder::new()
                .schema(Object::with_type(Type::String))
                .description(Some(text))
                .build(),
        );
    }
    builder.build()
}

/// Every field of a response DTO (`…Out`) is always present, `null` when it has no value
/// (API.md §1.3); request schemas keep their optional fields.
fn require_every_field(schemas: &mut BTreeMap<String, RefOr<Schema>>) {
    for (name, schema) in schemas.iter_mut() {
        if !name.ends_with("Out") {
            continue;
        }
        if let RefOr::T(Schema::Object(object)) = schema {
            object.required = object
                .properties
                .iter()
                .filter(|(field, _)| {
                    // `server` appears only in the 503 details of `/ready`.
                    !(name == "ReadyChecksOut" && field.as_str() == "server")
                })
                .map(|(field, _)| field.clone())
                .collect();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_operations_open_to_every_role_exist_and_need_a_token() {
        let served: BTreeSet<(String, String)> = crate::routes::route_table()
            .operations()
            .into_iter()
            .map(|o| (o.method.as_str().to_lowercase(), o.path))
            .collect();
        let doc = document();
        for (method, path) in OPEN_TO_EVERY_ROLE {
            assert!(
                served.contains(&(method.to_owned(), path.to_owned())),
                "{method} {path}"
            );
            let item = &doc.paths.paths[path];
            let op = match method {
                "get" => item.get.as_ref(),
                "post" => item.post.as_ref(),
                "put" => item.put.as_ref(),
                _ => item.patch.as_ref(),
            };
            let op = op.unwrap();
            assert!(op.security.is_some(), "{method} {path}");
            assert!(op.responses.responses.contains_key("401"));
            assert!(
                !op.responses.responses.contains_key("403"),
                "{method} {path}"
            );
        }
    }

    #[test]
    fn operation_ids_follow_method_and_path() {
        assert_eq!(operation_id("get", "/"), "get_root");
        assert_eq!(
            operation_id("patch", "/api/v1/users/{id}/activate"),
            "patch_api_v1_users_id_activate"
        );
        assert_eq!(
            operation_id("post", "/api/v1/auth/change-password"),
            "post_api_v1_auth_change_password"
        );
    }
}
