//! Webhooks out: receivers per project, and deliveries (an outbox written with the
//! incident) sent signed, retried with backoff.

use crate::action::Action;
use crate::audit::AuditRecord;
use crate::auth::{self, Operation, Scope};
use crate::error::{Error, Result};
use crate::incident::{AttemptOutcome, Delivery, NewWebhook, Webhook, WebhookFormat};
use crate::project::validate_name;
use crate::secret::Secret;
use crate::service::{RequestContext, Riskops, rfc3339};
use serde_json::{Value, json};

/// Deliveries attempted per pass.
const DELIVERIES_PER_PASS: usize = 50;

/// Attempts before a delivery is given up.
pub const MAX_ATTEMPTS: u32 = 10;

/// The longest wait between two attempts.
const MAX_BACKOFF: i64 = 3600;

/// Sends one webhook request; the server implements it over HTTP.
#[async_trait::async_trait]
pub trait WebhookTransport: Send + Sync {
    /// POSTs `body` with `headers`; the response status, or why there was none.
    async fn post(&self, url: &str, headers: &[(String, String)], body: Vec<u8>) -> std::result::Result<u16, String>;
}

impl Riskops {
    /// Adds a webhook to a project (admin, risk_officer). The secret is kept to sign
    /// payloads and never shown again.
    pub async fn add_webhook(
        &self,
        ctx: &RequestContext,
        project: &str,
        url: &str,
        secret: Secret<String>,
        format: WebhookFormat,
    ) -> Result<Webhook> {
        validate_name("project", project)?;
        let permit = auth::authorize(&ctx.principal, Operation::WebhookEdit, Scope::Project(project))?;
        self.store.project(project).await?.ok_or_else(|| Error::not_found(format!("no project {project:?}")))?;
        validate_url(url)?;
        self.check_receiver(url)?;
        if secret.expose().len() < 16 || secret.expose().len() > 512 {
            return Err(Error::invalid("secret", "must be 16 to 512 bytes (a random string of 32 or more is best)"));
        }
        // Audited by host only: a receiver's path or query may be its credential.
        let shown = crate::incident::shown_url(url);
        let audit = AuditRecord::new(&permit, Action::WebhookAdd, format!("project:{project}"))
            .after(json!({"url": shown, "format": format.as_str()}))
            .request_id(ctx.request_id.clone());
        let new = NewWebhook { project: project.to_string(), url: url.to_string(), secret, format };
        self.store.add_webhook(new, audit, self.clock.now()).await
    }

    pub async fn webhooks(&self, ctx: &RequestContext, project: &str) -> Result<Vec<Webhook>> {
        validate_name("project", project)?;
        auth::authorize(&ctx.principal, Operation::RegistryRead, Scope::Project(project))?;
        self.store.webhooks(project).await
    }

    pub async fn remove_webhook(&self, ctx: &RequestContext, project: &str, id: i64) -> Result<()> {
        validate_name("project", project)?;
        let permit = auth::authorize(&ctx.principal, Operation::WebhookEdit, Scope::Project(project))?;
        match self.store.webhook(id).await? {
            Some(w) if w.project == project => {}
            _ => return Err(Error::not_found(format!("project {project} has no webhook {id}"))),
        }
        let audit = AuditRecord::new(&permit, Action::WebhookRemove, format!("webhook:{id}"))
            .request_id(ctx.request_id.clone());
        self.store.remove_webhook(id, audit, self.clock.now()).await
    }

    pub async fn deliveries(
        &self,
        ctx: &RequestContext,
        project: &str,
        webhook: Option<i64>,
        limit: usize,
    ) -> Result<Vec<Delivery>> {
        validate_name("project", project)?;
        auth::authorize(&ctx.principal, Operation::RegistryRead, Scope::Project(project))?;
        self.store.deliveries(project, webhook, limit.clamp(1, 1000)).await
    }

    /// One pass of webhook deliveries: each due one is sent, signed, once; failures wait
    /// `2^attempts` seconds (at most an hour) and give up after [`MAX_ATTEMPTS`].
    pub async fn deliver_webhooks(&self, transport: &dyn WebhookTransport) -> Result<usize> {
        let now = self.clock.now().unix_timestamp();
        let due = self.store.due_deliveries(now, DELIVERIES_PER_PASS).await?;
        let mut delivered = 0;
        for d in due {
            // Claimed for a minute (longer than an attempt can take), so another server
            // polling the same store does not send it too.
            let lease = self.clock.now().unix_timestamp() + 60;
            if !self.store.claim_delivery(d.id, d.next_attempt_at, lease).await? {
                continue;
            }
            let outcome = self.attempt(transport, &d).await;
            if matches!(outcome, AttemptOutcome::Delivered { .. }) {
                delivered += 1;
            }
            self.store.record_attempt(d.id, &outcome, self.clock.now()).await?;
        }
        Ok(delivered)
    }

