//! Notifications (D8, DATA.md §3.9–3.10, API.md §3.8): the entity, the domain events that
//! create them, their de-duplication key, the French e-mail templates and the retry policy of
//! the e-mail outbox.

use chrono::Duration;

use crate::clock::Timestamp;
use crate::enums::{CanalNotification, TypeNotification};
use crate::ids::{InterventionId, UserId};

pub use crate::ids::NotificationId;

/// A stored notification.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Notification {
    /// Id.
    pub id: NotificationId,
    /// JSON `type`.
    pub type_notification: TypeNotification,
    /// Channel.
    pub canal: CanalNotification,
    /// ≤ 255.
    pub titre: Option<String>,
    /// ≤ 2000.
    pub contenu: Option<String>,
    /// Recipient.
    pub user_id: UserId,
    /// The intervention it is about.
    pub intervention_id: Option<InterventionId>,
    /// Creation (in-app delivery) time.
    pub date_envoi: Timestamp,
    /// Read flag.
    pub lue: bool,
    /// Set with `lue`.
    pub read_at: Option<Timestamp>,
}

/// A notification to insert.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewNotification {
    /// JSON `type`.
    pub type_notification: TypeNotification,
    /// Channel.
    pub canal: CanalNotification,
    /// ≤ 255.
    pub titre: Option<String>,
    /// ≤ 2000.
    pub contenu: Option<String>,
    /// Recipient.
    pub user_id: UserId,
    /// The intervention it is about.
    pub intervention_id: Option<InterventionId>,
    /// Creation time.
    pub date_envoi: Timestamp,
    /// The admin who wrote it; `None` for a domain event.
    pub created_by_id: Option<UserId>,
    /// Domain events only: one notification per event occurrence and recipient.
    pub dedup_key: Option<String>,
}

/// A domain event of the maintenance lifecycle that notifies people.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DomainEvent {
    /// An intervention was (re-)assigned.
    Assigned {
        /// Which.
        intervention: InterventionId,
        /// Its title.
        titre: String,
        /// `date_affectation`.
        at: Timestamp,
    },
    /// An intervention was closed.
    Closed {
        /// Which.
        intervention: InterventionId,
        /// Its title.
        titre: String,
        /// `date_cloture`.
        at: Timestamp,
    },
    /// An active intervention's due date passed.
    Overdue {
        /// Which.
        intervention: InterventionId,
        /// Its title.
        titre: String,
        /// `date_limite`.
        date_limite: Timestamp,
    },
    /// A preventive intervention was generated.
    Generated {
        /// Which.
        intervention: InterventionId,
        /// Its title.
        titre: String,
        /// Its `date_creation`.
        at: Timestamp,
        /// The due date of the occurrence.
        due: Timestamp,
    },
}

/// `25/03/2026` — the French date of e-mails and notification texts.
#[must_use]
pub fn french_date(t: Timestamp) -> String {
    t.format("%d/%m/%Y").to_string()
}

impl DomainEvent {
    /// The notification type.
    #[must_use]
    pub const fn kind(&self) -> TypeNotification {
        match self {
            Self::Assigned { .. } => TypeNotification::Affectation,
            Self::Closed { .. } => TypeNotification::Cloture,
            Self::Overdue { .. } => TypeNotification::Retard,
            Self::Generated { .. } => TypeNotification::Rappel,
        }
    }

    /// The intervention concerned.
    #[must_use]
    pub const fn intervention(&self) -> InterventionId {
        match self {
            Self::Assigned { intervention, .. }
            | Self::Closed { intervention, .. }
            | Self::Overdue { intervention, .. }
            | Self::Generated { intervention, .. } => *intervention,
        }
    }

    /// The time that identifies this occurrence of the event (DATA.md §3.9 `dedup_key`).
    #[must_use]
    pub const fn instant(&self) -> Timestamp {
        match self {
            Self::Assigned { at, .. } | Self::Closed { at, .. } | Self::Generated { at, .. } => *at,
            Self::Overdue { date_limite, .. } => *date_limite,
        }
    }

    /// `<type>:<intervention_id>:<user_id>:<t>`.
    #[must_use]
    pub fn dedup_key(&self, recipient: UserId) -> String {
        format!(
            "{}:{}:{}:{}",
            self.kind(),
            self.intervention(),
            recipient,
            self.instant().format("%Y-%m-%dT%H:%M:%S%.6f")
        )
    }

