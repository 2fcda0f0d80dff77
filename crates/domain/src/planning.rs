//! Preventive plannings (D7, DATA.md §3.7–3.8, API.md §3.7): the entity, calendar-correct
//! periods, the due rule, and the next occurrence after a generation.

use chrono::{Days, Months};

use crate::clock::Timestamp;
use crate::enums::{FrequencePlanning, PrioriteIntervention, StatutPlanning};
use crate::equipement::EquipementId;
use crate::error::{DomainError, FieldViolation, ViolationCode};
use crate::technicien::TechnicienId;
use crate::text::norm;

pub use crate::ids::PlanningId;

/// The message of an unknown frequency.
pub const FREQUENCE_INVALIDE: &str = "Fréquence invalide";

impl FrequencePlanning {
    /// Parses a frequency, trimmed and case-insensitively, in either label form
    /// (`mensuel` or `mensuelle`, …).
    ///
    /// # Errors
    /// `invalid_value` "Fréquence invalide" on `field`.
    pub fn parse_label(field: &str, raw: &str) -> Result<Self, DomainError> {
        Ok(match norm(raw).as_str() {
            "journalier" => Self::Journalier,
            "hebdomadaire" => Self::Hebdomadaire,
            "mensuel" | "mensuelle" => Self::Mensuel,
            "trimestriel" | "trimestrielle" => Self::Trimestriel,
            "semestriel" | "semestrielle" => Self::Semestriel,
            "annuel" | "annuelle" => Self::Annuel,
            _ => {
                return Err(DomainError::single(FieldViolation::new(
                    field,
                    ViolationCode::InvalidValue,
                    FREQUENCE_INVALIDE,
                )));
            }
        })
    }

    /// The output label of the API (`mensuelle`, not `mensuel`).
    #[must_use]
    pub const fn label(self) -> &'static str {
        match self {
            Self::Journalier => "journalier",
            Self::Hebdomadaire => "hebdomadaire",
            Self::Mensuel => "mensuelle",
            Self::Trimestriel => "trimestrielle",
            Self::Semestriel => "semestrielle",
            Self::Annuel => "annuelle",
        }
    }

    /// Every accepted input label, for "valeurs possibles" messages.
    #[must_use]
    pub fn accepted_labels() -> Vec<&'static str> {
        vec![
            "journalier",
            "hebdomadaire",
            "mensuel",
            "mensuelle",
            "trimestriel",
            "trimestrielle",
            "semestriel",
            "semestrielle",
            "annuel",
            "annuelle",
        ]
    }

    /// The `k`-th occurrence of a series anchored at `reference`: `reference + k` periods, a
    /// month being a calendar month whose day is clamped to the month's end. Always computed
    /// from the anchor, so 31 Jan → 28/29 Feb → 31 Mar (no drift). `None` past the calendar.
    #[must_use]
    pub fn occurrence(self, reference: Timestamp, k: u32) -> Option<Timestamp> {
        let days = |n: u64| reference.checked_add_days(Days::new(n * u64::from(k)));
        let months = |n: u32| reference.checked_add_months(Months::new(n.checked_mul(k)?));
        match self {
            Self::Journalier => days(1),
            Self::Hebdomadaire => days(7),
            Self::Mensuel => months(1),
            Self::Trimestriel => months(3),
            Self::Semestriel => months(6),
            Self::Annuel => months(12),
        }
    }

    /// The first occurrence of the series anchored at `reference` strictly after `after`.
    #[must_use]
    pub fn first_after(self, reference: Timestamp, after: Timestamp) -> Option<Timestamp> {
        // Estimate k from the elapsed time, then step: a month is at least 28 days, so the
        // estimate never overshoots the answer by more than one period.
        let elapsed_days = u32::try_from((after - reference).num_days().max(0)).ok()?;
        let min_days_per_period = match self {
            Self::Journalier => 1,
            Self::Hebdomadaire => 7,
            Self::Mensuel => 31,
            Self::Trimestriel => 92,
            Self::Semestriel => 184,
            Self::Annuel => 366,
        };
        let mut k = (elapsed_days / min_days_per_period).saturating_sub(1);
        loop {
            let candidate = self.occurrence(reference, k)?;
            if candidate > after {
                return Some(candidate);
            }
            k = k.checked_add(1)?;
        }
    }
}

/// A stored planning.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Planning {
    /// Id.
    pub id: PlanningId,
    /// Editable fields.
    pub fields: PlanningFields,
    /// Anchor of the calendar arithmetic.
    pub date_reference: Timestamp,
    /// Internal optimistic-concurrency counter (scheduler vs user edits).
    pub version: i32,
    /// Creation.
    pub date_creation: Timestamp,
    /// Last write.
    pub date_modification: Timestamp,
}

