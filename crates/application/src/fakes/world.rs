//! A ready application on the fakes, with helpers to make the people and rows a test needs.

use std::sync::Arc;

use erp_domain::audit::{AuditContext, AuditEventType, NewAuditEvent};
use erp_domain::equipement::{Equipement, EquipementFields};
use erp_domain::ports::{ClientRepository, EquipementRepository, NewClient, UserRepository};
use erp_domain::ports::{CompetenceRepository, SessionRepository, TechnicienRepository};
use erp_domain::session::NewSession;
use erp_domain::technicien::{Competence, CompetenceFields, TechnicienFields, TechnicienId};
use erp_domain::user::{Email, FullName, NewUser, Username};
use erp_domain::{ClientId, User, UserId, UserRole};

use super::FakeDb;
use super::ports::{FakeHasher, FakeTokens, FakeVault, FixedSecrets, TestClock, hash_of};
use crate::app::{Application, Caller, IdentityConfig, NotificationConfig, Ports};

/// The password of every user the world makes.
pub const PASSWORD: &str = "Maintenance#2026x";

/// The application and its fakes.
pub struct World {
    pub app: Application,
    pub db: Arc<FakeDb>,
    pub clock: Arc<TestClock>,
    pub hasher: Arc<FakeHasher>,
    pub vault: FakeVault,
}

impl Default for World {
    fn default() -> Self {
        Self::new()
    }
}

/// The request context of the tests.
pub fn ctx() -> AuditContext {
    AuditContext {
        request_id: Some("req-1".into()),
        ip_address: Some("203.0.113.7".into()),
        user_agent: Some("tests".into()),
    }
}

impl World {
    /// An empty database; e-mail delivery off.
    pub fn new() -> Self {
        let db = Arc::new(FakeDb::default());
        let clock = Arc::new(TestClock::default());
        let hasher = Arc::new(FakeHasher::default());
        let tokens = Arc::new(FakeTokens::default());
        let vault = FakeVault::default();
        let ports = Ports {
            db: db.clone(),
            hasher: hasher.clone(),
            issuer: tokens.clone(),
            verifier: tokens.clone(),
            opaque: tokens,
            secrets: Arc::new(FixedSecrets),
            clock: clock.clone(),
            documents: Arc::new(vault.clone()),
        };
        let app = Application::new(ports, IdentityConfig::default()).expect("application");
        Self {
            app,
            db,
            clock,
            hasher,
            vault,
        }
    }

    /// The same, with e-mail delivery on.
    pub fn with_email() -> Self {
        let mut w = Self::new();
        w.app = w.app.with_notifications(NotificationConfig {
            email_enabled: true,
            ..NotificationConfig::default()
        });
        w
    }

    /// A stored, active user named `name` with [`PASSWORD`] (a client gets a new account).
    pub fn user(&self, role: UserRole, name: &str) -> User {
        let now = self.clock_now();
        self.db.with(|s| {
            let client_id = (role == UserRole::Client).then(|| {
                s.insert_client(&NewClient {
                    nom_entreprise: name.into(),
                    email: None,
                    now,
                })
                .expect("client")
            });
            s.insert_user(&NewUser {
                username: Username::parse("username", name).expect("username"),
                email: Email::parse("email", &format!("{name}@erp-mif.local")).expect("email"),
                full_name: Some(
                    FullName::parse("full_name", &format!("{name} Full")).expect("name"),
                ),
                password_hash: hash_of(PASSWORD),
                role,
                is_active: true,
                client_id,
                now,
            })
            .expect("user")
        })
    }

    /// A caller of `role` with an open session, stored.
    pub fn caller(&self, role: UserRole) -> Caller {
        self.caller_named(role, role.as_str())
    }

    /// A caller named `name`, stored with an open session.
    pub fn caller_named(&self, role: UserRole, name: &str) -> Caller {
        let user = self.user(role, name);
        self.session_of(user)
    }

    /// A session for an existing user.
    pub fn session_of(&self, user: User) -> Caller {
        let now = self.clock_now();
        let session = self.db.with(|s| {
            s.insert_session(&NewSession {
                user_id: user.id,
                now,
                expires_at: now + chrono::Duration::days(7),
                user_agent: None,
                ip_address: None,
            })
            .expect("session")
        });
        Caller {
            user,
            session_id: session.id,
        }
    }

    /// A stored user, as it is now.
    pub fn stored_user(&self, id: UserId) -> User {
        self.db
            .snapshot()
            .users
            .into_iter()
            .find(|u| u.id == id)
            .expect("stored user")
    }

    /// A new client account.
    pub fn client_account(&self) -> ClientId {
        let now = self.clock_now();
        self.db.with(|s| {
            s.insert_client(&NewClient {
                nom_entreprise: "Client SA".into(),
                email: None,
                now,
            })
            .expect("client")
        })
    }