    /// The in-app title and text (API.md §3.8).
    #[must_use]
    pub fn texts(&self) -> (&'static str, String) {
        match self {
            Self::Assigned {
                intervention,
                titre,
                ..
            } => (
                "Nouvelle intervention assignée",
                format!(
                    "Une nouvelle intervention vous a été assignée : {titre} (#{intervention})."
                ),
            ),
            Self::Closed {
                intervention,
                titre,
                ..
            } => (
                "Intervention clôturée",
                format!("L'intervention {titre} (#{intervention}) a été clôturée."),
            ),
            Self::Overdue {
                intervention,
                titre,
                date_limite,
            } => (
                "Intervention en retard",
                format!(
                    "L'intervention {titre} (#{intervention}) a dépassé sa date limite ({}).",
                    french_date(*date_limite)
                ),
            ),
            Self::Generated {
                intervention,
                titre,
                due,
                ..
            } => (
                "Maintenance préventive à venir",
                format!(
                    "L'intervention préventive {titre} (#{intervention}) est prévue pour le {}.",
                    french_date(*due)
                ),
            ),
        }
    }

    /// The notification for one recipient.
    #[must_use]
    pub fn notification(
        &self,
        recipient: UserId,
        canal: CanalNotification,
        now: Timestamp,
    ) -> NewNotification {
        let (titre, contenu) = self.texts();
        NewNotification {
            type_notification: self.kind(),
            canal,
            titre: Some(titre.to_owned()),
            contenu: Some(contenu),
            user_id: recipient,
            intervention_id: Some(self.intervention()),
            date_envoi: now,
            created_by_id: None,
            dedup_key: Some(self.dedup_key(recipient)),
        }
    }
}

/// A rendered e-mail.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EmailContent {
    /// Subject line.
    pub subject: String,
    /// Plain-text body.
    pub text: String,
    /// HTML body.
    pub html: String,
}

/// The subject prefix of every e-mail.
pub const SUBJECT_PREFIX: &str = "[ERP MIF Maroc]";

fn escape_html(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            other => out.push(other),
        }
    }
    out
}

/// Renders the e-mail of a notification: one French template per type (the introduction and
/// the call to action differ), the notification's title and text inside.
#[must_use]
pub fn render_email(n: &NewNotification, recipient_name: &str) -> EmailContent {
    let titre = n.titre.as_deref().unwrap_or("Notification");
    let contenu = n.contenu.as_deref().unwrap_or("");
    let (intro, action) = match n.type_notification {
        TypeNotification::Affectation => (
            "Une intervention vient de vous être confiée.",
            "Consultez-la dans l'application et démarrez-la dès que possible.",
        ),
        TypeNotification::Cloture => (
            "Une intervention vient d'être clôturée.",
            "Le rapport d'intervention est disponible dans l'application.",
        ),
        TypeNotification::Rappel => (
            "Une maintenance préventive approche.",
            "Pensez à planifier les ressources nécessaires.",
        ),
        TypeNotification::Retard => (
            "Une intervention a dépassé sa date limite.",
            "Merci de la traiter en priorité ou de mettre à jour sa date limite.",
        ),
        TypeNotification::Information => ("Vous avez reçu un message.", ""),
    };
    let reference = n
        .intervention_id
        .map(|i| format!("Intervention concernée : #{i}\n"))
        .unwrap_or_default();
    let mut text = format!("Bonjour {recipient_name},\n\n{intro}\n\n{contenu}\n");
    text.push_str(&reference);
    if !action.is_empty() {
        text.push('\n');
        text.push_str(action);
        text.push('\n');
    }
    text.push_str(
        "\n— ERP MIF Maroc\nCe message est envoyé automatiquement ; merci de ne pas y répondre.\n",
    );
    let html = format!(
        "<!DOCTYPE html><html lang=\"fr\"><body><p>Bonjour {},</p><p>{}</p><h2>{}</h2><p>{}</p>{}{}\
         <p>— ERP MIF Maroc<br><small>Ce message est envoyé automatiquement ; merci de ne pas y répondre.</small></p></body></html>",
        escape_html(recipient_name),
        escape_html(intro),
        escape_html(titre),
        escape_html(contenu),
        n.intervention_id
            .map(|i| format!("<p>Intervention concernée : #{i}</p>"))
            .unwrap_or_default(),
        if action.is_empty() {
            String::new()
        } else {
            format!("<p>{}</p>", escape_html(action))
        },
    );
    EmailContent {
        subject: format!("{SUBJECT_PREFIX} {titre}"),
        text,
        html,
    }
}

/// The retry policy of the e-mail outbox (DATA.md §3.10).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Delay after the first failure (1 min by default), doubled at each failure.
    pub base: Duration,
    /// Largest delay (1 h).
    pub max: Duration,
    /// Attempts before giving up (`echec`).
    pub max_attempts: i32,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            base: Duration::minutes(1),
            max: Duration::hours(1),
            max_attempts: 10,
        }
    }
}

