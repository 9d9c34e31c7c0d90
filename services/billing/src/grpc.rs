//! The internal gRPC API: converts messages to use-case calls and back.

use gpuproxy_domain::UserId;
use gpuproxy_proto::gpuproxy::billing::v1 as pb;
use gpuproxy_proto::gpuproxy::billing::v1::billing_service_server::BillingService;
use tonic::{Request, Response, Status};

use crate::error::Error;
use crate::ledger::{NewUsage, cap_reached};
use crate::payments::NewPayment;
use crate::repo::ledger::{AccountRow, EntryRow};
use crate::repo::payments::PaymentRow;
use crate::repo::usage::UsageRow;
use crate::service::Billing;

/// The gRPC face of [`Billing`].
#[derive(Debug, Clone)]
pub struct GrpcBilling {
    billing: Billing,
}

impl GrpcBilling {
    /// Wraps `billing`.
    pub fn new(billing: Billing) -> Self {
        GrpcBilling { billing }
    }
}

#[tonic::async_trait]
impl BillingService for GrpcBilling {
    async fn create_payment(
        &self,
        request: Request<pb::CreatePaymentRequest>,
    ) -> Result<Response<pb::Payment>, Status> {
        let request = request.into_inner();
        let payment = self
            .billing
            .create_payment(NewPayment {
                user_id: user(&request.user_id)?,
                amount_micros: request.amount_micros,
                currency: request.currency,
                provider: request.provider,
                payment_method: request.payment_method,
                idempotency_key: request.idempotency_key,
            })
            .await?;
        Ok(Response::new(payment_message(payment)))
    }

    async fn get_transactions(
        &self,
        request: Request<pb::GetTransactionsRequest>,
    ) -> Result<Response<pb::GetTransactionsResponse>, Status> {
        let request = request.into_inner();
        let (rows, count) = self
            .billing
            .transactions(
                user(&request.user_id)?,
                i64::from(request.limit),
                i64::from(request.offset),
            )
            .await?;
        Ok(Response::new(pb::GetTransactionsResponse {
            transactions: rows.into_iter().map(transaction_message).collect(),
            total_count: i32::try_from(count).unwrap_or(i32::MAX),
        }))
    }

    async fn get_credits(
        &self,
        request: Request<pb::GetCreditsRequest>,
    ) -> Result<Response<pb::Credits>, Status> {
        let account = self.billing.credits(user(&request.get_ref().user_id)?).await?;
        Ok(Response::new(credits_message(&account)))
    }

    async fn add_credits(
        &self,
        request: Request<pb::AddCreditsRequest>,
    ) -> Result<Response<pb::Credits>, Status> {
        let request = request.into_inner();
        let key = Some(request.idempotency_key.as_str()).filter(|key| !key.trim().is_empty());
        let account = self
            .billing
            .add_credits(
                user(&request.user_id)?,
                request.amount_micros,
                &request.reason,
                key,
            )
            .await?;
        Ok(Response::new(credits_message(&account)))
    }

    async fn set_credit_settings(
        &self,
        request: Request<pb::SetCreditSettingsRequest>,
    ) -> Result<Response<pb::Credits>, Status> {
        let request = request.into_inner();
        let account = self
            .billing
            .set_settings(
                user(&request.user_id)?,
                request.credits_cap_micros,
                request.credits_auto_renew,
                request.auto_renew_amount_micros,
            )
            .await?;
        Ok(Response::new(credits_message(&account)))
    }

    async fn check_credits(
        &self,
        request: Request<pb::CheckCreditsRequest>,
    ) -> Result<Response<pb::CheckCreditsResponse>, Status> {
        let request = request.into_inner();
        let (allowed, account) = self
            .billing
            .check_credits(user(&request.user_id)?, request.amount_micros)
            .await?;
        Ok(Response::new(pb::CheckCreditsResponse {
            allowed,
            credits: Some(credits_message(&account)),
        }))
    }

    async fn record_usage(
        &self,
        request: Request<pb::RecordUsageRequest>,
    ) -> Result<Response<pb::RecordUsageResponse>, Status> {
        let request = request.into_inner();
        let recorded = self
            .billing
            .record_usage(NewUsage {
                user_id: user(&request.user_id)?,
                kind: if request.kind.is_empty() {
                    "request".to_owned()
                } else {
                    request.kind
                },
                cost_micros: request.cost_micros,
                client_id: request.client_id,
                client_ip: request.client_ip,
                instance_id: request.instance_id,
                started_at_ms: request.started_at_ms,
                duration_ms: request.duration_ms,
                description: request.description,
                idempotency_key: request.idempotency_key,
                enforce_cap: request.enforce_cap,
                hold_id: request.hold_id,
            })
            .await?;
        Ok(Response::new(pb::RecordUsageResponse {
            cap_reached: cap_reached(&recorded.account),
            credits: Some(credits_message(&recorded.account)),
            usage: Some(usage_message(recorded.usage)),
            replayed: recorded.replayed,
            hold_consumed_micros: recorded.hold_consumed,
        }))
    }

