//! Payments: started with a processor, settled exactly once (by the create call, a webhook or a
//! lookup, whichever comes first), crediting the ledger and publishing the outcome in one transaction.

use gpuproxy_domain::{UserId, now_ms};
use gpuproxy_events::{Event, names};
use gpuproxy_proto::gpuproxy::events::v1 as events;

use crate::error::Error;
use crate::method::{PaymentMethod, ProviderKind};
use crate::processor::{Charge, Outcome, ProcessorError};
use crate::repo::payments::{self as repo, PaymentRow};
use crate::repo::webhooks;
use crate::service::{Billing, new_id};

/// Stripe's smallest charge (A1), applied to every processor.
pub(crate) const MIN_PAYMENT_MICROS: i64 = 500_000;
/// The largest payment accepted.
const MAX_PAYMENT_MICROS: i64 = 1_000_000_000_000;

/// A payment to start.
#[derive(Debug, Clone)]
pub struct NewPayment {
    /// Who pays.
    pub user_id: UserId,
    /// How much, in whole cents.
    pub amount_micros: i64,
    /// `usd` (credits are dollars).
    pub currency: String,
    /// `stripe`, `crypto`, `afterdark`.
    pub provider: String,
    /// `card:pm_…`, `crypto:network:wallet`, or empty for AfterDark.
    pub payment_method: String,
    /// One payment per key; empty makes a fresh one.
    pub idempotency_key: String,
}

/// Why a payment is made.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Purpose {
    /// The user asked for it.
    Payment,
    /// Auto-renewal started it when the balance fell below the low-credit threshold.
    Renewal,
}

impl Purpose {
    /// The stored name, also the kind of the credit entry a settled payment writes.
    pub const fn as_str(self) -> &'static str {
        match self {
            Purpose::Payment => "payment",
            Purpose::Renewal => "renewal",
        }
    }
}

/// What a webhook did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Applied {
    /// The payment completed now and its credits were added.
    Settled,
    /// The payment failed now.
    Failed,
    /// It is still pending; details were recorded.
    StillPending,
    /// Somebody got there first, or the event was seen before: nothing changed.
    Unchanged,
}

impl Applied {
    /// The wire name.
    pub const fn as_str(self) -> &'static str {
        match self {
            Applied::Settled => "settled",
            Applied::Failed => "failed",
            Applied::StillPending => "pending",
            Applied::Unchanged => "duplicate",
        }
    }
}

impl Billing {
    /// Starts a payment, or returns the one already made with this idempotency key (charging again
    /// only when the first attempt never got an answer, with the same processor idempotency key).
    /// A declined payment answers `PAYMENT_DECLINED` every time its key is used.
    pub async fn create_payment(&self, request: NewPayment) -> Result<PaymentRow, Error> {
        self.start_payment(request, Purpose::Payment).await
    }

