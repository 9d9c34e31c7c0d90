//! `PROXY_REQUEST_COST`: a price per proxied request, paid before the request goes out. The guard
//! rails reserve it first (atomically against every window), then billing debits it with the cap
//! enforced in the same statement; either refusal is a 402 and nothing is sent. A request billing
//! refuses gives its guard-rail reservation back, since nothing was spent; one whose debit has an
//! unknown outcome (a timeout) stays counted: the guard rails err towards stopping spending, never
//! towards letting it through.

use gpuproxy_proto::gpuproxy::{billing::v1 as billing, guardrails::v1 as guardrails};

use crate::{AppState, Error};

impl AppState {
    /// Charges `user_id` for one proxied request; does nothing when requests are free.
    pub async fn charge_request(&self, user_id: &str, what: &str) -> Result<(), Error> {
        let cost = self.proxy.config.request_cost_micros;
        if cost == 0 {
            return Ok(());
        }
        // Boxed: two gRPC calls' state would otherwise enlarge every proxied request's future,
        // priced or not.
        Box::pin(self.charge(user_id, what, cost)).await
    }

    async fn charge(&self, user_id: &str, what: &str, cost: i64) -> Result<(), Error> {
        let key = format!("request:{}", uuid::Uuid::now_v7());
        let reserved = self
            .call(
                self.guardrails
                    .clone()
                    .reserve_spend(guardrails::ReserveSpendRequest {
                        user_id: user_id.to_owned(),
                        amount_micros: cost,
                        idempotency_key: key.clone(),
                    }),
            )
            .await?;
        if !reserved.allowed {
            return Err(Error::new(
                gpuproxy_errors::ErrorCode::SpendingLimitExceeded,
                format!(
                    "this request's ${:.6} would pass a guard-rail limit: {}",
                    crate::money::dollars(cost),
                    reserved.reason
                ),
            ));
        }
        let debited = self
            .call(self.billing.clone().record_usage(billing::RecordUsageRequest {
                user_id: user_id.to_owned(),
                cost_micros: cost,
                client_id: user_id.to_owned(),
                started_at_ms: chrono::Utc::now().timestamp_millis(),
                description: what.to_owned(),
                idempotency_key: key.clone(),
                kind: "request".to_owned(),
                enforce_cap: true,
                ..Default::default()
            }))
            .await;
        match debited {
            Ok(_) => Ok(()),
            Err(refused) if refused.code() == gpuproxy_errors::ErrorCode::CreditsExhausted => {
                let released = self
                    .call(
                        self.guardrails
                            .clone()
                            .release_spend(guardrails::ReleaseSpendRequest {
                                user_id: user_id.to_owned(),
                                idempotency_key: key,
                                amount_micros: 0,
                            }),
                    )
                    .await;
                if let Err(error) = released {
                    tracing::warn!(%error, user_id, "giving a refused request's guard-rail reservation back failed; it stays counted");
                }
                Err(refused)
            }
            Err(error) => Err(error),
        }
    }
}
