//! Credits: balances, admin credits, settings, and usage debited against the overage cap.

use gpuproxy_db::{Any, Transaction};
use gpuproxy_domain::{UserId, now_ms};
use gpuproxy_events::{Event, names};
use gpuproxy_proto::gpuproxy::events::v1 as events;

use crate::error::Error;
use crate::payments::MIN_PAYMENT_MICROS;
use crate::repo::ledger::{self as repo, AccountRow, EntryRow};
use crate::repo::usage::{self, UsageRow};
use crate::service::{Billing, new_id, usd};

/// The largest single credit or debit: a million dollars.
pub const MAX_AMOUNT_MICROS: i64 = 1_000_000_000_000;

/// Usage to debit.
#[derive(Debug, Clone)]
pub struct NewUsage {
    /// The user charged.
    pub user_id: UserId,
    /// `instance` or `request`.
    pub kind: String,
    /// What it cost (0 allowed: the record still counts).
    pub cost_micros: i64,
    /// Who caused it.
    pub client_id: String,
    /// From where.
    pub client_ip: String,
    /// The instance metered.
    pub instance_id: String,
    /// Unix ms.
    pub started_at_ms: i64,
    /// How long.
    pub duration_ms: i64,
    /// Shown in the usage list.
    pub description: String,
    /// One record per key; empty makes a fresh one.
    pub idempotency_key: String,
    /// Refuse a debit that would pass the cap.
    pub enforce_cap: bool,
    /// The hold the spending was admitted under: the cost is taken from it first.
    pub hold_id: String,
}

/// What a usage debit did.
#[derive(Debug, Clone)]
pub struct UsageRecorded {
    /// The account after it.
    pub account: AccountRow,
    /// The record (the first one, on a repeated key).
    pub usage: UsageRow,
    /// The key had been used: nothing new was debited.
    pub replayed: bool,
    /// How much of the cost came out of the usage's hold (0 on a replay).
    pub hold_consumed: i64,
}

impl Billing {
    /// Returns the user's account, opening it (with the default cap) on first use.
    pub async fn credits(&self, user_id: UserId) -> Result<AccountRow, Error> {
        repo::ensure_account(
            self.database().pool(),
            user_id,
            self.credit_settings().default_cap.micros(),
            now_ms(),
        )
        .await?;
        repo::find_account(self.database().pool(), user_id)
            .await?
            .ok_or_else(|| Error::Internal(anyhow::anyhow!("the account of {user_id} vanished")))
    }

    /// Whether `amount` could be spent now without passing the cap. Changes nothing.
    pub async fn check_credits(&self, user_id: UserId, amount: i64) -> Result<(bool, AccountRow), Error> {
        let amount = amount_at_most_max("amount", amount, 0)?;
        let account = self.credits(user_id).await?;
        Ok((
            account.balance_micros - account.held_micros - amount >= -account.cap_micros,
            account,
        ))
    }

    /// Credits `amount` (an admin's grant); the same `idempotency_key` credits once.
    pub async fn add_credits(
        &self,
        user_id: UserId,
        amount: i64,
        reason: &str,
        idempotency_key: Option<&str>,
    ) -> Result<AccountRow, Error> {
        let amount = amount_at_most_max("amount", amount, 1)?;
        let key = idempotency_key.map(|key| format!("admin:{key}"));
        if let Some(key) = &key
            && repo::find_entry_by_key(self.database().pool(), user_id, key)
                .await?
                .is_some()
        {
            return self.credits(user_id).await;
        }
        let reason = if reason.trim().is_empty() {
            "credits added by an admin"
        } else {
            reason.trim()
        };
        let mut transaction = self.database().pool().begin().await?;
        let written = self
            .append(
                &mut transaction,
                user_id,
                "admin_credit",
                amount,
                false,
                reason,
                reason,
                key.as_deref(),
            )
            .await;
        match written {
            Ok((_, events)) => self.outbox().commit(transaction, &events).await?,
            Err(Error::Db(error)) if gpuproxy_db::is_unique_violation(&error) => {
                drop(transaction);
            }
            Err(error) => return Err(error),
        }
        self.credits(user_id).await
    }

