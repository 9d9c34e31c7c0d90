//! The use cases: spending per window, checks, atomic reservations, recording and resets.

use std::time::Duration;

use gpuproxy_domain::{SpendWindow, UsdMicros, UserId};
use gpuproxy_events::{Event, EventBus, names};
use gpuproxy_kv::{KvStore, LedgerMode, LedgerWindow, Once};
use gpuproxy_proto::gpuproxy::events::v1::{GuardrailsExceeded, GuardrailsWarning};

use crate::config::{Config, Mode};
use crate::error::Error;
use crate::input::{checked_amount, idempotency, key};
use crate::limits::Limits;

/// Share of a limit at which `guardrails.warning` is published.
const WARNING_PERCENT: i64 = 80;
/// How long an idempotency key is remembered.
const IDEMPOTENCY_WINDOW: Duration = Duration::from_secs(24 * 3600);

/// One window as reported.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WindowState {
    /// The window.
    pub window: SpendWindow,
    /// Spent in the window, ending now.
    pub spent: UsdMicros,
    /// The limit; zero means none.
    pub limit: UsdMicros,
    /// What is left before the limit (zero without a limit).
    pub remaining: UsdMicros,
    /// Whether the window is at or past its limit.
    pub exceeded: bool,
}

/// Spending in every window.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Spending {
    /// `GUARDRAILS_ENABLED`.
    pub enabled: bool,
    /// The 17 windows, shortest first.
    pub windows: Vec<WindowState>,
    /// Spent in the last 24 hours.
    pub total_24h: UsdMicros,
}

/// The answer to a check or a reservation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decision {
    /// Whether the spending may go ahead (always, in shadow mode).
    pub allowed: bool,
    /// One line per window the amount would take past its limit.
    pub violations: Vec<String>,
    /// Those windows, as they stand before the amount.
    pub would_exceed: Vec<WindowState>,
    /// Spending after the call.
    pub spending: Spending,
}

/// One limit per window, shortest first: a user's effective limits.
type WindowLimits = Vec<(SpendWindow, UsdMicros)>;

/// The guard rails. Cheap to clone.
#[derive(Debug, Clone)]
pub struct Guardrails {
    kv: KvStore,
    limits: Limits,
    enabled: bool,
    mode: Mode,
    bus: EventBus,
}

impl Guardrails {
    /// Returns the guard rails over `kv` and `limits`, publishing on `bus`.
    pub fn new(config: &Config, kv: KvStore, limits: Limits, bus: EventBus) -> Self {
        Guardrails {
            kv,
            limits,
            enabled: config.limits.enabled,
            mode: config.mode,
            bus,
        }
    }

    /// Returns the store, for health probes.
    pub fn store(&self) -> &KvStore {
        &self.kv
    }

    /// Returns the global limits and the per-user overrides.
    pub fn limits(&self) -> &Limits {
        &self.limits
    }

    /// Returns whether the guard rails are on (`GUARDRAILS_ENABLED`).
    pub fn enabled(&self) -> bool {
        self.enabled
    }

    /// Returns `GUARDRAILS_MODE`.
    pub fn mode(&self) -> Mode {
        self.mode
    }

    /// Returns the user's spending in every window.
    pub async fn spending(&self, user_id: UserId) -> Result<Spending, Error> {
        let key = key(user_id);
        let limits = self.limits_of(user_id).await?;
        let totals = self.totals(&key, &limits).await?;
        Ok(self.spending_from(&limits, &totals, 0))
    }

    /// Says whether `amount` may be spent now, without counting it.
    pub async fn check(&self, user_id: UserId, amount: UsdMicros) -> Result<Decision, Error> {
        let amount = checked_amount(amount)?;
        let key = key(user_id);
        let limits = self.limits_of(user_id).await?;
        let totals = self.totals(&key, &limits).await?;
        let (violations, would_exceed) = self.violations(&limits, &totals, amount);
        let allowed = violations.is_empty() || !self.enforcing();
        Ok(Decision {
            allowed,
            violations,
            would_exceed,
            spending: self.spending_from(&limits, &totals, 0),
        })
    }

    /// What the ledger `key` holds in each of the windows of `limits`, ending now.
    async fn totals(&self, key: &str, limits: &WindowLimits) -> Result<Vec<i64>, Error> {
        let outcome = self
            .kv
            .ledger(key, 0, &windows(limits, false), LedgerMode::Check)
            .await?;
        Ok(outcome.totals)
    }

