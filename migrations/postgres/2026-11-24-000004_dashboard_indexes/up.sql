-- Dashboard: "closed this month" (statut IN (cloturee, archivee) AND date_cloture >= month start)
-- reads an index instead of the table (docs/query-plans.md).
CREATE INDEX interventions_statut_date_cloture_idx ON interventions (statut, date_cloture);