    async fn attempt(&self, transport: &dyn WebhookTransport, d: &Delivery) -> AttemptOutcome {
        let gave_up = |error: &str| AttemptOutcome::Failed { status: None, error: error.to_string(), retry_at: None };
        let (webhook, incident) = match (self.store.webhook(d.webhook_id).await, self.incident_at_event(d).await) {
            (Ok(Some(w)), Ok(Some(i))) => (w, i),
            (Ok(None), _) => return gave_up("webhook removed"),
            (_, Ok(None)) => return gave_up("incident missing"),
            (Err(e), _) | (_, Err(e)) => {
                return AttemptOutcome::Failed { status: None, error: e.to_string(), retry_at: Some(self.retry_at(d)) };
            }
        };
        let now = self.clock.now();
        let body = payload(webhook.format, &d.event, d.id, &incident, now);
        let timestamp = now.unix_timestamp().to_string();
        let headers = vec![
            ("content-type".to_string(), "application/json".to_string()),
            ("x-riskops-event".to_string(), d.event.clone()),
            ("x-riskops-delivery".to_string(), d.id.to_string()),
            ("x-riskops-timestamp".to_string(), timestamp.clone()),
            ("x-riskops-signature".to_string(), signature(webhook.secret.expose(), &timestamp, &body)),
        ];
        match transport.post(&webhook.url, &headers, body).await {
            Ok(status) if (200..300).contains(&status) => AttemptOutcome::Delivered { status },
            Ok(status) => self.failed(d, Some(status), format!("the receiver answered {status}")),
            Err(error) => self.failed(d, None, error),
        }
    }

    /// The incident a delivery tells of, as it was when its event happened (kept with the
    /// delivery when it was queued). Deliveries queued before riskops kept that fall back
    /// to the incident as it is now.
    async fn incident_at_event(&self, d: &Delivery) -> Result<Option<Value>> {
        if let Some(snapshot) = &d.incident {
            return Ok(Some(snapshot.clone()));
        }
        Ok(self.store.incident(d.incident_id).await?.map(|i| i.to_json()))
    }

    fn failed(&self, d: &Delivery, status: Option<u16>, error: String) -> AttemptOutcome {
        let retry_at = (d.attempts + 1 < MAX_ATTEMPTS).then(|| self.retry_at(d));
        AttemptOutcome::Failed { status, error, retry_at }
    }

    fn retry_at(&self, d: &Delivery) -> i64 {
        self.clock.now().unix_timestamp() + (1i64 << d.attempts.min(20)).min(MAX_BACKOFF)
    }

    /// Refuses a receiver that is internal without asking a resolver (an address literal,
    /// `localhost`) unless the server allows it; names are checked again at every delivery.
    fn check_receiver(&self, url: &str) -> Result<()> {
        let after_scheme = url.split_once("://").map_or(url, |(_, rest)| rest);
        let authority = after_scheme.split(['/', '?', '#']).next().unwrap_or_default();
        let (host, port) = match authority.rsplit_once(':') {
            Some((h, p)) if !p.contains(']') => (h, p.parse().unwrap_or(0)),
            _ => (authority, if url.starts_with("https://") { 443 } else { 80 }),
        };
        if crate::webhook_guard::literal_internal(host)
            && !crate::webhook_guard::allowed(&self.webhook_allow_hosts, host, port)
        {
            return Err(Error::invalid(
                "url",
                format!(
                    "{host} is a loopback, private or link-local address; webhooks are not sent there unless the server allows it (riskops serve --webhook-allow-host {authority})"
                ),
            ));
        }
        Ok(())
    }
}

/// `sha256=<hex HMAC-SHA256 with the secret over "<timestamp>.<body>">`.
pub fn signature(secret: &str, timestamp: &str, body: &[u8]) -> String {
    let key = ring::hmac::Key::new(ring::hmac::HMAC_SHA256, secret.as_bytes());
    let mut ctx = ring::hmac::Context::with_key(&key);
    ctx.update(timestamp.as_bytes());
    ctx.update(b".");
    ctx.update(body);
    format!("sha256={}", crate::encode::hex(ctx.sign().as_ref()))
}

/// The body of a delivery: riskops' JSON, or Slack's incoming-webhook shape. `incident` is
/// the incident's JSON as it was when the event happened.
pub(super) fn payload(
    format: WebhookFormat,
    event: &str,
    delivery: i64,
    incident: &Value,
    now: time::OffsetDateTime,
) -> Vec<u8> {
    let body = match format {
        WebhookFormat::Json => json!({
            "event": event,
            "delivery": delivery,
            "sent_at": rfc3339(now),
            "incident": incident,
        }),
        WebhookFormat::Slack => {
            let verb = event.strip_prefix("incident.").unwrap_or(event);
            let field = |k: &str| match &incident[k] {
                Value::String(s) => s.clone(),
                other => other.to_string(),
            };
            let mut text = format!(
                "*[{}] incident {} {verb}*: {}\nproject `{}`, since {}, {} window(s)",
                field("severity").to_uppercase(),
                field("id"),
                field("title"),
                field("project"),
                field("first_window"),
                field("windows"),
            );
            if let Some(reason) = incident.pointer("/advice/reason").and_then(Value::as_str) {
                text.push_str(&format!("\nAdvice: {reason}"));
            }
            json!({
                "text": text,
                "blocks": [{"type": "section", "text": {"type": "mrkdwn", "text": text}}],
            })
        }
    };
    body.to_string().into_bytes()
}

/// A webhook URL must be absolute http(s), without credentials.
pub(super) fn validate_url(url: &str) -> Result<()> {
    let rest = url
        .strip_prefix("https://")
        .or_else(|| url.strip_prefix("http://"))
        .ok_or_else(|| Error::invalid("url", "must start with http:// or https://"))?;
    let host = rest.split(['/', '?', '#']).next().unwrap_or_default();
    if host.is_empty() || url.len() > 2000 || url.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(Error::invalid("url", format!("{url:?} is not a URL")));
    }
    if host.contains('@') {
        return Err(Error::invalid("url", "must not carry credentials; the secret signs each payload"));
    }
    Ok(())
}
