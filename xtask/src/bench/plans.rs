//! The query plans of the full PostgreSQL run: docs/query-plans.md.

use std::process::Command;

use crate::{TaskResult, say, workspace_root};

/// The SQL the adapters emit for each list filter and the dashboard, written out so that
/// `EXPLAIN ANALYZE` can show which index serves it.
const PLANNED_QUERIES: &[(&str, &str)] = &[
    (
        "intervention by id",
        "SELECT * FROM interventions WHERE id = 4242",
    ),
    (
        "page: statut + priorite, -date_creation",
        "SELECT * FROM interventions WHERE statut IN ('ouverte','affectee','en_cours') AND priorite IN ('urgente','haute','normale') ORDER BY date_creation DESC, id DESC LIMIT 50",
    ),
    (
        "count of that page's filter",
        "SELECT count(*) FROM interventions WHERE statut IN ('ouverte','affectee','en_cours') AND priorite IN ('urgente','haute','normale')",
    ),
    (
        "default list (-date_creation)",
        "SELECT * FROM interventions ORDER BY date_creation DESC, id DESC LIMIT 50",
    ),
    (
        "technicien_id",
        "SELECT * FROM interventions WHERE technicien_id = 3 ORDER BY date_creation DESC, id DESC LIMIT 50",
    ),
    (
        "equipement_id",
        "SELECT * FROM interventions WHERE equipement_id = 7 ORDER BY date_creation DESC, id DESC LIMIT 50",
    ),
    (
        "client_id (client scope)",
        "SELECT * FROM interventions WHERE client_id = 1 ORDER BY date_creation DESC, id DESC LIMIT 50",
    ),
    (
        "planning_id",
        "SELECT * FROM interventions WHERE planning_id = 1 ORDER BY date_creation DESC, id DESC LIMIT 50",
    ),
    (
        "en_retard=true",
        "SELECT * FROM interventions WHERE date_limite < now() AND statut IN ('ouverte','affectee','en_cours','en_attente') ORDER BY date_creation DESC, id DESC LIMIT 50",
    ),
    (
        "date_creation range",
        "SELECT * FROM interventions WHERE date_creation >= now() - interval '30 days' AND date_creation <= now() ORDER BY date_creation DESC, id DESC LIMIT 50",
    ),
    (
        "date_limite range",
        "SELECT * FROM interventions WHERE date_limite >= now() AND date_limite <= now() + interval '7 days' ORDER BY date_creation DESC, id DESC LIMIT 50",
    ),
    (
        "type + urgence",
        "SELECT * FROM interventions WHERE type_intervention IN ('preventive') AND urgence = true ORDER BY date_creation DESC, id DESC LIMIT 50",
    ),
    (
        "sort by priorite",
        "SELECT * FROM interventions ORDER BY CASE interventions.priorite WHEN 'urgente' THEN 0 WHEN 'haute' THEN 1 WHEN 'normale' THEN 2 WHEN 'basse' THEN 3 WHEN 'programmee' THEN 4 END ASC, id ASC LIMIT 50",
    ),
    (
        "search (contains)",
        "SELECT * FROM interventions WHERE search_norm LIKE '%fuite #00%' ESCAPE '\\' ORDER BY date_creation DESC, id DESC LIMIT 50",
    ),
    (
        "history of an intervention",
        "SELECT * FROM historiques_interventions WHERE intervention_id = 4242 ORDER BY horodatage, id LIMIT 50",
    ),
    (
        "planning list (-prochaine_date default order)",
        "SELECT * FROM plannings WHERE statut IN ('actif') ORDER BY prochaine_date ASC, id ASC LIMIT 50",
    ),
    (
        "scheduler candidates",
        "SELECT * FROM plannings WHERE statut = 'actif' AND prochaine_date <= now() + interval '366 days' ORDER BY prochaine_date, id LIMIT 1000",
    ),
    (
        "overdue scan",
        "SELECT * FROM interventions WHERE statut IN ('ouverte','affectee','en_cours','en_attente') AND date_limite < now() AND (retard_notifie_at IS NULL OR retard_notifie_at < date_limite) ORDER BY date_limite, id LIMIT 500",
    ),
    (
        "notifications of a user (/notifications/me)",
        "SELECT * FROM notifications WHERE user_id = 2 ORDER BY date_envoi DESC, id DESC LIMIT 50",
    ),
    (
        "unread notifications of a user",
        "SELECT * FROM notifications WHERE user_id = 2 AND lue = false ORDER BY date_envoi DESC, id DESC LIMIT 50",
    ),
    (
        "outbox: due messages",
        "SELECT id FROM notification_outbox WHERE statut = 'en_attente' AND next_attempt_at <= now() AND (locked_until IS NULL OR locked_until < now()) ORDER BY next_attempt_at, id LIMIT 50",
    ),
    (
        "documents of an intervention",
        "SELECT * FROM documents WHERE intervention_id = 4242 ORDER BY date_upload DESC, id DESC LIMIT 50",
    ),
    (
        "dashboard: by statut",
        "SELECT statut, count(*) FROM interventions GROUP BY statut",
    ),
    (
        "dashboard: by priorite",
        "SELECT priorite, count(*) FROM interventions GROUP BY priorite",
    ),
    (
        "dashboard: overdue",
        "SELECT count(*) FROM interventions WHERE statut IN ('ouverte','affectee','en_cours','en_attente') AND date_limite < now()",
    ),
    (
        "dashboard: created this month",
        "SELECT count(*) FROM interventions WHERE date_creation >= date_trunc('month', now())",
    ),
    (
        "dashboard: closed this month",
        "SELECT count(*) FROM interventions WHERE statut IN ('cloturee','archivee') AND date_cloture >= date_trunc('month', now())",
    ),
    (
        "dashboard: technicien scope by statut",
        "SELECT statut, count(*) FROM interventions WHERE technicien_id = 3 GROUP BY statut",
    ),
];

pub(super) fn query_plans(url: &str, interventions: usize) -> TaskResult {
    let _ = Command::new("psql").args([url, "-qc", "ANALYZE"]).status();
    let mut doc = format!(
        "# Query plans (PostgreSQL, {interventions} interventions)\n\nWritten by the full run of `cargo xtask bench --postgres URL`, on the database \
         its PostgreSQL scenarios ran on (seeded, vacuumed, then written to by them). Each query is the SQL the diesel adapter emits for a list filter, a sort or a dashboard count \
         (literal values in place of bind parameters).\n\n"
    );
    for (name, sql) in PLANNED_QUERIES {
        let out = Command::new("psql")
            .args([url, "-qAtc", &format!("EXPLAIN (ANALYZE, COSTS OFF) {sql}")])
            .output()
            .map_err(|e| e.to_string())?;
        let plan = String::from_utf8_lossy(&out.stdout);
        doc.push_str(&format!(
            "## {name}\n\n```sql\n{sql}\n```\n\n```text\n{}\n```\n\n",
            plan.trim_end()
        ));
    }
    let path = workspace_root().join("docs/query-plans.md");
    std::fs::write(&path, doc).map_err(|e| e.to_string())?;
    say(&format!("wrote {}", path.display()));
    Ok(())
}
