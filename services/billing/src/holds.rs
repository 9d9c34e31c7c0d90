//! Holds: credits set aside when spending starts (an hour of the GPUs being rented) so that
//! concurrent admissions see each other, taken by the usage recorded under them, released when
//! the spending did not happen, and expired when it stopped early.

use gpuproxy_db::{Any, Transaction};
use gpuproxy_domain::{UserId, now_ms};

use crate::error::Error;
use crate::ledger::MAX_AMOUNT_MICROS;
use crate::repo::holds::{self as repo, HoldRow};
use crate::repo::ledger::AccountRow;
use crate::service::Billing;

/// How long a hold lasts when the caller does not say: an hour, what admission estimates.
const DEFAULT_TTL_MS: i64 = 3_600_000;
/// The longest a hold may last.
const MAX_TTL_MS: i64 = 7 * 24 * 3_600_000;
/// Expired holds released per sweep.
const SWEEP_BATCH: i64 = 500;

impl Billing {
    /// Holds `amount` of the user's credits under `hold_id` when the balance less what is already
    /// held covers it within the cap. Returns whether it is held (a repeated id answers true
    /// without holding twice) and the account.
    pub async fn hold(
        &self,
        user_id: UserId,
        hold_id: &str,
        amount: i64,
        ttl_ms: i64,
    ) -> Result<(bool, AccountRow), Error> {
        let hold_id = checked_id(hold_id)?;
        if amount <= 0 || amount > MAX_AMOUNT_MICROS {
            return Err(Error::invalid(
                "amount",
                "must be more than $0 and at most $1000000",
            ));
        }
        if !(0..=MAX_TTL_MS).contains(&ttl_ms) {
            return Err(Error::invalid("ttl_ms", "must be between 0 (an hour) and a week"));
        }
        let account = self.credits(user_id).await?;
        if repo::find(self.database().pool(), hold_id).await?.is_some() {
            return Ok((true, account));
        }
        let now = now_ms();
        let mut transaction = self.database().pool().begin().await?;
        let Some(held) = repo::hold_on_account(&mut transaction, account.user_id, amount).await? else {
            return Ok((false, account));
        };
        let row = HoldRow {
            id: hold_id.to_owned(),
            user_id: account.user_id,
            amount_micros: amount,
            remaining_micros: amount,
            expires_at: now + if ttl_ms == 0 { DEFAULT_TTL_MS } else { ttl_ms },
            created_at: now,
        };
        match repo::insert(&mut *transaction, &row).await {
            Ok(()) => {
                transaction.commit().await?;
                Ok((true, held))
            }
            // The same id held concurrently: that one stands, this one rolls back.
            Err(error) if gpuproxy_db::is_unique_violation(&error) => {
                drop(transaction);
                Ok((true, self.credits(account.user_id).await?))
            }
            Err(error) => Err(error.into()),
        }
    }

    /// Returns `amount` (0 = all that is left) of the user's hold to their available credits.
    pub async fn release_hold(
        &self,
        user_id: UserId,
        hold_id: &str,
        amount: i64,
    ) -> Result<(i64, AccountRow), Error> {
        let hold_id = checked_id(hold_id)?;
        if amount < 0 {
            return Err(Error::invalid("amount", "must not be negative"));
        }
        for _ in 0..3 {
            let Some(hold) = repo::find(self.database().pool(), hold_id)
                .await?
                .filter(|hold| hold.user_id == user_id)
            else {
                return Err(Error::NotFound {
                    what: "hold",
                    id: hold_id.to_owned(),
                });
            };
            let released = if amount == 0 {
                hold.remaining_micros
            } else {
                amount.min(hold.remaining_micros)
            };
            let mut transaction = self.database().pool().begin().await?;
            if take(&mut transaction, &hold, released).await? {
                transaction.commit().await?;
                return Ok((released, self.credits(user_id).await?));
            }
        }
        Err(Error::Internal(anyhow::anyhow!(
            "the hold {hold_id} kept changing while being released"
        )))
    }

    /// Releases what is left of holds that expired; returns how many.
    pub async fn expire_holds(&self) -> Result<usize, Error> {
        let mut released = 0;
        for hold in repo::expired(self.database().pool(), now_ms(), SWEEP_BATCH).await? {
            let mut transaction = self.database().pool().begin().await?;
            if take(&mut transaction, &hold, hold.remaining_micros).await? {
                transaction.commit().await?;
                released += 1;
            }
        }
        Ok(released)
    }

    /// Takes up to `cost` from the user's hold `hold_id` in `transaction` (usage recorded under it);
    /// returns how much it took. An unknown hold, or another user's, gives nothing.
    pub(crate) async fn consume_hold(
        &self,
        transaction: &mut Transaction<'_, Any>,
        user_id: UserId,
        hold_id: &str,
        cost: i64,
    ) -> Result<i64, Error> {
        if hold_id.is_empty() || cost <= 0 {
            return Ok(0);
        }
        let Some(hold) = repo::find(&mut **transaction, hold_id)
            .await?
            .filter(|hold| hold.user_id == user_id)
        else {
            return Ok(0);
        };
        let taken = cost.min(hold.remaining_micros);
        // A concurrent take leaves this usage charged in full: held credits are never taken twice.
        if taken > 0 && take(transaction, &hold, taken).await? {
            return Ok(taken);
        }
        Ok(0)
    }
}

/// Takes `amount` from `hold` and from its account's held total, if the hold is as read.
async fn take(transaction: &mut Transaction<'_, Any>, hold: &HoldRow, amount: i64) -> Result<bool, Error> {
    if amount <= 0 {
        return Ok(true);
    }
    if !repo::take(&mut **transaction, &hold.id, amount, hold.remaining_micros).await? {
        return Ok(false);
    }
    repo::unhold_on_account(&mut **transaction, hold.user_id, amount).await?;
    Ok(true)
}

fn checked_id(hold_id: &str) -> Result<&str, Error> {
    let hold_id = hold_id.trim();
    if hold_id.is_empty() || hold_id.len() > 128 {
        return Err(Error::invalid("hold_id", "is required (at most 128 characters)"));
    }
    Ok(hold_id)
}
