//! The enums of DATA.md §1 with their exact wire values, in declared order (the API's sort
//! order). Input is trimmed and matched case-insensitively; output is canonical.

use std::fmt;
use std::str::FromStr;

use crate::user::UnknownVariant;

/// Declares a wire enum: variants, values, `ALL`, `as_str`, `FromStr`, `Display`.
macro_rules! wire_enum {
    ($(#[$doc:meta])* $name:ident { $($(#[$vdoc:meta])* $variant:ident => $value:literal),+ $(,)? }) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum $name {
            $($(#[$vdoc])* $variant),+
        }

        impl $name {
            /// Every value, in declared order.
            pub const ALL: &'static [Self] = &[$(Self::$variant),+];

            /// The wire and storage value.
            #[must_use]
            pub const fn as_str(self) -> &'static str {
                match self {
                    $(Self::$variant => $value),+
                }
            }

            /// The wire values, for "valeurs possibles" messages.
            #[must_use]
            pub fn wire_values() -> Vec<&'static str> {
                Self::ALL.iter().map(|v| v.as_str()).collect()
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl FromStr for $name {
            type Err = UnknownVariant;

            fn from_str(s: &str) -> Result<Self, Self::Err> {
                let wanted = s.trim().to_lowercase();
                Self::ALL.iter().copied().find(|v| v.as_str() == wanted).ok_or_else(|| UnknownVariant(s.to_owned()))
            }
        }
    };
}

wire_enum!(
    /// `InterventionType`.
    InterventionType {
        /// Repair.
        Corrective => "corrective",
        /// Planned maintenance.
        Preventive => "preventive",
        /// Improvement.
        Ameliorative => "ameliorative",
        /// Diagnosis.
        Diagnostic => "diagnostic",
    }
);

wire_enum!(
    /// `StatutIntervention`.
    StatutIntervention {
        /// Created, not assigned.
        Ouverte => "ouverte",
        /// Assigned to a technicien.
        Affectee => "affectee",
        /// Work in progress.
        EnCours => "en_cours",
        /// Paused.
        EnAttente => "en_attente",
        /// Closed with a report.
        Cloturee => "cloturee",
        /// Cancelled.
        Annulee => "annulee",
        /// Archived.
        Archivee => "archivee",
    }
);

wire_enum!(
    /// `PrioriteIntervention`.
    PrioriteIntervention {
        /// Urgent.
        Urgente => "urgente",
        /// High.
        Haute => "haute",
        /// Normal.
        Normale => "normale",
        /// Low.
        Basse => "basse",
        /// Scheduled.
        Programmee => "programmee",
    }
);

wire_enum!(
    /// `StatutEquipement`.
    StatutEquipement {
        /// In service.
        Operationnel => "operationnel",
        /// Under maintenance.
        Maintenance => "maintenance",
        /// Broken down.
        Panne => "panne",
        /// Retired.
        Retire => "retire",
    }
);

wire_enum!(
    /// `CriticiteEquipement`.
    CriticiteEquipement {
        /// Critical.
        Critique => "critique",
        /// Important.
        Important => "important",
        /// Standard.
        Standard => "standard",
        /// Not critical.
        NonCritique => "non_critique",
    }
);

wire_enum!(
    /// `DisponibiliteTechnicien`.
    DisponibiliteTechnicien {
        /// Available.
        Disponible => "disponible",
        /// Busy.
        Occupe => "occupe",
        /// On leave.
        Conge => "conge",
        /// In training.
        Formation => "formation",
        /// Unavailable.
        Indisponible => "indisponible",
    }
);

wire_enum!(
    /// `NiveauCompetence`.
    NiveauCompetence {
        /// Beginner.
        Debutant => "debutant",
        /// Intermediate.
        Intermediaire => "intermediaire",
        /// Advanced.
        Avance => "avance",
        /// Expert.
        Expert => "expert",
    }
);

wire_enum!(
    /// `ActionHistorique`.
    ActionHistorique {
        /// Created by a user.
        Creation => "creation",
        /// Generated from a planning.
        Generation => "generation",
        /// First assignment.
        Affectation => "affectation",
        /// Another technicien.
        Reaffectation => "reaffectation",
        /// Work started.
        Demarrage => "demarrage",
        /// Paused.
        Suspension => "suspension",
        /// Resumed.
        Reprise => "reprise",
        /// Closed.
        Cloture => "cloture",
        /// Cancelled.
        Annulation => "annulation",
        /// Archived.
        Archivage => "archivage",
        /// Validated by the client.
        ValidationClient => "validation_client",
    }
);

wire_enum!(
    /// `TypeNotification`.
    TypeNotification {
        /// An intervention was assigned to the recipient.
        Affectation => "affectation",
        /// An intervention was closed.
        Cloture => "cloture",
        /// Preventive work is coming up.
        Rappel => "rappel",
        /// An intervention is past its due date.
        Retard => "retard",
        /// Written by hand by an admin.
        Information => "information",
    }
);

wire_enum!(
    /// `CanalNotification` (`sms` and `push` are stored, not delivered, in this version).
    CanalNotification {
        /// In-app and by e-mail.
        Email => "email",
        /// In-app only.
        Log => "log",
        /// Stored only.
        Sms => "sms",
        /// Stored only.
        Push => "push",
    }
);

wire_enum!(
    /// `FrequencePlanning`: the stored (masculine) values; see [`crate::planning`] for the
    /// accepted and emitted labels.
    FrequencePlanning {
        /// 1 day.
        Journalier => "journalier",
        /// 7 days.
        Hebdomadaire => "hebdomadaire",
        /// 1 calendar month.
        Mensuel => "mensuel",
        /// 3 calendar months.
        Trimestriel => "trimestriel",
        /// 6 calendar months.
        Semestriel => "semestriel",
        /// 12 calendar months.
        Annuel => "annuel",
    }
);

wire_enum!(
    /// `StatutPlanning`.
    StatutPlanning {
        /// Generates interventions.
        Actif => "actif",
        /// Paused by a user.
        Suspendu => "suspendu",
        /// Past its end date.
        Termine => "termine",
        /// Reserved for clients; never written in this version.
        EnRetard => "en_retard",
    }
);

wire_enum!(
    /// `StatutOutbox`.
    StatutOutbox {
        /// Waiting for (another) delivery attempt.
        EnAttente => "en_attente",
        /// Delivered to the SMTP server.
        Envoye => "envoye",
        /// Gave up after the last attempt.
        Echec => "echec",
    }
);

wire_enum!(
    /// `OrigineOccurrence`.
    OrigineOccurrence {
        /// Generated by the background scheduler.
        Scheduler => "scheduler",
        /// Generated by `POST /planning/{id}/generer`.
        Manuel => "manuel",
    }
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_round_trip_and_parse_case_insensitively() {
        for s in StatutIntervention::ALL {
            assert_eq!(s.as_str().parse::<StatutIntervention>(), Ok(*s));
            assert_eq!(
                s.as_str().to_uppercase().parse::<StatutIntervention>(),
                Ok(*s)
            );
        }
        assert_eq!(
            " En_Cours ".parse::<StatutIntervention>(),
            Ok(StatutIntervention::EnCours)
        );
        assert!("fermee".parse::<StatutIntervention>().is_err());
        assert_eq!(
            CriticiteEquipement::wire_values(),
            vec!["critique", "important", "standard", "non_critique"]
        );
    }

    #[test]
    fn declared_order_is_the_sort_order() {
        assert!(PrioriteIntervention::Urgente < PrioriteIntervention::Programmee);
        assert!(StatutIntervention::Ouverte < StatutIntervention::Archivee);
    }
}
