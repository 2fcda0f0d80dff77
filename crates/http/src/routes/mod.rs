//! Route tables, one module per area of API.md §3, and the table of every endpoint.

pub mod audit;
pub mod auth;
pub mod competences;
pub mod dashboard;
pub mod docs;
pub mod documents;
pub mod equipements;
pub mod ids;
pub mod interventions;
pub mod notifications;
pub mod planning;
pub mod probes;
pub mod techniciens;
pub mod users;

use crate::routing::{Endpoint, RouteTable};

/// Every endpoint of the API (the contract of API.md, served without an admin listener), in
/// registration order.
#[must_use]
pub fn route_table() -> RouteTable {
    route_table_with(true)
}

/// The API listener's endpoints; without `operational`, `/metrics` and `/health*` are left out
/// (they are on the admin listener).
#[must_use]
pub fn route_table_with(operational: bool) -> RouteTable {
    let mut table = RouteTable::new();
    let cfg = &mut table;
    cfg.service(Endpoint::new("/").get(probes::root));
    for prefix in ["", probes::API_PREFIX] {
        for endpoint in probes::probe_endpoints(prefix) {
            cfg.service(endpoint);
        }
        if operational {
            for endpoint in probes::operational_endpoints(prefix) {
                cfg.service(endpoint);
            }
        }
        cfg.service(docs::openapi_endpoint(prefix));
    }
    docs::configure(cfg);
    auth::configure(cfg);
    users::configure(cfg);
    equipements::configure(cfg);
    competences::configure(cfg);
    techniciens::configure(cfg);
    interventions::configure(cfg);
    planning::configure(cfg);
    notifications::configure(cfg);
    dashboard::configure(cfg);
    documents::configure(cfg);
    audit::configure(cfg);
    table
}