impl RetryPolicy {
    /// The delay before the next attempt after `attempts` failed ones (≥ 1):
    /// `min(base × 2^(attempts−1), max)`.
    #[must_use]
    pub fn delay(&self, attempts: i32) -> Duration {
        let exponent = u32::try_from(attempts.saturating_sub(1))
            .unwrap_or(0)
            .min(30);
        self.base
            .checked_mul(1_i32 << exponent)
            .map_or(self.max, |d| d.min(self.max))
    }

    /// Whether `attempts` failed attempts exhaust the policy.
    #[must_use]
    pub const fn exhausted(&self, attempts: i32) -> bool {
        attempts >= self.max_attempts
    }
}

/// An e-mail queued in the outbox, as claimed by a worker.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutboxMessage {
    /// Outbox row id.
    pub id: i64,
    /// Recipient address.
    pub destinataire: String,
    /// Subject.
    pub sujet: String,
    /// Plain text.
    pub corps_texte: String,
    /// HTML.
    pub corps_html: Option<String>,
    /// Failed attempts so far.
    pub attempts: i32,
}

/// An e-mail to enqueue with its notification.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewOutboxMessage {
    /// The notification.
    pub notification_id: NotificationId,
    /// Recipient address, copied now.
    pub destinataire: String,
    /// The rendered e-mail.
    pub email: EmailContent,
    /// Enqueue time (= first attempt time).
    pub at: Timestamp,
}

/// Outbox figures for `/health`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct OutboxStats {
    /// Rows waiting for delivery.
    pub pending: i64,
    /// Rows that gave up.
    pub failed: i64,
    /// Creation time of the oldest waiting row.
    pub oldest_pending: Option<Timestamp>,
}

/// Sort keys of `GET /notifications`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NotificationSortField {
    /// `date_envoi` (default, descending).
    DateEnvoi,
    /// `id`.
    Id,
}

impl NotificationSortField {
    /// Wire names.
    pub const NAMES: [&'static str; 2] = ["date_envoi", "id"];

    /// Parses a wire name.
    #[must_use]
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "date_envoi" => Self::DateEnvoi,
            "id" => Self::Id,
            _ => return None,
        })
    }
}

/// Filters of the notification lists.
#[derive(Debug, Clone, Default)]
pub struct NotificationFilter {
    /// Recipient.
    pub user_id: Option<i64>,
    /// Intervention.
    pub intervention_id: Option<i64>,
    /// Any of these types.
    pub types: Vec<TypeNotification>,
    /// Any of these channels.
    pub canaux: Vec<CanalNotification>,
    /// Read or not.
    pub lue: Option<bool>,
    /// `date_envoi >=`.
    pub date_envoi_min: Option<Timestamp>,
    /// `date_envoi <=`.
    pub date_envoi_max: Option<Timestamp>,
}

#[cfg(test)]
mod tests {
    use chrono::{TimeZone, Utc};

    use super::*;

    #[test]
    fn retry_delays_double_up_to_one_hour() {
        let p = RetryPolicy::default();
        let minutes: Vec<i64> = (1..=9).map(|a| p.delay(a).num_minutes()).collect();
        assert_eq!(minutes, vec![1, 2, 4, 8, 16, 32, 60, 60, 60]);
        assert_eq!(p.delay(1000), Duration::hours(1));
        assert!(!p.exhausted(9));
        assert!(p.exhausted(10));
    }

    #[test]
    fn events_carry_the_contract_texts_and_one_key_per_occurrence_and_recipient() {
        let at = Utc
            .with_ymd_and_hms(2026, 3, 25, 9, 30, 0)
            .single()
            .unwrap_or_default();
        let e = DomainEvent::Overdue {
            intervention: InterventionId::new(42),
            titre: "Pompe P-12".into(),
            date_limite: at,
        };
        assert_eq!(
            e.texts(),
            (
                "Intervention en retard",
                "L'intervention Pompe P-12 (#42) a dépassé sa date limite (25/03/2026).".to_owned()
            )
        );
        assert_eq!(
            e.dedup_key(UserId::new(7)),
            "retard:42:7:2026-03-25T09:30:00.000000"
        );
        assert_ne!(e.dedup_key(UserId::new(7)), e.dedup_key(UserId::new(8)));
        let n = e.notification(UserId::new(7), CanalNotification::Email, at);
        let mail = render_email(&n, "Karim <Benali>");
        assert_eq!(mail.subject, "[ERP MIF Maroc] Intervention en retard");
        assert!(mail.text.contains("Bonjour Karim <Benali>,"));
        assert!(mail.text.contains("a dépassé sa date limite (25/03/2026)"));
        assert!(mail.html.contains("Karim &lt;Benali&gt;"));
    }
}
