//! The audit trail is read by admins only, newest first.

use erp_domain::UserRole;
use erp_domain::audit::AuditFilter;
use erp_domain::list::Page;

use crate::fakes::assert::assert_role_refused;
use crate::fakes::world::{World, ctx};

const PAGE: Page = Page {
    limit: 10,
    offset: 0,
};

#[test]
fn only_an_admin_reads_the_audit_trail() {
    let w = World::new();
    for role in [
        UserRole::Responsable,
        UserRole::Technicien,
        UserRole::Client,
    ] {
        let c = w.caller(role);
        assert_role_refused(w.app.list_audit(&c, &AuditFilter::default(), PAGE));
    }
    let admin = w.caller(UserRole::Admin);
    assert!(
        w.app
            .list_audit(&admin, &AuditFilter::default(), PAGE)
            .is_ok()
    );
}

#[test]
fn the_trail_lists_the_newest_event_first() {
    let w = World::new();
    let admin = w.caller(UserRole::Admin);
    w.app.record_rate_limited(&ctx(), 1);
    w.app.record_rate_limited(&ctx(), 2);
    let page = w
        .app
        .list_audit(&admin, &AuditFilter::default(), PAGE)
        .unwrap();
    assert_eq!(page.total, 2);
    assert_eq!(
        page.items[0].event.details.as_ref().unwrap()["limit_per_minute"],
        2
    );
}
