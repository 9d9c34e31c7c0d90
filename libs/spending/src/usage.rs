//! Billing what was used under an admission.

use gpuproxy_proto::gpuproxy::billing::v1 as billing;
use gpuproxy_proto::gpuproxy::guardrails::v1 as guardrails;

use crate::{Refusal, Spending};

impl Spending {
    /// Bills usage: a usage record in billing and, in the guard rails, what its hold did not cover
    /// (admission reserved that part already), both idempotent by the usage's key. Returns what
    /// billing recorded.
    pub async fn bill(
        &self,
        usage: billing::RecordUsageRequest,
    ) -> Result<billing::RecordUsageResponse, Refusal> {
        let recorded = self
            .within(self.billing.clone().record_usage(usage.clone()))
            .await?;
        let amount =
            recorded.usage.as_ref().map_or(0, |usage| usage.cost_micros) - recorded.hold_consumed_micros;
        if amount > 0 {
            self.within(
                self.guardrails
                    .clone()
                    .record_spending(guardrails::RecordSpendingRequest {
                        user_id: usage.user_id,
                        amount_micros: amount,
                        idempotency_key: usage.idempotency_key,
                    }),
            )
            .await?;
        }
        Ok(recorded)
    }
}