    /// Sets the cap and auto-renewal; unset values stay.
    pub async fn set_settings(
        &self,
        user_id: UserId,
        cap: Option<i64>,
        auto_renew: Option<bool>,
        auto_renew_amount: Option<i64>,
    ) -> Result<AccountRow, Error> {
        if let Some(cap) = cap {
            amount_at_most_max("credits_cap", cap, 0)?;
        }
        if let Some(amount) = auto_renew_amount {
            amount_at_most_max("auto_renew_amount", amount, 0)?;
            if amount != 0 && (amount < MIN_PAYMENT_MICROS || amount % 10_000 != 0) {
                return Err(Error::invalid(
                    "auto_renew_amount",
                    "must be whole cents, at least $0.50 (the smallest charge)",
                ));
            }
        }
        let account = self.credits(user_id).await?;
        if auto_renew == Some(true) && auto_renew_amount.unwrap_or(account.auto_renew_amount_micros) == 0 {
            return Err(Error::invalid(
                "auto_renew_amount",
                "is required to turn auto-renewal on: how much each renewal adds",
            ));
        }
        repo::update_settings(
            self.database().pool(),
            account.user_id,
            cap,
            auto_renew,
            auto_renew_amount,
            now_ms(),
        )
        .await?;
        // Turned on while already low: the renewal a debit would have marked is due now.
        if (auto_renew == Some(true) || auto_renew_amount.is_some())
            && account.balance_micros < self.credit_settings().low_threshold.micros()
            && repo::mark_renewal_due(self.database().pool(), account.user_id, &new_id()).await?
        {
            self.wake_renewer();
        }
        self.credits(account.user_id).await
    }

    /// Debits usage. The same key debits once; with `enforce_cap`, a debit that would take the
    /// balance past the cap is refused in the same statement that would apply it.
    pub async fn record_usage(&self, usage: NewUsage) -> Result<UsageRecorded, Error> {
        let user_id = usage.user_id;
        let cost = amount_at_most_max("cost", usage.cost_micros, 0)?;
        if !matches!(usage.kind.as_str(), "instance" | "request" | "inference") {
            return Err(Error::invalid("kind", "must be instance, request or inference"));
        }
        if usage.duration_ms < 0 || usage.started_at_ms < 0 {
            return Err(Error::invalid("duration_ms", "must not be negative"));
        }
        let key = if usage.idempotency_key.trim().is_empty() {
            new_id()
        } else {
            usage.idempotency_key.clone()
        };
        if key.len() > 255 {
            return Err(Error::invalid(
                "idempotency_key",
                "must be at most 255 characters",
            ));
        }
        if let Some(recorded) = self.replayed_usage(user_id, &key).await? {
            return Ok(recorded);
        }
        let now = now_ms();
        let row = UsageRow {
            id: new_id(),
            user_id,
            kind: usage.kind.clone(),
            client_id: bounded(&usage.client_id, 128),
            client_ip: bounded(&usage.client_ip, 64),
            instance_id: bounded(&usage.instance_id, 128),
            started_at: if usage.started_at_ms == 0 {
                now
            } else {
                usage.started_at_ms
            },
            duration_ms: usage.duration_ms,
            cost_micros: cost,
            description: bounded(&usage.description, 256),
            idempotency_key: key.clone(),
            created_at: now,
        };
        let mut transaction = self.database().pool().begin().await?;
        let written = async {
            usage::insert(&mut *transaction, &row).await?;
            let consumed = self
                .consume_hold(&mut transaction, user_id, usage.hold_id.trim(), cost)
                .await?;
            let description = if row.description.is_empty() {
                format!("{} usage", row.kind)
            } else {
                row.description.clone()
            };
            let (account, events) = self
                .append(
                    &mut transaction,
                    user_id,
                    "usage",
                    -cost,
                    usage.enforce_cap,
                    &row.id,
                    &description,
                    Some(&format!("usage:{key}")),
                )
                .await?;
            Ok::<_, Error>((account, events, consumed))
        }
        .await;
        match written {
            Ok((account, events, consumed)) => {
                self.outbox().commit(transaction, &events).await?;
                if account.auto_renew != 0 && events.iter().any(|event| event.event == names::CREDITS_LOW) {
                    self.wake_renewer();
                }
                Ok(UsageRecorded {
                    account,
                    usage: row,
                    replayed: false,
                    hold_consumed: consumed,
                })
            }
            Err(Error::Db(error)) if gpuproxy_db::is_unique_violation(&error) => {
                drop(transaction);
                self.replayed_usage(user_id, &key)
                    .await?
                    .ok_or_else(|| Error::Internal(anyhow::anyhow!("usage {key} collided but is not stored")))
            }
            Err(error) => Err(error),
        }
    }

    /// Returns a page of the user's usage, with the count and total cost of all of it.
    pub async fn list_usage(
        &self,
        user_id: UserId,
        limit: i64,
        offset: i64,
    ) -> Result<(Vec<UsageRow>, i64, i64), Error> {
        let (limit, offset) = page(limit, offset)?;
        let rows = usage::list(self.database().pool(), user_id, limit, offset).await?;
        let (count, total) = usage::totals(self.database().pool(), user_id).await?;
        Ok((rows, count, total))
    }

