//! The SMTP adapter of the [`MailSender`] port (lettre, blocking, rustls): host, port,
//! plain/STARTTLS/implicit TLS, credentials and sender from the configuration. Used only by
//! the outbox worker, on a blocking thread.

use std::time::Duration;

use erp_domain::ports::{MailError, MailSender, OutgoingEmail};
use lettre::message::{Mailbox, MultiPart};
use lettre::transport::smtp::authentication::Credentials;
use lettre::{Message, SmtpTransport, Transport};
use secrecy::ExposeSecret as _;

use crate::config::{EmailSettings, SmtpTls};

/// Sends e-mail through one SMTP server.
pub struct SmtpMailer {
    transport: SmtpTransport,
    from: Mailbox,
}

impl std::fmt::Debug for SmtpMailer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SmtpMailer")
            .field("from", &self.from.to_string())
            .finish_non_exhaustive()
    }
}

/// The SMTP settings are unusable.
#[derive(Debug, thiserror::Error)]
#[error("email: {0}")]
pub struct MailConfigError(String);

impl SmtpMailer {
    /// Builds the transport (no connection is opened until the first message).
    ///
    /// # Errors
    /// [`MailConfigError`] for an invalid sender address or TLS set-up.
    pub fn new(s: &EmailSettings) -> Result<Self, MailConfigError> {
        let from: Mailbox = s
            .from
            .parse()
            .map_err(|e| MailConfigError(format!("email.from is not an address: {e}")))?;
        let builder = match s.tls {
            SmtpTls::None => SmtpTransport::builder_dangerous(&s.smtp_host),
            SmtpTls::Starttls => SmtpTransport::starttls_relay(&s.smtp_host)
                .map_err(|e| MailConfigError(format!("STARTTLS set-up: {e}")))?,
            SmtpTls::Tls => SmtpTransport::relay(&s.smtp_host)
                .map_err(|e| MailConfigError(format!("TLS set-up: {e}")))?,
        };
        let mut builder = builder
            .port(s.smtp_port)
            .timeout(Some(Duration::from_secs(s.timeout_seconds)));
        if let (Some(user), Some(password)) = (&s.username, &s.password) {
            builder = builder.credentials(Credentials::new(
                user.clone(),
                password.expose_secret().to_owned(),
            ));
        }
        Ok(Self {
            transport: builder.build(),
            from,
        })
    }
}

impl MailSender for SmtpMailer {
    fn send(&self, email: &OutgoingEmail<'_>) -> Result<(), MailError> {
        let to: Mailbox = email
            .to
            .parse()
            .map_err(|e| MailError(format!("invalid recipient address: {e}")))?;
        let builder = Message::builder()
            .from(self.from.clone())
            .to(to)
            .subject(email.subject);
        let message = match email.html {
            Some(html) => builder.multipart(MultiPart::alternative_plain_html(
                email.text.to_owned(),
                html.to_owned(),
            )),
            None => builder.body(email.text.to_owned()),
        }
        .map_err(|e| MailError(format!("message not built: {e}")))?;
        // lettre's errors name the server's reply, never the credentials.
        self.transport
            .send(&message)
            .map(|_| ())
            .map_err(|e| MailError(e.to_string()))
    }
}