    async fn hold_credits(
        &self,
        request: Request<pb::HoldCreditsRequest>,
    ) -> Result<Response<pb::HoldCreditsResponse>, Status> {
        let request = request.into_inner();
        let (allowed, account) = self
            .billing
            .hold(
                user(&request.user_id)?,
                &request.hold_id,
                request.amount_micros,
                request.ttl_ms,
            )
            .await?;
        Ok(Response::new(pb::HoldCreditsResponse {
            allowed,
            credits: Some(credits_message(&account)),
        }))
    }

    async fn release_hold(
        &self,
        request: Request<pb::ReleaseHoldRequest>,
    ) -> Result<Response<pb::ReleaseHoldResponse>, Status> {
        let request = request.into_inner();
        let (released, account) = self
            .billing
            .release_hold(user(&request.user_id)?, &request.hold_id, request.amount_micros)
            .await?;
        Ok(Response::new(pb::ReleaseHoldResponse {
            released_micros: released,
            credits: Some(credits_message(&account)),
        }))
    }

    async fn list_usage(
        &self,
        request: Request<pb::ListUsageRequest>,
    ) -> Result<Response<pb::ListUsageResponse>, Status> {
        let request = request.into_inner();
        let (rows, count, total) = self
            .billing
            .list_usage(
                user(&request.user_id)?,
                i64::from(request.limit),
                i64::from(request.offset),
            )
            .await?;
        Ok(Response::new(pb::ListUsageResponse {
            usage: rows.into_iter().map(usage_message).collect(),
            total_count: i32::try_from(count).unwrap_or(i32::MAX),
            total_cost_micros: total,
        }))
    }

    async fn list_credit_entries(
        &self,
        request: Request<pb::ListCreditEntriesRequest>,
    ) -> Result<Response<pb::ListCreditEntriesResponse>, Status> {
        let request = request.into_inner();
        let (rows, count) = self
            .billing
            .list_entries(
                user(&request.user_id)?,
                i64::from(request.limit),
                i64::from(request.offset),
            )
            .await?;
        Ok(Response::new(pb::ListCreditEntriesResponse {
            entries: rows.into_iter().map(entry_message).collect(),
            total_count: i32::try_from(count).unwrap_or(i32::MAX),
        }))
    }

    async fn handle_webhook(
        &self,
        request: Request<pb::HandleWebhookRequest>,
    ) -> Result<Response<pb::HandleWebhookResponse>, Status> {
        let request = request.into_inner();
        let (applied, payment_id) = self
            .billing
            .handle_webhook(&request.provider, &request.signature, &request.body)
            .await?;
        Ok(Response::new(pb::HandleWebhookResponse {
            outcome: applied.as_str().to_owned(),
            payment_id: payment_id.unwrap_or_default(),
        }))
    }
}

/// The API view of an account.
pub fn credits_message(account: &AccountRow) -> pb::Credits {
    pb::Credits {
        user_id: account.user_id.to_string(),
        credits_remaining_micros: account.balance_micros.max(0),
        credits_total_micros: account.credited_micros,
        credits_overage_micros: (-account.balance_micros).max(0),
        credits_cap_micros: account.cap_micros,
        credits_auto_renew: account.auto_renew != 0,
        balance_micros: account.balance_micros,
        auto_renew_amount_micros: account.auto_renew_amount_micros,
        held_micros: account.held_micros,
    }
}

fn user(text: &str) -> Result<UserId, Error> {
    Ok(text.parse()?)
}

fn payment_message(payment: PaymentRow) -> pb::Payment {
    pb::Payment {
        payment_id: payment.id,
        status: payment.status,
        amount_micros: payment.amount_micros,
        currency: payment.currency,
        provider: payment.provider,
        pay_to: payment.pay_to.unwrap_or_default(),
        provider_reference: payment.provider_reference.unwrap_or_default(),
        failure_reason: payment.failure_reason.unwrap_or_default(),
        created_at_ms: payment.created_at,
        pay_amount: payment.pay_amount.unwrap_or_default(),
        pay_currency: payment.pay_currency.unwrap_or_default(),
    }
}

fn transaction_message(payment: PaymentRow) -> pb::Transaction {
    let description = match payment.failure_reason.as_deref() {
        Some(reason) => format!("{} payment: {reason}", payment.provider),
        None => format!("{} payment", payment.provider),
    };
    pb::Transaction {
        transaction_id: payment.id,
        r#type: "payment".to_owned(),
        amount_micros: payment.amount_micros,
        currency: payment.currency,
        created_at_ms: payment.created_at,
        status: payment.status,
        description,
        provider: payment.provider,
        provider_reference: payment.provider_reference.unwrap_or_default(),
    }
}

fn usage_message(usage: UsageRow) -> pb::UsageRecord {
    pb::UsageRecord {
        usage_id: usage.id,
        user_id: usage.user_id.to_string(),
        kind: usage.kind,
        client_id: usage.client_id,
        client_ip: usage.client_ip,
        instance_id: usage.instance_id,
        started_at_ms: usage.started_at,
        duration_ms: usage.duration_ms,
        cost_micros: usage.cost_micros,
        description: usage.description,
        created_at_ms: usage.created_at,
    }
}

fn entry_message(entry: EntryRow) -> pb::CreditEntry {
    pb::CreditEntry {
        entry_id: entry.id,
        kind: entry.kind,
        amount_micros: entry.amount_micros,
        balance_after_micros: entry.balance_after_micros,
        reference: entry.reference,
        description: entry.description,
        created_at_ms: entry.created_at,
    }
}
