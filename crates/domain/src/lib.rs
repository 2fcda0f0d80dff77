//! Pure domain model of ERP MIF Maroc: entities, value objects, enums with their French wire
//! values, domain errors and the ports (traits) that adapters implement. No I/O lives here.

pub mod audit;
pub mod clock;
pub mod dashboard;
pub mod document;
pub mod enums;
pub mod equipement;
pub mod error;
pub mod ids;
pub mod intervention;
pub mod lifecycle;
pub mod list;
pub mod notification;
pub mod password;
pub mod planning;
pub mod ports;
pub mod session;
pub mod technicien;
pub mod text;
pub mod throttle;
pub mod user;
pub mod value;

pub use clock::{Clock, FixedClock, SystemClock, ThreadClock, Timestamp};
pub use error::{DomainError, FieldViolation, ViolationCode};
pub use ids::{AuditEventId, ClientId, DocumentId, NotificationId, PlanningId, SessionId, UserId};
pub use user::{Email, FullName, NewUser, User, UserRole, Username};
