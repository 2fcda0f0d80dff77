//! The one portable diesel schema, valid on SQLite and PostgreSQL (ids are `BigInt` on both).

diesel::table! {
    clients (id) {
        id -> BigInt,
        nom_entreprise -> Text,
        email -> Nullable<Text>,
        is_active -> Bool,
        date_creation -> Timestamp,
        date_modification -> Timestamp,
    }
}

diesel::table! {
    users (id) {
        id -> BigInt,
        username -> Text,
        username_norm -> Text,
        email -> Text,
        full_name -> Nullable<Text>,
        full_name_norm -> Nullable<Text>,
        hashed_password -> Text,
        role -> Text,
        is_active -> Bool,
        client_id -> Nullable<BigInt>,
        last_login -> Nullable<Timestamp>,
        password_changed_at -> Timestamp,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    auth_sessions (id) {
        id -> BigInt,
        user_id -> BigInt,
        created_at -> Timestamp,
        last_seen_at -> Timestamp,
        expires_at -> Timestamp,
        revoked_at -> Nullable<Timestamp>,
        revoked_reason -> Nullable<Text>,
        user_agent -> Nullable<Text>,
        ip_address -> Nullable<Text>,
    }
}

diesel::table! {
    refresh_tokens (id) {
        id -> BigInt,
        session_id -> BigInt,
        token_hash -> Text,
        created_at -> Timestamp,
        expires_at -> Timestamp,
        rotated_at -> Nullable<Timestamp>,
        revoked_at -> Nullable<Timestamp>,
        replaced_by_id -> Nullable<BigInt>,
        user_agent -> Nullable<Text>,
        ip_address -> Nullable<Text>,
    }
}

diesel::table! {
    login_throttle (scope, key) {
        scope -> Text,
        key -> Text,
        failure_count -> Integer,
        window_started_at -> Nullable<Timestamp>,
        lockout_level -> Integer,
        locked_until -> Nullable<Timestamp>,
        last_failure_at -> Nullable<Timestamp>,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    audit_events (id) {
        id -> BigInt,
        occurred_at -> Timestamp,
        event_type -> Text,
        success -> Bool,
        user_id -> Nullable<BigInt>,
        username -> Nullable<Text>,
        ip_address -> Nullable<Text>,
        user_agent -> Nullable<Text>,
        request_id -> Nullable<Text>,
        resource -> Nullable<Text>,
        action -> Nullable<Text>,
        details -> Nullable<Text>,
    }
}

diesel::joinable!(users -> clients (client_id));
diesel::joinable!(auth_sessions -> users (user_id));
diesel::joinable!(refresh_tokens -> auth_sessions (session_id));
diesel::joinable!(audit_events -> users (user_id));
diesel::allow_tables_to_appear_in_same_query!(
    clients,
    users,
    auth_sessions,
    refresh_tokens,
    audit_events
);