    /// [`Billing::create_payment`] for `purpose`: a renewal is charged off-session (the user is
    /// not there to confirm it) and credited as a renewal.
    pub(crate) async fn start_payment(
        &self,
        request: NewPayment,
        purpose: Purpose,
    ) -> Result<PaymentRow, Error> {
        if gpuproxy_domain::contains_card_number(&request.payment_method)
            || gpuproxy_domain::contains_card_number(&request.idempotency_key)
        {
            return Err(Error::RawCard);
        }
        let provider = ProviderKind::parse(&request.provider)?;
        let method = PaymentMethod::parse(provider, &request.payment_method)?;
        let currency = request.currency.trim().to_ascii_lowercase();
        if currency != "usd" {
            return Err(Error::invalid(
                "currency",
                "must be USD: credits are kept in dollars",
            ));
        }
        let amount = request.amount_micros;
        if !(MIN_PAYMENT_MICROS..=MAX_PAYMENT_MICROS).contains(&amount) || amount % 10_000 != 0 {
            return Err(Error::invalid(
                "amount",
                "must be whole cents between $0.50 and $1000000",
            ));
        }
        let processor = self.processor(provider)?.clone();
        let user_id = request.user_id;
        let key = if request.idempotency_key.trim().is_empty() {
            new_id()
        } else {
            request.idempotency_key.trim().to_owned()
        };
        if key.len() > 255 {
            return Err(Error::invalid(
                "idempotency_key",
                "must be at most 255 characters",
            ));
        }
        let fingerprint = format!("{}|{amount}|{currency}|{}", provider.as_str(), method.stored());
        let payment = match repo::find_by_key(self.database().pool(), user_id, &key).await? {
            Some(existing) => existing,
            None => {
                let row = PaymentRow {
                    id: new_id(),
                    user_id,
                    provider: provider.as_str().to_owned(),
                    amount_micros: amount,
                    currency: currency.clone(),
                    payment_method: method.stored(),
                    status: "pending".to_owned(),
                    provider_reference: None,
                    pay_to: None,
                    pay_amount: None,
                    pay_currency: None,
                    failure_reason: None,
                    idempotency_key: key.clone(),
                    fingerprint: fingerprint.clone(),
                    created_at: now_ms(),
                    settled_at: None,
                    purpose: purpose.as_str().to_owned(),
                };
                match repo::insert(self.database().pool(), &row).await {
                    Ok(()) => row,
                    Err(error) if gpuproxy_db::is_unique_violation(&error) => {
                        repo::find_by_key(self.database().pool(), user_id, &key)
                            .await?
                            .ok_or_else(|| {
                                Error::Internal(anyhow::anyhow!(
                                    "payment key {key} collided but is not stored"
                                ))
                            })?
                    }
                    Err(error) => return Err(error.into()),
                }
            }
        };
        if payment.fingerprint != fingerprint {
            return Err(Error::IdempotencyConflict);
        }
        // A pending payment with a processor reference is in the processor's hands; without one,
        // the first attempt never got an answer, and asking again under the same key is safe.
        if payment.status != "pending" || payment.provider_reference.is_some() {
            return answer(payment);
        }
        let charge = Charge {
            payment_id: &payment.id,
            user_id: payment.user_id,
            amount_cents: amount / 10_000,
            currency: &currency,
            method: &method,
            callback_url: self.crypto_callback_url(),
            off_session: purpose == Purpose::Renewal,
        };
        match processor.charge(charge).await {
            Ok(outcome) => {
                self.apply(&payment, &outcome, None).await?;
            }
            Err(ProcessorError::Unreachable(reason)) => {
                return Err(Error::Processor(format!(
                    "{reason}; the payment {} may or may not have gone through: retry with the same Idempotency-Key",
                    payment.id
                )));
            }
            Err(ProcessorError::Refused(reason)) => {
                let refused = Outcome::Declined {
                    reference: None,
                    reason: reason.clone(),
                };
                self.apply(&payment, &refused, None).await?;
            }
        }
        let payment = repo::find(self.database().pool(), &payment.id)
            .await?
            .ok_or_else(|| Error::Internal(anyhow::anyhow!("payment {} vanished", payment.id)))?;
        answer(payment)
    }

    /// Returns a page of the user's payments, newest first, with their number.
    pub async fn transactions(
        &self,
        user_id: UserId,
        limit: i64,
        offset: i64,
    ) -> Result<(Vec<PaymentRow>, i64), Error> {
        if !(0..=1000).contains(&limit) || offset < 0 {
            return Err(Error::invalid(
                "limit",
                "must be 0–1000 (0 = 50), with a non-negative offset",
            ));
        }
        let limit = if limit == 0 { 50 } else { limit };
        let rows = repo::list(self.database().pool(), user_id, limit, offset).await?;
        let count = repo::count(self.database().pool(), user_id).await?;
        Ok((rows, count))
    }

    /// Looks up payments still pending after `older_than_ms` at their processor and settles them:
    /// a lost webhook delays a payment, never loses it. Returns how many changed.
    pub async fn settle_pending(&self, older_than_ms: i64) -> Result<usize, Error> {
        let pending = repo::pending_before(self.database().pool(), now_ms() - older_than_ms, 100).await?;
        let mut changed = 0;
        for payment in pending {
            let (Ok(provider), Some(reference)) = (
                ProviderKind::parse(&payment.provider),
                &payment.provider_reference,
            ) else {
                continue;
            };
            let Ok(processor) = self.processor(provider) else {
                continue;
            };
            match processor.lookup(reference).await {
                Ok(outcome) => {
                    if matches!(
                        self.apply(&payment, &outcome, None).await?,
                        Applied::Settled | Applied::Failed
                    ) {
                        changed += 1;
                    }
                }
                Err(error) => {
                    tracing::debug!(payment_id = %payment.id, %error, "looking a pending payment up failed")
                }
            }
        }
        Ok(changed)
    }

