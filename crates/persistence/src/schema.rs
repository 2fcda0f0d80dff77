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

diesel::joinable!(users -> clients (client_id));
diesel::allow_tables_to_appear_in_same_query!(clients, users);