    /// Checks every window and, when all allow it, counts `amount` as spent, in one atomic step:
    /// concurrent reservations can never take a window past its limit together. In shadow mode (or
    /// with the guard rails off) the amount is always counted and violations are only reported.
    /// With an idempotency key the call counts at most once, decided in that same step.
    pub async fn reserve(
        &self,
        user_id: UserId,
        amount: UsdMicros,
        idempotency_key: &str,
    ) -> Result<Decision, Error> {
        self.count(user_id, amount, idempotency_key, self.enforcing())
            .await
    }

    /// Counts `amount` as spent whatever the limits: spending that already happened.
    pub async fn record(
        &self,
        user_id: UserId,
        amount: UsdMicros,
        idempotency_key: &str,
    ) -> Result<Spending, Error> {
        let decision = self.count(user_id, amount, idempotency_key, false).await?;
        Ok(decision.spending)
    }

    /// One ledger call that appends `amount`, within the limits when `enforce` and whatever they
    /// say otherwise, then the events.
    async fn count(
        &self,
        user_id: UserId,
        amount: UsdMicros,
        idempotency_key: &str,
        enforce: bool,
    ) -> Result<Decision, Error> {
        let mode = if enforce {
            LedgerMode::Reserve
        } else {
            LedgerMode::Force
        };
        let amount = checked_amount(amount)?;
        let key = key(user_id);
        let limits = self.limits_of(user_id).await?;
        let windows = windows(&limits, enforce);
        let outcome = if idempotency_key.is_empty() {
            self.kv.ledger(&key, amount, &windows, mode).await?
        } else {
            let once = idempotency(user_id, idempotency_key)?;
            let once = Once {
                key: &once,
                ttl: IDEMPOTENCY_WINDOW,
            };
            self.kv.ledger_once(&key, once, amount, &windows, mode).await?
        };
        if outcome.replayed {
            // The first call reported its violations and published its events.
            return Ok(Decision {
                allowed: outcome.appended,
                violations: Vec::new(),
                would_exceed: Vec::new(),
                spending: self.spending_from(&limits, &outcome.totals, 0),
            });
        }
        let (violations, would_exceed) = self.violations(&limits, &outcome.totals, amount);
        let counted = if outcome.appended { amount } else { 0 };
        let decision = Decision {
            allowed: outcome.appended,
            violations,
            would_exceed,
            spending: self.spending_from(&limits, &outcome.totals, counted),
        };
        self.announce(user_id, amount, &limits, &outcome.totals, &decision)
            .await;
        Ok(decision)
    }

    /// Takes back `amount` (zero: all of it) of what [`Guardrails::reserve`] counted under
    /// `idempotency_key`, for spending that did not happen (a rent that failed): the windows get
    /// the room back. Only windows still counting the reservation give it back, and a key never
    /// gives back more than it reserved. Returns what was given back and the spending after.
    pub async fn release(
        &self,
        user_id: UserId,
        amount: UsdMicros,
        idempotency_key: &str,
    ) -> Result<(UsdMicros, Spending), Error> {
        let amount = match amount.micros() {
            0 => 0,
            _ => checked_amount(amount)?,
        };
        if idempotency_key.trim().is_empty() {
            return Err(Error::invalid(
                "idempotency_key",
                "names the reservation to release and is required",
            ));
        }
        let key = key(user_id);
        let once = idempotency(user_id, idempotency_key)?;
        let limits = self.limits_of(user_id).await?;
        let lengths: Vec<Duration> = limits.iter().map(|(window, _)| window.duration()).collect();
        let released = self.kv.ledger_release(&key, &once, amount, &lengths).await?;
        let totals = self.totals(&key, &limits).await?;
        if released > 0 {
            tracing::info!(
                %user_id,
                released,
                idempotency_key,
                "guard-rail reservation given back"
            );
        }
        Ok((
            UsdMicros::from_micros(released),
            self.spending_from(&limits, &totals, 0),
        ))
    }

    /// Forgets the user's spending in `window`, or in every window when `None`. A window reset alone
    /// leaves the others holding what they held.
    pub async fn reset(&self, user_id: UserId, window: Option<SpendWindow>) -> Result<Spending, Error> {
        let key = key(user_id);
        match window {
            Some(window) => {
                self.kv.reset_ledger_window(&key, window.duration()).await?;
                tracing::info!(%user_id, window = %window, "guard-rail spending reset in one window");
            }
            None => {
                self.kv.delete(&key).await?;
                tracing::info!(%user_id, "guard-rail spending reset");
            }
        }
        self.spending(user_id).await
    }

    fn enforcing(&self) -> bool {
        self.enabled && self.mode == Mode::Enforce
    }

    /// The user's limits: the global ones with the user's overrides. With the guard rails off none
    /// is enforced, so the overrides are not even read.
    async fn limits_of(&self, user_id: UserId) -> Result<WindowLimits, Error> {
        if !self.enabled {
            return Ok(self.limits.global().to_vec());
        }
        let limits = self.limits.of(user_id).await?;
        Ok(limits.iter().map(|limit| (limit.window, limit.limit)).collect())
    }