    /// Applies the processor's outcome to a payment in one transaction: the status change, the
    /// credit entry and the event, plus the webhook event id when a webhook brought it (so a replay
    /// changes nothing).
    pub(crate) async fn apply(
        &self,
        payment: &PaymentRow,
        outcome: &Outcome,
        webhook: Option<(&str, &str)>,
    ) -> Result<Applied, Error> {
        let now = now_ms();
        let mut transaction = self.database().pool().begin().await?;
        if let Some((provider, event_id)) = webhook {
            match webhooks::insert(&mut *transaction, provider, event_id, now).await {
                Ok(()) => {}
                Err(error) if gpuproxy_db::is_unique_violation(&error) => return Ok(Applied::Unchanged),
                Err(error) => return Err(error.into()),
            }
        }
        let mut events = Vec::new();
        let applied = match outcome {
            Outcome::Settled {
                reference,
                received_micros,
            } => {
                if repo::finish(
                    &mut *transaction,
                    &payment.id,
                    "completed",
                    Some(reference),
                    None,
                    now,
                )
                .await?
                {
                    let renewal = payment.purpose == Purpose::Renewal.as_str();
                    let (kind, description) = if renewal {
                        (Purpose::Renewal, format!("{} auto-renewal", payment.provider))
                    } else {
                        (Purpose::Payment, format!("{} payment", payment.provider))
                    };
                    let (account, _) = self
                        .append(
                            &mut transaction,
                            payment.user_id,
                            kind.as_str(),
                            *received_micros,
                            false,
                            &payment.id,
                            &description,
                            Some(&format!("payment:{}", payment.id)),
                        )
                        .await?;
                    events.push(event(
                        names::PAYMENT_COMPLETED,
                        &events::PaymentCompleted {
                            user_id: payment.user_id.to_string(),
                            payment_id: payment.id.clone(),
                            provider: payment.provider.clone(),
                            amount_micros: *received_micros,
                            currency: payment.currency.clone(),
                            provider_reference: reference.clone(),
                            balance_micros: account.balance_micros,
                        },
                    )?);
                    if renewal {
                        events.push(event(
                            names::SUBSCRIPTION_RENEWED,
                            &events::SubscriptionRenewed {
                                user_id: payment.user_id.to_string(),
                                payment_id: payment.id.clone(),
                                provider: payment.provider.clone(),
                                amount_micros: *received_micros,
                                currency: payment.currency.clone(),
                                balance_micros: account.balance_micros,
                            },
                        )?);
                    }
                    Applied::Settled
                } else {
                    Applied::Unchanged
                }
            }
            Outcome::Declined { reference, reason } => {
                let reason: String = reason.chars().take(500).collect();
                if repo::finish(
                    &mut *transaction,
                    &payment.id,
                    "failed",
                    reference.as_deref(),
                    Some(&reason),
                    now,
                )
                .await?
                {
                    events.push(event(
                        names::PAYMENT_FAILED,
                        &events::PaymentFailed {
                            user_id: payment.user_id.to_string(),
                            payment_id: payment.id.clone(),
                            provider: payment.provider.clone(),
                            amount_micros: payment.amount_micros,
                            currency: payment.currency.clone(),
                            reason,
                        },
                    )?);
                    Applied::Failed
                } else {
                    Applied::Unchanged
                }
            }
            Outcome::Pending {
                reference,
                pay_to,
                pay_amount,
                pay_currency,
            } => {
                repo::set_pending_details(
                    &mut *transaction,
                    &payment.id,
                    reference,
                    pay_to,
                    pay_amount,
                    pay_currency,
                )
                .await?;
                Applied::StillPending
            }
        };
        self.outbox().commit(transaction, &events).await?;
        Ok(applied)
    }
}

/// A failed payment answers as the decline it was.
fn answer(payment: PaymentRow) -> Result<PaymentRow, Error> {
    if payment.status == "failed" {
        return Err(Error::Declined {
            payment_id: payment.id,
            reason: payment.failure_reason.unwrap_or_else(|| "declined".to_owned()),
        });
    }
    Ok(payment)
}

fn event(name: &str, data: &impl serde::Serialize) -> Result<Event, Error> {
    Event::new(name, data).map_err(|error| Error::Internal(error.into()))
}