    /// A stored équipement named `nom`, of `client` if given.
    pub fn equipement(&self, nom: &str, client: Option<ClientId>) -> Equipement {
        let now = self.clock_now();
        let fields = equipement_fields(nom, client);
        self.db
            .with(|s| s.insert_equipement(&fields, now).expect("equipement"))
    }

    /// A stored compétence.
    pub fn competence(&self, nom: &str) -> Competence {
        let now = self.clock_now();
        let fields = CompetenceFields {
            nom: nom.into(),
            ..CompetenceFields::default()
        };
        self.db
            .with(|s| s.insert_competence(&fields, now).expect("competence"))
    }

    /// A technicien profile for a new technicien user named `name`: (profile, its caller).
    pub fn technicien(&self, name: &str) -> (TechnicienId, Caller) {
        let caller = self.caller_named(UserRole::Technicien, name);
        let now = self.clock_now();
        let id = self.db.with(|s| {
            s.insert_technicien(
                &erp_domain::technicien::NewTechnicien {
                    user_id: caller.user.id,
                    fields: TechnicienFields::default(),
                },
                now,
            )
            .expect("technicien")
        });
        (id, caller)
    }

    /// A stored document row of intervention `i` whose blob is `blob` (no vault content).
    pub fn document_row(
        &self,
        i: erp_domain::intervention::InterventionId,
        blob: &str,
    ) -> erp_domain::document::Document {
        use erp_domain::ports::DocumentRepository as _;
        let now = self.clock_now();
        self.db.with(|s| {
            s.insert_document(&erp_domain::document::NewDocument {
                intervention_id: i,
                nom_fichier: "rapport.pdf".into(),
                extension: "pdf".into(),
                mime_type: "application/pdf".into(),
                taille: 3,
                sha256: super::ports::checksum(b"abc"),
                nom_stockage: blob.into(),
                cle_id: "key-1".into(),
                description: None,
                uploaded_by_id: None,
                date_upload: now,
            })
            .expect("document")
        })
    }

    /// A stored intervention on `e` (its client account copied), assigned to `t` if given.
    pub fn intervention(
        &self,
        e: &Equipement,
        t: Option<TechnicienId>,
    ) -> erp_domain::intervention::Intervention {
        self.store_intervention(new_intervention(e, t))
    }

    /// Stores an intervention made by the domain's constructor.
    pub fn store_intervention(
        &self,
        new: erp_domain::intervention::NewIntervention,
    ) -> erp_domain::intervention::Intervention {
        use erp_domain::ports::InterventionRepository as _;
        let i = erp_domain::intervention::Intervention::open(new, self.clock_now());
        self.db
            .with(|s| s.insert_intervention(&i).expect("intervention"))
    }

    /// The time.
    pub fn clock_now(&self) -> erp_domain::Timestamp {
        erp_domain::Clock::now(self.clock.as_ref())
    }

    /// The audit events written so far.
    pub fn audit(&self) -> Vec<NewAuditEvent> {
        self.db.snapshot().audit
    }

    /// The types of the audit events written so far, in order.
    pub fn audit_types(&self) -> Vec<AuditEventType> {
        self.audit().iter().map(|e| e.event_type).collect()
    }

    /// The last audit event.
    pub fn last_audit(&self) -> NewAuditEvent {
        self.audit().pop().expect("an audit event")
    }
}

/// Valid fields of an équipement.
pub fn equipement_fields(nom: &str, client: Option<ClientId>) -> EquipementFields {
    EquipementFields {
        nom: nom.into(),
        type_equipement: "Pompe".into(),
        localisation: "Atelier".into(),
        client_id: client,
        ..EquipementFields::default()
    }
}

/// A new corrective intervention on `e` (its client account copied), assigned to `t`.
pub fn new_intervention(
    e: &Equipement,
    t: Option<TechnicienId>,
) -> erp_domain::intervention::NewIntervention {
    erp_domain::intervention::NewIntervention {
        titre: format!("Panne {}", e.fields.nom),
        description: None,
        type_intervention: erp_domain::enums::InterventionType::Corrective,
        priorite: erp_domain::enums::PrioriteIntervention::Normale,
        urgence: false,
        date_limite: None,
        equipement_id: e.id,
        client_id: e.fields.client_id,
        technicien_id: t,
        duree_estimee: None,
        cout_estime: None,
        planning_id: None,
        created_by_id: None,
    }
}

/// A bounded text for a test (panics on a value out of its bounds).
pub fn text<const MIN: usize, const MAX: usize>(s: &str) -> erp_domain::value::Texte<MIN, MAX> {
    erp_domain::value::Texte::parse("test", s).unwrap()
}

/// A bounded integer for a test (panics on a value out of its bounds).
pub fn int<const MIN: i64, const MAX: i64>(v: i64) -> erp_domain::value::Entier<MIN, MAX> {
    erp_domain::value::Entier::new("test", v).unwrap()
}
