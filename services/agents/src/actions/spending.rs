//! `get_spending_info` and `check_spending_limit`: the guard rails' 17 windows.

use gpuproxy_proto::gpuproxy::guardrails::v1 as guardrails;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::actions::{Actions, dollars, micros};
use crate::{ActionError, Caller};

/// One spending window.
#[derive(Debug, Serialize, JsonSchema)]
pub struct WindowOutput {
    /// `5min` … `1440min`, `48h`, `72h`.
    pub window: String,
    /// USD spent in the window, ending now.
    pub spent: f64,
    /// USD limit; 0 = none.
    pub limit: f64,
    /// USD left before the limit.
    pub remaining: f64,
    /// Whether the window is past its limit.
    pub exceeded: bool,
}

impl From<guardrails::SpendingWindow> for WindowOutput {
    fn from(window: guardrails::SpendingWindow) -> Self {
        WindowOutput {
            window: window.window,
            spent: dollars(window.spent_micros),
            limit: dollars(window.limit_micros),
            remaining: dollars(window.remaining_micros),
            exceeded: window.exceeded,
        }
    }
}

/// The caller's spending.
#[derive(Debug, Serialize, JsonSchema)]
pub struct SpendingOutput {
    /// Whether the guard rails are on.
    pub guard_rails_enabled: bool,
    /// The 17 windows, shortest first.
    pub windows: Vec<WindowOutput>,
    /// USD spent in the last 24 hours.
    pub total_spent_24h: f64,
}

/// A cost about to be spent.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CheckSpendingInput {
    /// USD the caller is about to spend.
    pub estimated_cost: f64,
}

/// Whether the cost may be spent now.
#[derive(Debug, Serialize, JsonSchema)]
pub struct CheckSpendingOutput {
    /// Whether every window allows it.
    pub allowed: bool,
    /// One line per window the cost would pass.
    pub violations: Vec<String>,
    /// Those windows as they stand.
    pub would_exceed: Vec<WindowOutput>,
}

impl Actions {
    pub(super) async fn spending_info(&self, caller: Caller) -> Result<SpendingOutput, ActionError> {
        let info = self
            .call_owner(
                self.guardrails
                    .clone()
                    .get_spending_info(guardrails::GetSpendingInfoRequest {
                        user_id: caller.user_id.to_string(),
                    }),
            )
            .await?;
        Ok(SpendingOutput {
            guard_rails_enabled: info.guard_rails_enabled,
            windows: info.windows.into_iter().map(WindowOutput::from).collect(),
            total_spent_24h: dollars(info.total_spent_24h_micros),
        })
    }

    pub(super) async fn check_spending(
        &self,
        caller: Caller,
        input: CheckSpendingInput,
    ) -> Result<CheckSpendingOutput, ActionError> {
        let amount_micros = micros("estimated_cost", input.estimated_cost, 1_000_000.0, false)?;
        let checked =
            self.call_owner(self.guardrails.clone().check_spending_limit(
                guardrails::CheckSpendingLimitRequest {
                    user_id: caller.user_id.to_string(),
                    amount_micros,
                },
            ))
            .await?;
        Ok(CheckSpendingOutput {
            allowed: checked.allowed,
            violations: checked
                .reason
                .split("; ")
                .filter(|line| !line.is_empty())
                .map(str::to_owned)
                .collect(),
            would_exceed: checked.would_exceed.into_iter().map(WindowOutput::from).collect(),
        })
    }
}