    fn spending_from(&self, limits: &[(SpendWindow, UsdMicros)], totals: &[i64], added: i64) -> Spending {
        let windows: Vec<WindowState> = limits
            .iter()
            .zip(totals)
            .map(|((window, limit), total)| {
                let spent = total.saturating_add(added);
                let limit = if self.enabled { limit.micros() } else { 0 };
                WindowState {
                    window: *window,
                    spent: UsdMicros::from_micros(spent),
                    limit: UsdMicros::from_micros(limit),
                    remaining: UsdMicros::from_micros(if limit > 0 { (limit - spent).max(0) } else { 0 }),
                    exceeded: limit > 0 && spent >= limit,
                }
            })
            .collect();
        let total_24h = windows
            .iter()
            .find(|state| state.window.duration() == Duration::from_secs(24 * 3600))
            .map_or(UsdMicros::ZERO, |state| state.spent);
        Spending {
            enabled: self.enabled,
            windows,
            total_24h,
        }
    }

    /// The windows `amount` would take past their limits, as `60min: $45.00 + $25.00 = $70.00 > $50.00 limit`.
    fn violations(
        &self,
        limits: &[(SpendWindow, UsdMicros)],
        totals: &[i64],
        amount: i64,
    ) -> (Vec<String>, Vec<WindowState>) {
        if !self.enabled {
            return (Vec::new(), Vec::new());
        }
        let before = self.spending_from(limits, totals, 0);
        before
            .windows
            .into_iter()
            .filter(|state| {
                state.limit.micros() > 0 && state.spent.micros().saturating_add(amount) > state.limit.micros()
            })
            .map(|state| {
                let line = format!(
                    "{}: ${} + ${} = ${} > ${} limit",
                    state.window.label(),
                    dollars(state.spent.micros()),
                    dollars(amount),
                    dollars(state.spent.micros().saturating_add(amount)),
                    dollars(state.limit.micros())
                );
                (line, state)
            })
            .unzip()
    }

    /// Publishes `guardrails.exceeded` for violations and `guardrails.warning` for each window this
    /// amount carried across 80 % of its limit. Guard-rail state lives in Redis, not a database, so
    /// these go straight to the bus rather than through an outbox.
    async fn announce(
        &self,
        user_id: UserId,
        amount: i64,
        limits: &[(SpendWindow, UsdMicros)],
        totals: &[i64],
        decision: &Decision,
    ) {
        let mut events = Vec::new();
        if !decision.violations.is_empty() {
            events.push(Event::new(
                names::GUARDRAILS_EXCEEDED,
                &GuardrailsExceeded {
                    user_id: user_id.to_string(),
                    amount_micros: amount,
                    violations: decision.violations.clone(),
                    enforced: !decision.allowed,
                },
            ));
        }
        if decision.allowed {
            for ((window, limit), before) in limits.iter().zip(totals) {
                let limit = limit.micros();
                let after = before.saturating_add(amount);
                let threshold = limit.saturating_mul(WARNING_PERCENT) / 100;
                if self.enabled && limit > 0 && *before < threshold && after >= threshold {
                    events.push(Event::new(
                        names::GUARDRAILS_WARNING,
                        &GuardrailsWarning {
                            user_id: user_id.to_string(),
                            window: window.label().to_owned(),
                            spent_micros: after,
                            limit_micros: limit,
                        },
                    ));
                }
            }
        }
        for event in events.into_iter().flatten() {
            if let Err(error) = self.bus.publish(&event).await {
                tracing::warn!(%error, event = event.event, "publishing a guard-rail event failed");
            }
        }
    }
}

/// The 17 windows, with their limits when the ledger is to enforce them.
fn windows(limits: &[(SpendWindow, UsdMicros)], with_limits: bool) -> Vec<LedgerWindow> {
    limits
        .iter()
        .map(|(window, limit)| LedgerWindow {
            length: window.duration(),
            limit: if with_limits { limit.micros() } else { 0 },
        })
        .collect()
}

/// Dollars with cents, rounding half up: `45.00`.
fn dollars(micros: i64) -> String {
    let cents = (micros + 5_000).div_euclid(10_000);
    format!("{}.{:02}", cents.div_euclid(100), cents.rem_euclid(100))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dollars_show_cents() {
        assert_eq!(dollars(45_000_000), "45.00");
        assert_eq!(dollars(70_004_999), "70.00");
        assert_eq!(dollars(70_005_000), "70.01");
        assert_eq!(dollars(10), "0.00");
    }
}
