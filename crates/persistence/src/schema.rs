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

diesel::table! {
    techniciens (id) {
        id -> BigInt,
        user_id -> BigInt,
        equipe -> Nullable<Text>,
        equipe_norm -> Nullable<Text>,
        numero_badge -> Nullable<Text>,
        niveau_technicien -> Text,
        zone_intervention -> Nullable<Text>,
        rayon_deplacement_km -> Integer,
        vehicule_service -> Nullable<Text>,
        disponibilite -> Text,
        horaires_travail -> Nullable<Text>,
        astreinte -> Bool,
        is_active -> Bool,
        date_embauche -> Nullable<Timestamp>,
        date_fin_contrat -> Nullable<Timestamp>,
        telephone_urgence -> Nullable<Text>,
        notes_rh -> Nullable<Text>,
        qualifications_speciales -> Nullable<Text>,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    competences (id) {
        id -> BigInt,
        nom -> Text,
        nom_norm -> Text,
        domaine -> Text,
        domaine_norm -> Text,
        description -> Nullable<Text>,
        niveau_requis_minimum -> Text,
        necessite_certification -> Bool,
        duree_validite_mois -> Nullable<Integer>,
        is_active -> Bool,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    technicien_competence (technicien_id, competence_id) {
        technicien_id -> BigInt,
        competence_id -> BigInt,
        niveau -> Text,
        date_acquisition -> Timestamp,
        date_validation -> Nullable<Timestamp>,
        validee_par -> Nullable<Text>,
    }
}

diesel::table! {
    equipements (id) {
        id -> BigInt,
        nom -> Text,
        nom_norm -> Text,
        type_equipement -> Text,
        type_norm -> Text,
        numero_serie -> Nullable<Text>,
        code_interne -> Nullable<Text>,
        marque -> Nullable<Text>,
        modele -> Nullable<Text>,
        localisation -> Text,
        localisation_norm -> Text,
        batiment -> Nullable<Text>,
        zone -> Nullable<Text>,
        etage -> Nullable<Text>,
        statut -> Text,
        criticite -> Text,
        description -> Nullable<Text>,
        specifications_techniques -> Nullable<Text>,
        search_norm -> Text,
        puissance -> Nullable<Double>,
        poids -> Nullable<Double>,
        frequence_entretien_jours -> Nullable<Integer>,
        duree_garantie_mois -> Nullable<Integer>,
        cout_acquisition -> Nullable<BigInt>,
        date_acquisition -> Nullable<Timestamp>,
        date_mise_en_service -> Nullable<Timestamp>,
        date_fin_garantie -> Nullable<Timestamp>,
        client_id -> Nullable<BigInt>,
        contrat_id -> Nullable<BigInt>,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    plannings (id) {
        id -> BigInt,
        equipement_id -> BigInt,
        frequence -> Text,
        date_reference -> Timestamp,
        prochaine_date -> Timestamp,
        derniere_date -> Nullable<Timestamp>,
        date_fin -> Nullable<Timestamp>,
        statut -> Text,
        titre -> Nullable<Text>,
        commentaire -> Nullable<Text>,
        priorite -> Text,
        technicien_id -> Nullable<BigInt>,
        duree_estimee -> Nullable<Integer>,
        avance_jours -> Integer,
        version -> Integer,
        date_creation -> Timestamp,
        date_modification -> Timestamp,
    }
}

diesel::table! {
    interventions (id) {
        id -> BigInt,
        titre -> Text,
        titre_norm -> Text,
        description -> Nullable<Text>,
        search_norm -> Text,
        type_intervention -> Text,
        statut -> Text,
        priorite -> Text,
        urgence -> Bool,
        date_creation -> Timestamp,
        date_limite -> Nullable<Timestamp>,
        date_affectation -> Nullable<Timestamp>,
        date_debut_travaux -> Nullable<Timestamp>,
        date_fin_travaux -> Nullable<Timestamp>,
        date_cloture -> Nullable<Timestamp>,
        date_annulation -> Nullable<Timestamp>,
        date_archivage -> Nullable<Timestamp>,
        duree_estimee -> Nullable<Integer>,
        duree_reelle -> Nullable<Integer>,
        temps_deplacement -> Nullable<Integer>,
        cout_estime -> Nullable<BigInt>,
        cout_reel -> Nullable<BigInt>,
        cout_pieces -> Nullable<BigInt>,
        cout_main_oeuvre -> Nullable<BigInt>,
        rapport_intervention -> Nullable<Text>,
        travaux_realises -> Nullable<Text>,
        recommandations -> Nullable<Text>,
        motif_annulation -> Nullable<Text>,
        validation_client -> Bool,
        date_validation_client -> Nullable<Timestamp>,
        satisfaction_client -> Nullable<Integer>,
        commentaire_client -> Nullable<Text>,
        retard_notifie_at -> Nullable<Timestamp>,
        version -> Integer,
        equipement_id -> BigInt,
        technicien_id -> Nullable<BigInt>,
        planning_id -> Nullable<BigInt>,
        client_id -> Nullable<BigInt>,
        contrat_id -> Nullable<BigInt>,
        created_by_id -> Nullable<BigInt>,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    historiques_interventions (id) {
        id -> BigInt,
        intervention_id -> BigInt,
        action -> Text,
        from_statut -> Nullable<Text>,
        to_statut -> Text,
        remarque -> Nullable<Text>,
        technicien_id -> Nullable<BigInt>,
        user_id -> Nullable<BigInt>,
        horodatage -> Timestamp,
    }
}

diesel::table! {
    planning_occurrences (id) {
        id -> BigInt,
        planning_id -> BigInt,
        date_echeance -> Timestamp,
        intervention_id -> Nullable<BigInt>,
        origine -> Text,
        created_at -> Timestamp,
    }
}

diesel::table! {
    notifications (id) {
        id -> BigInt,
        user_id -> BigInt,
        intervention_id -> Nullable<BigInt>,
        type_notification -> Text,
        canal -> Text,
        titre -> Nullable<Text>,
        contenu -> Nullable<Text>,
        date_envoi -> Timestamp,
        lue -> Bool,
        read_at -> Nullable<Timestamp>,
        created_by_id -> Nullable<BigInt>,
        dedup_key -> Nullable<Text>,
    }
}

diesel::table! {
    notification_outbox (id) {
        id -> BigInt,
        notification_id -> BigInt,
        destinataire -> Text,
        sujet -> Text,
        corps_texte -> Text,
        corps_html -> Nullable<Text>,
        statut -> Text,
        attempts -> Integer,
        next_attempt_at -> Timestamp,
        locked_until -> Nullable<Timestamp>,
        locked_by -> Nullable<Text>,
        last_error -> Nullable<Text>,
        sent_at -> Nullable<Timestamp>,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    documents (id) {
        id -> BigInt,
        intervention_id -> BigInt,
        nom_fichier -> Text,
        extension -> Text,
        mime_type -> Text,
        taille -> BigInt,
        sha256 -> Text,
        nom_stockage -> Text,
        chiffrement -> Text,
        cle_id -> Text,
        description -> Nullable<Text>,
        uploaded_by_id -> Nullable<BigInt>,
        date_upload -> Timestamp,
    }
}

diesel::table! {
    scheduler_leases (job) {
        job -> Text,
        holder -> Nullable<Text>,
        lease_until -> Nullable<Timestamp>,
        last_run_at -> Nullable<Timestamp>,
        last_success_at -> Nullable<Timestamp>,
        last_error -> Nullable<Text>,
        updated_at -> Timestamp,
        last_error_at -> Nullable<Timestamp>,
    }
}

diesel::joinable!(users -> clients (client_id));
diesel::joinable!(auth_sessions -> users (user_id));
diesel::joinable!(refresh_tokens -> auth_sessions (session_id));
diesel::joinable!(audit_events -> users (user_id));
diesel::joinable!(techniciens -> users (user_id));
diesel::joinable!(technicien_competence -> techniciens (technicien_id));
diesel::joinable!(technicien_competence -> competences (competence_id));
diesel::joinable!(equipements -> clients (client_id));
diesel::joinable!(interventions -> equipements (equipement_id));
diesel::joinable!(interventions -> techniciens (technicien_id));
diesel::joinable!(historiques_interventions -> interventions (intervention_id));
diesel::joinable!(historiques_interventions -> users (user_id));
diesel::joinable!(notifications -> users (user_id));
diesel::joinable!(notification_outbox -> notifications (notification_id));
diesel::joinable!(documents -> interventions (intervention_id));
diesel::joinable!(plannings -> equipements (equipement_id));
diesel::allow_tables_to_appear_in_same_query!(
    clients,
    users,
    auth_sessions,
    refresh_tokens,
    audit_events,
    techniciens,
    competences,
    technicien_competence,
    equipements,
    plannings,
    interventions,
    historiques_interventions,
    planning_occurrences,
    notifications,
    notification_outbox,
    documents,
    scheduler_leases,
);