/// The fields a user sets.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlanningFields {
    /// The équipement.
    pub equipement_id: EquipementId,
    /// The period.
    pub frequence: FrequencePlanning,
    /// Next due date D.
    pub prochaine_date: Timestamp,
    /// Previous due date.
    pub derniere_date: Option<Timestamp>,
    /// No occurrence after it.
    pub date_fin: Option<Timestamp>,
    /// Only `actif` generates.
    pub statut: StatutPlanning,
    /// ≤ 255: title of generated interventions.
    pub titre: Option<String>,
    /// ≤ 1000.
    pub commentaire: Option<String>,
    /// Of generated interventions.
    pub priorite: PrioriteIntervention,
    /// Default assignee.
    pub technicien_id: Option<TechnicienId>,
    /// Minutes.
    pub duree_estimee: Option<i32>,
    /// 0–365: generate that many days before D.
    pub avance_jours: i32,
}

impl Planning {
    /// Whether the occurrence at `prochaine_date` should be generated at `now` (API.md §3.7).
    #[must_use]
    pub fn is_due(&self, now: Timestamp) -> bool {
        let f = &self.fields;
        let lead = Days::new(u64::try_from(f.avance_jours).unwrap_or(0));
        f.statut == StatutPlanning::Actif
            && f.prochaine_date
                .checked_sub_days(lead)
                .is_some_and(|t| t <= now)
            && !self.past_end()
    }

    /// `prochaine_date` is after `date_fin`: the planning is over.
    #[must_use]
    pub fn past_end(&self) -> bool {
        self.fields
            .date_fin
            .is_some_and(|fin| self.fields.prochaine_date > fin)
    }

    /// Advances the planning after the occurrence `due` was generated (or found already
    /// generated) at `now`: `derniere_date` = D, `prochaine_date` = the first occurrence after
    /// both D and now (missed occurrences are skipped), `termine` past `date_fin`.
    pub fn advance(&mut self, due: Timestamp, now: Timestamp) {
        let f = &mut self.fields;
        f.derniere_date = Some(due);
        let after = due.max(now);
        match f.frequence.first_after(self.date_reference, after) {
            Some(next) => f.prochaine_date = next,
            None => f.statut = StatutPlanning::Termine,
        }
        if self.past_end() {
            self.fields.statut = StatutPlanning::Termine;
        }
    }

    /// Moves the next due date by hand: it also becomes the new anchor (API.md §3.7).
    pub fn reschedule(&mut self, prochaine: Timestamp) {
        self.fields.derniere_date = Some(self.fields.prochaine_date);
        self.fields.prochaine_date = prochaine;
        self.date_reference = prochaine;
    }
}

/// Sort keys of `GET /planning`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PlanningSortField {
    /// `prochaine_date` (default).
    ProchaineDate,
    /// `id`.
    Id,
    /// `date_creation`.
    DateCreation,
}

impl PlanningSortField {
    /// Wire names.
    pub const NAMES: [&'static str; 3] = ["prochaine_date", "id", "date_creation"];

    /// Parses a wire name.
    #[must_use]
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "prochaine_date" => Self::ProchaineDate,
            "id" => Self::Id,
            "date_creation" => Self::DateCreation,
            _ => return None,
        })
    }
}

/// Filters of `GET /planning`.
#[derive(Debug, Clone, Default)]
pub struct PlanningFilter {
    /// The équipement.
    pub equipement_id: Option<i64>,
    /// The default assignee.
    pub technicien_id: Option<i64>,
    /// Any of these statuts.
    pub statuts: Vec<StatutPlanning>,
    /// Any of these frequencies.
    pub frequences: Vec<FrequencePlanning>,
    /// `prochaine_date >=`.
    pub prochaine_date_min: Option<Timestamp>,
    /// `prochaine_date <=`.
    pub prochaine_date_max: Option<Timestamp>,
}

#[cfg(test)]
mod tests {
    use chrono::{TimeZone, Utc};

    use super::*;

    fn at(y: i32, m: u32, d: u32) -> Timestamp {
        Utc.with_ymd_and_hms(y, m, d, 8, 0, 0)
            .single()
            .unwrap_or_default()
    }

    #[test]
    fn labels_parse_in_both_forms_and_emit_the_feminine_one() {
        for (raw, f) in [
            (" Mensuelle ", FrequencePlanning::Mensuel),
            ("MENSUEL", FrequencePlanning::Mensuel),
            ("trimestrielle", FrequencePlanning::Trimestriel),
            ("semestriel", FrequencePlanning::Semestriel),
            ("annuelle", FrequencePlanning::Annuel),
            ("journalier", FrequencePlanning::Journalier),
            ("hebdomadaire", FrequencePlanning::Hebdomadaire),
        ] {
            assert_eq!(
                FrequencePlanning::parse_label("frequence", raw),
                Ok(f),
                "{raw}"
            );
        }
        for bad in ["", "mensuelles", "bimensuel", "30", "quotidien"] {
            assert!(
                FrequencePlanning::parse_label("frequence", bad).is_err(),
                "{bad}"
            );
        }
        assert_eq!(FrequencePlanning::Mensuel.label(), "mensuelle");
        assert_eq!(FrequencePlanning::Hebdomadaire.label(), "hebdomadaire");
    }

