//! The caller's spending under the guard rails.

use gpuproxy_domain::Principal;
use gpuproxy_proto::gpuproxy::guardrails::v1 as guardrails;

use crate::Error;
use crate::money::positive_micros;
use crate::operations::Operations;

impl Operations {
    /// Returns `caller`'s spending in each of the 17 windows.
    pub async fn spending_info(&self, caller: &Principal) -> Result<guardrails::SpendingInfo, Error> {
        let request = guardrails::GetSpendingInfoRequest {
            user_id: caller.user_id.to_string(),
        };
        self.call(self.guardrails.clone().get_spending_info(request))
            .await
    }

    /// Says whether `caller` may spend `amount` USD (named `field` in the caller's terms) now,
    /// without counting it.
    pub async fn check_spending(
        &self,
        caller: &Principal,
        field: &'static str,
        amount: f64,
    ) -> Result<guardrails::CheckSpendingLimitResponse, Error> {
        let request = guardrails::CheckSpendingLimitRequest {
            user_id: caller.user_id.to_string(),
            amount_micros: positive_micros(field, amount)?,
        };
        self.call(self.guardrails.clone().check_spending_limit(request))
            .await
    }
}
