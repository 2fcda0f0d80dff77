DROP TABLE audit_events;
DROP TABLE login_throttle;
DROP TABLE refresh_tokens;
DROP TABLE auth_sessions;