    #[test]
    fn months_are_calendar_months_clamped_and_anchored() {
        let jan31 = at(2026, 1, 31);
        let m = FrequencePlanning::Mensuel;
        assert_eq!(m.occurrence(jan31, 1), Some(at(2026, 2, 28)));
        assert_eq!(m.occurrence(jan31, 2), Some(at(2026, 3, 31)));
        assert_eq!(m.occurrence(jan31, 3), Some(at(2026, 4, 30)));
        assert_eq!(m.occurrence(at(2028, 1, 31), 1), Some(at(2028, 2, 29)));
        assert_eq!(
            FrequencePlanning::Trimestriel.occurrence(at(2026, 11, 30), 1),
            Some(at(2027, 2, 28))
        );
        assert_eq!(
            FrequencePlanning::Annuel.occurrence(at(2028, 2, 29), 1),
            Some(at(2029, 2, 28))
        );
        assert_eq!(
            FrequencePlanning::Hebdomadaire.occurrence(jan31, 2),
            Some(at(2026, 2, 14))
        );
    }

    #[test]
    fn first_after_is_the_smallest_occurrence_strictly_after() {
        let jan31 = at(2026, 1, 31);
        for f in FrequencePlanning::ALL {
            for after in [
                jan31,
                at(2026, 2, 27),
                at(2026, 2, 28),
                at(2027, 6, 15),
                at(2031, 12, 31),
            ] {
                let next = f.first_after(jan31, after).unwrap_or_default();
                assert!(next > after, "{f} {after}");
                let mut k = 0;
                while f.occurrence(jan31, k).unwrap_or_default() <= after {
                    k += 1;
                }
                assert_eq!(Some(next), f.occurrence(jan31, k), "{f} {after}");
            }
        }
    }

    fn planning(prochaine: Timestamp) -> Planning {
        Planning {
            id: PlanningId::new(1),
            fields: PlanningFields {
                equipement_id: EquipementId::new(1),
                frequence: FrequencePlanning::Mensuel,
                prochaine_date: prochaine,
                derniere_date: None,
                date_fin: None,
                statut: StatutPlanning::Actif,
                titre: None,
                commentaire: None,
                priorite: PrioriteIntervention::Normale,
                technicien_id: None,
                duree_estimee: None,
                avance_jours: 0,
            },
            date_reference: prochaine,
            version: 1,
            date_creation: prochaine,
            date_modification: prochaine,
        }
    }

    #[test]
    fn due_respects_lead_days_status_and_end_date() {
        let mut p = planning(at(2026, 3, 10));
        assert!(!p.is_due(at(2026, 3, 9)));
        assert!(p.is_due(at(2026, 3, 10)));
        p.fields.avance_jours = 2;
        assert!(p.is_due(at(2026, 3, 8)));
        assert!(!p.is_due(at(2026, 3, 7)));
        p.fields.statut = StatutPlanning::Suspendu;
        assert!(!p.is_due(at(2026, 3, 10)));
        p.fields.statut = StatutPlanning::Actif;
        p.fields.date_fin = Some(at(2026, 3, 1));
        assert!(!p.is_due(at(2026, 3, 10)));
    }

    #[test]
    fn advancing_skips_missed_periods_without_drift_and_ends() {
        let mut p = planning(at(2026, 1, 31));
        p.advance(at(2026, 1, 31), at(2026, 1, 31));
        assert_eq!(p.fields.prochaine_date, at(2026, 2, 28));
        assert_eq!(p.fields.derniere_date, Some(at(2026, 1, 31)));
        p.advance(at(2026, 2, 28), at(2026, 2, 28));
        assert_eq!(p.fields.prochaine_date, at(2026, 3, 31));
        // The server was down from April to mid-July: one generation, then the next future date.
        p.advance(at(2026, 3, 31), at(2026, 7, 15));
        assert_eq!(p.fields.prochaine_date, at(2026, 7, 31));
        p.fields.date_fin = Some(at(2026, 8, 15));
        p.advance(at(2026, 7, 31), at(2026, 7, 31));
        assert_eq!(p.fields.statut, StatutPlanning::Termine);
    }

    #[test]
    fn rescheduling_moves_the_anchor() {
        let mut p = planning(at(2026, 1, 31));
        p.reschedule(at(2026, 2, 10));
        assert_eq!(p.fields.derniere_date, Some(at(2026, 1, 31)));
        p.advance(at(2026, 2, 10), at(2026, 2, 10));
        assert_eq!(p.fields.prochaine_date, at(2026, 3, 10));
    }
}
