//! `erp seed-demo`: a realistic, idempotent demo data set built through the use cases, so
//! every invariant (state machine, history, scopes) holds as in real use.

use chrono::Duration;
use erp_domain::enums::{
    CriticiteEquipement, InterventionType, NiveauCompetence, PrioriteIntervention, StatutEquipement,
};
use erp_domain::equipement::{EquipementFields, EquipementId};
use erp_domain::lifecycle::LifecycleAction;
use erp_domain::password::PlainPassword;
use erp_domain::ports::{NewClient, TransactionMode};
use erp_domain::technicien::{CompetenceFields, SkillAssignment, TechnicienFields, TechnicienId};
use erp_domain::user::{Email, FullName, NewUser, UserRole, Username};
use erp_domain::{ClientId, SessionId, Timestamp, User};

use crate::app::{Application, Caller};
use crate::error::AppError;
use crate::interventions::{ActionInput, ClosureReport, CreateIntervention};
use crate::tx::transaction;

/// The documented demo accounts: username, password, role.
pub const DEMO_ACCOUNTS: [(&str, &str, UserRole); 4] = [
    ("demo.admin", "Demo#Admin2026", UserRole::Admin),
    (
        "demo.responsable",
        "Demo#Responsable2026",
        UserRole::Responsable,
    ),
    (
        "demo.technicien",
        "Demo#Technicien2026",
        UserRole::Technicien,
    ),
    ("demo.client", "Demo#Client2026", UserRole::Client),
];

/// What the seeding did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SeedReport {
    /// `false` when the demo data was already there (nothing written).
    pub created: bool,
    /// Users created.
    pub users: usize,
    /// Techniciens created.
    pub techniciens: usize,
    /// Équipements created.
    pub equipements: usize,
    /// Interventions created.
    pub interventions: usize,
}

/// A small deterministic generator, so that two demo databases look alike.
struct Lcg(u64);

impl Lcg {
    fn next(&mut self, n: usize) -> usize {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        usize::try_from((self.0 >> 33) % (n.max(1) as u64)).unwrap_or(0)
    }
}

fn caller(user: &User) -> Caller {
    Caller {
        user: user.clone(),
        session_id: SessionId::new(0),
    }
}

impl Application {
    fn seed_user(
        &self,
        username: &str,
        password: &str,
        role: UserRole,
        full_name: &str,
        client: Option<ClientId>,
        now: Timestamp,
    ) -> Result<User, AppError> {
        let hash = self.hash(&PlainPassword::new(password))?;
        transaction(self.ports.db.as_ref(), TransactionMode::ReadWrite, |uow| {
            Ok(uow.insert_user(&NewUser {
                username: Username::parse("username", username)?,
                email: Email::parse("email", &format!("{username}@demo.mif.ma"))?,
                full_name: Some(FullName::parse("full_name", full_name)?),
                password_hash: hash,
                role,
                is_active: true,
                client_id: client,
                now,
            })?)
        })
    }

