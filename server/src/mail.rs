//! Weekly reports by email: the PDF to a configured list over SMTP (lettre), when `smtp_url` is
//! set. `smtp://HOST:PORT` speaks plain SMTP (a relay on the same host or network);
//! `smtp://HOST:PORT?tls=required` upgrades with STARTTLS, `smtps://HOST` is TLS from the first
//! byte (rustls, webpki roots); a user and password in the URL authenticate. The URL is a secret:
//! it never appears in logs or `tradewatch config`.
use std::time::Duration;

use anyhow::{Context, Result};
use lettre::message::header::ContentType;
use lettre::message::{Attachment, Mailbox, MultiPart, SinglePart};
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use secrecy::{ExposeSecret, SecretString};

/// How long one delivery may take (connect, TLS, send) before it counts as failed.
pub const TIMEOUT: Duration = Duration::from_secs(20);

/// Sends the weekly report PDFs.
pub struct Mailer {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    from: Mailbox,
    to: Vec<Mailbox>,
}

impl Mailer {
    /// A mailer for `url` from `from` to `to` (at least one address). Errors name the setting,
    /// never the URL (it may hold a password).
    pub fn new(url: &SecretString, from: &str, to: &[String]) -> Result<Self> {
        Self::for_list(url, from, to, "report_recipients")
    }

    /// The same, for the list named `setting` (named in errors).
    pub fn for_list(url: &SecretString, from: &str, to: &[String], setting: &str) -> Result<Self> {
        let transport = AsyncSmtpTransport::<Tokio1Executor>::from_url(url.expose_secret())
            .map_err(|_| anyhow::anyhow!("smtp_url: not an SMTP URL (smtp://HOST:PORT, smtp://HOST:PORT?tls=required or smtps://HOST)"))?
            .timeout(Some(TIMEOUT))
            .build();
        let from: Mailbox = from.parse().with_context(|| format!("smtp_from: '{from}' is not an email address"))?;
        let to = to.iter().map(|a| a.parse::<Mailbox>().with_context(|| format!("{setting}: '{a}' is not an email address"))).collect::<Result<Vec<_>>>()?;
        anyhow::ensure!(!to.is_empty(), "{setting}: at least one address when smtp_url is set");
        Ok(Self { transport, from, to })
    }

    /// A plain-text message to the list (an alert).
    pub async fn send_text(&self, subject: &str, body: &str) -> Result<()> {
        let mut builder = Message::builder().from(self.from.clone()).subject(subject);
        for to in &self.to {
            builder = builder.to(to.clone());
        }
        let message = builder.singlepart(SinglePart::plain(body.to_string())).context("building the message")?;
        self.transport.send(message).await.context("sending over SMTP")?;
        Ok(())
    }

    /// How many addresses each report goes to.
    pub fn recipients(&self) -> usize {
        self.to.len()
    }

    /// Sends `week`'s PDF, with its SHA-256 and the event that recorded it in the body.
    pub async fn send_report(&self, fund: &str, week: &str, pdf: Vec<u8>, sha256: &str, published_seq: u64) -> Result<()> {
        let mut builder = Message::builder().from(self.from.clone()).subject(format!("{fund}: weekly report {week}"));
        for to in &self.to {
            builder = builder.to(to.clone());
        }
        let body = format!(
            "The weekly research report of {fund} for {week} is attached (PDF).\n\n\
             SHA-256 of the file: {sha256}\n\
             Recorded in the audit log as event #{published_seq} (report_published); a signed checkpoint that covers it is listed on the console's /reports page.\n"
        );
        let message = builder
            .multipart(
                MultiPart::mixed()
                    .singlepart(SinglePart::plain(body))
                    .singlepart(Attachment::new(format!("tradewatch-report-{week}.pdf")).body(pdf, ContentType::parse("application/pdf").context("the PDF content type")?)),
            )
            .context("building the message")?;
        self.transport.send(message).await.context("sending over SMTP")?;
        Ok(())
    }
}