    /// Returns a page of the user's credit history, with the number of entries.
    pub async fn list_entries(
        &self,
        user_id: UserId,
        limit: i64,
        offset: i64,
    ) -> Result<(Vec<EntryRow>, i64), Error> {
        let (limit, offset) = page(limit, offset)?;
        let rows = repo::list_entries(self.database().pool(), user_id, limit, offset).await?;
        let (count, _) = repo::entry_totals(self.database().pool(), user_id).await?;
        Ok((rows, count))
    }

    /// Returns the number of the user's entries and their sum, which always equals the balance.
    pub async fn ledger_sum(&self, user_id: UserId) -> Result<(i64, i64), Error> {
        Ok(repo::entry_totals(self.database().pool(), user_id).await?)
    }

    /// Applies `amount` to the account and appends its entry in `transaction`; returns the account
    /// after it and the events to commit with it (`credits.low` when a debit crosses the threshold).
    #[expect(clippy::too_many_arguments, reason = "one entry's fields, all required")]
    pub(crate) async fn append(
        &self,
        transaction: &mut Transaction<'_, Any>,
        user_id: UserId,
        kind: &str,
        amount: i64,
        enforce_cap: bool,
        reference: &str,
        description: &str,
        idempotency_key: Option<&str>,
    ) -> Result<(AccountRow, Vec<Event>), Error> {
        let now = now_ms();
        repo::ensure_account(
            &mut **transaction,
            user_id,
            self.credit_settings().default_cap.micros(),
            now,
        )
        .await?;
        let Some(account) = repo::apply(transaction, user_id, amount, enforce_cap, now).await? else {
            let account = repo::find_account(&mut **transaction, user_id).await?;
            let (balance, cap) =
                account.map_or((0, 0), |account| (account.balance_micros, account.cap_micros));
            return Err(Error::CreditsExhausted {
                balance: usd(balance),
                amount: usd(-amount),
                cap: usd(cap),
            });
        };
        let entry = EntryRow {
            id: new_id(),
            user_id,
            kind: kind.to_owned(),
            amount_micros: amount,
            balance_after_micros: account.balance_micros,
            reference: reference.to_owned(),
            description: description.to_owned(),
            created_at: now,
        };
        repo::insert_entry(&mut **transaction, &entry, idempotency_key).await?;
        let threshold = self.credit_settings().low_threshold.micros();
        let before = account.balance_micros - amount;
        let mut events = Vec::new();
        if amount < 0 && before >= threshold && account.balance_micros < threshold {
            repo::mark_renewal_due(&mut **transaction, user_id, &new_id()).await?;
            events.push(
                Event::new(
                    names::CREDITS_LOW,
                    &events::CreditsLow {
                        user_id: user_id.to_string(),
                        balance_micros: account.balance_micros,
                        threshold_micros: threshold,
                        credits_cap_micros: account.cap_micros,
                        cap_reached: account.balance_micros <= -account.cap_micros,
                    },
                )
                .map_err(|error| Error::Internal(error.into()))?,
            );
        }
        Ok((account, events))
    }

    async fn replayed_usage(&self, user_id: UserId, key: &str) -> Result<Option<UsageRecorded>, Error> {
        let Some(usage) = usage::find_by_key(self.database().pool(), user_id, key).await? else {
            return Ok(None);
        };
        let account = self.credits(user_id).await?;
        Ok(Some(UsageRecorded {
            account,
            usage,
            replayed: true,
            hold_consumed: 0,
        }))
    }
}

/// Whether the balance is at or past the cap: nothing more may be spent.
pub fn cap_reached(account: &AccountRow) -> bool {
    account.balance_micros <= -account.cap_micros
}

fn amount_at_most_max(field: &'static str, amount: i64, least: i64) -> Result<i64, Error> {
    if amount < least || amount > MAX_AMOUNT_MICROS {
        return Err(Error::invalid(
            field,
            format!("must be between {} and $1000000", usd(least)),
        ));
    }
    Ok(amount)
}

pub(crate) fn page(limit: i64, offset: i64) -> Result<(i64, i64), Error> {
    if !(0..=1000).contains(&limit) || offset < 0 {
        return Err(Error::invalid(
            "limit",
            "must be 0–1000 (0 = 50), with a non-negative offset",
        ));
    }
    Ok((if limit == 0 { 50 } else { limit }, offset))
}

fn bounded(text: &str, most: usize) -> String {
    text.chars().take(most).collect()
}