    /// Loads the demo data set unless it is already there. `set_time` moves the application's
    /// clock, so that the data spreads over the last six months.
    ///
    /// # Errors
    /// Storage or validation failures (a partially seeded database is completed by a re-run
    /// only if it failed before the first account was created).
    pub fn seed_demo(
        &self,
        now: Timestamp,
        set_time: &dyn Fn(Timestamp),
        interventions: usize,
    ) -> Result<SeedReport, AppError> {
        let exists = transaction(self.ports.db.as_ref(), TransactionMode::ReadOnly, |uow| {
            Ok::<_, AppError>(uow.user_by_username_norm("demo.admin")?.is_some())
        })?;
        if exists {
            return Ok(SeedReport::default());
        }
        let start = now - Duration::days(170);
        set_time(start);
        let mut report = SeedReport {
            created: true,
            ..SeedReport::default()
        };
        let client_id = transaction(self.ports.db.as_ref(), TransactionMode::ReadWrite, |uow| {
            Ok::<_, AppError>(uow.insert_client(&NewClient {
                nom_entreprise: "Office Chérifien des Démonstrations".into(),
                email: Some("contact@demo.mif.ma".into()),
                now: start,
            })?)
        })?;
        let admin = self.seed_user(
            "demo.admin",
            DEMO_ACCOUNTS[0].1,
            UserRole::Admin,
            "Amina Admin",
            None,
            start,
        )?;
        let resp = self.seed_user(
            "demo.responsable",
            DEMO_ACCOUNTS[1].1,
            UserRole::Responsable,
            "Rachid Responsable",
            None,
            start,
        )?;
        let client = self.seed_user(
            "demo.client",
            DEMO_ACCOUNTS[3].1,
            UserRole::Client,
            "Chama Cliente",
            Some(client_id),
            start,
        )?;
        let _ = client;
        report.users = 3;
        let (admin_c, resp_c) = (caller(&admin), caller(&resp));

        let skills = [
            "Électricité",
            "Hydraulique",
            "Soudure",
            "Automatisme",
            "Froid industriel",
            "Mécanique",
        ];
        let mut competence_ids = Vec::new();
        for nom in skills {
            let c = self.create_competence(
                &admin_c,
                &CompetenceFields {
                    nom: nom.into(),
                    domaine: "maintenance".into(),
                    ..CompetenceFields::default()
                },
            )?;
            competence_ids.push(c.id);
        }
        let names = [
            "Karim Tazi",
            "Samir Alaoui",
            "Youssef Idrissi",
            "Nadia Bennani",
            "Omar Fassi",
            "Leila Chraibi",
            "Hamza Berrada",
            "Sara Kettani",
        ];
        let mut techniciens: Vec<(TechnicienId, User)> = Vec::new();
        let mut rng = Lcg(2026);
        for (i, name) in names.iter().enumerate() {
            let (username, password) = if i == 0 {
                ("demo.technicien".to_owned(), DEMO_ACCOUNTS[2].1.to_owned())
            } else {
                (format!("tech{}", i + 1), "Demo#Technicien2026".to_owned())
            };
            let user = self.seed_user(
                &username,
                &password,
                UserRole::Technicien,
                name,
                None,
                start,
            )?;
            let fields = TechnicienFields {
                equipe: Some(if i % 2 == 0 {
                    "Équipe Nord".into()
                } else {
                    "Équipe Sud".into()
                }),
                numero_badge: Some(format!("B-{:03}", i + 1)),
                niveau_technicien: [
                    NiveauCompetence::Debutant,
                    NiveauCompetence::Intermediaire,
                    NiveauCompetence::Avance,
                    NiveauCompetence::Expert,
                ][i % 4],
                ..TechnicienFields::default()
            };
            let set: Vec<SkillAssignment> = (0..2 + i % 3)
                .map(|k| SkillAssignment {
                    competence_id: competence_ids[(i + k) % competence_ids.len()],
                    niveau: NiveauCompetence::Avance,
                    date_validation: None,
                    validee_par: None,
                })
                .collect();
            let t = self.create_technicien(
                &admin_c,
                user.id,
                fields,
                Some(&crate::techniciens::SkillSet {
                    field: "competences",
                    skills: set,
                }),
            )?;
            techniciens.push((t.id, user));
        }
        report.users += techniciens.len();
        report.techniciens = techniciens.len();

        let kinds = [
            ("Pompe", "pompe"),
            ("Compresseur", "compresseur"),
            ("Chaudière", "chaudiere"),
            ("Convoyeur", "convoyeur"),
            ("Groupe électrogène", "groupe_electrogene"),
        ];
        let mut equipements: Vec<EquipementId> = Vec::new();
        for i in 0..20 {
            let (label, kind) = kinds[i % kinds.len()];
            let fields = EquipementFields {
                nom: format!("{label} {:02}", i + 1),
                type_equipement: kind.into(),
                localisation: format!("Atelier {}", ["A", "B", "C", "D"][i % 4]),
                numero_serie: Some(format!("SN-{:05}", 1000 + i)),
                code_interne: Some(format!("EQ-{:03}", i + 1)),
                marque: Some(["Grundfos", "Atlas Copco", "Viessmann", "Siemens"][i % 4].into()),
                statut: [
                    StatutEquipement::Operationnel,
                    StatutEquipement::Operationnel,
                    StatutEquipement::Maintenance,
                    StatutEquipement::Panne,
                    StatutEquipement::Operationnel,
                ][i % 5],
                criticite: [
                    CriticiteEquipement::Critique,
                    CriticiteEquipement::Important,
                    CriticiteEquipement::Standard,
                    CriticiteEquipement::NonCritique,
                ][i % 4],
                frequence_entretien_jours: Some([30, 90, 180][i % 3]),
                duree_garantie_mois: Some(24),
                cout_acquisition: Some(5_000_000 + 100_000 * i64::try_from(i).unwrap_or(0)),
                date_acquisition: Some(start - Duration::days(400)),
                date_mise_en_service: Some(start - Duration::days(380)),
                client_id: (i % 4 == 0).then_some(client_id),
                ..EquipementFields::default()
            };
            equipements.push(self.create_equipement(&admin_c, &fields)?.id);
        }
        report.equipements = equipements.len();

        let types = InterventionType::ALL;
        let priorites = PrioriteIntervention::ALL;
        // Target statuts in rotation: every statut is represented.
        let plans: [&[LifecycleAction]; 8] = [
            &[],
            &[LifecycleAction::Affecter],
            &[LifecycleAction::Affecter, LifecycleAction::Demarrer],
            &[
                LifecycleAction::Affecter,
                LifecycleAction::Demarrer,
                LifecycleAction::Suspendre,
            ],
            &[
                LifecycleAction::Affecter,
                LifecycleAction::Demarrer,
                LifecycleAction::Cloturer,
            ],
            &[
                LifecycleAction::Affecter,
                LifecycleAction::Demarrer,
                LifecycleAction::Cloturer,
                LifecycleAction::Valider,
            ],
            &[
                LifecycleAction::Affecter,
                LifecycleAction::Demarrer,
                LifecycleAction::Cloturer,
                LifecycleAction::Archiver,
            ],
            &[LifecycleAction::Annuler],
        ];
        let ctx = erp_domain::audit::AuditContext::default();
        // Spread over the 170 days before now, one creation every `step`.
        let step =
            Duration::seconds(170 * 24 * 3600 / i64::try_from(interventions.max(1)).unwrap_or(1));
        for n in 0..interventions {
            let created_at = start + step * i32::try_from(n).unwrap_or(i32::MAX);
            set_time(created_at);
            let equipement = equipements[rng.next(equipements.len())];
            let intervention = self.create_intervention(
                &resp_c,
                CreateIntervention {
                    titre: format!(
                        "{} #{:03}",
                        [
                            "Fuite",
                            "Vibration anormale",
                            "Contrôle périodique",
                            "Remplacement filtre",
                            "Panne moteur"
                        ][n % 5],
                        n + 1
                    ),
                    description: Some("Intervention de démonstration".into()),
                    type_intervention: types[n % types.len()],
                    priorite: priorites[(n / 2) % priorites.len()],
                    urgence: n % 7 == 0,
                    date_limite: Some(
                        created_at + Duration::days(i64::try_from(3 + n % 20).unwrap_or(3)),
                    ),
                    equipement_id: equipement,
                    technicien_id: None,
                    duree_estimee: Some(60 + 15 * i32::try_from(n % 8).unwrap_or(0)),
                    cout_estime: Some(50_000 + 1_000 * i64::try_from(n % 50).unwrap_or(0)),
                },
            )?;
            let (technicien, tech_user) = &techniciens[rng.next(techniciens.len())];
            let mut when = created_at;
            for action in plans[n % plans.len()] {
                when += step / 8;
                set_time(when);
                let mut input = ActionInput::bare(*action);
                let actor = match action {
                    LifecycleAction::Affecter => {
                        input.technicien_id = Some(*technicien);
                        &resp_c
                    }
                    LifecycleAction::Annuler => {
                        input.raison = Some("Doublon".into());
                        &resp_c
                    }
                    LifecycleAction::Archiver => &resp_c,
                    LifecycleAction::Valider => {
                        input.satisfaction = Some(i32::try_from(1 + n % 5).unwrap_or(3));
                        &admin_c
                    }
                    LifecycleAction::Cloturer => {
                        input.closure = Some(ClosureReport {
                            rapport_intervention: "Travaux réalisés, équipement remis en service"
                                .into(),
                            duree_reelle: Some(90),
                            ..ClosureReport::default()
                        });
                        &caller(tech_user)
                    }
                    LifecycleAction::Demarrer
                    | LifecycleAction::Suspendre
                    | LifecycleAction::Reprendre => &caller(tech_user),
                };
                self.act_on_intervention(actor, intervention.id, &input, &ctx)?;
            }
            report.interventions += 1;
        }
        set_time(now);
        Ok(report)
    }
}
