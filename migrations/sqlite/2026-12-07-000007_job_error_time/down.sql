ALTER TABLE scheduler_leases DROP COLUMN last_error_at;
