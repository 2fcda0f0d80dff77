-- /health shows a failed background job's error category with its time (API.md §3.1); the
-- error itself goes to the log, so last_error now holds only `database` or `internal`.
ALTER TABLE scheduler_leases ADD COLUMN last_error_at TIMESTAMP(6);
UPDATE scheduler_leases SET last_error = 'internal', last_error_at = updated_at
    WHERE last_error IS NOT NULL AND last_error NOT IN ('database', 'internal');
