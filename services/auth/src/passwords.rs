//! Hashing and checking passwords.

use std::sync::{Arc, OnceLock};

use argon2::Argon2;
use argon2::password_hash::{PasswordHasher, PasswordVerifier};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use crate::Error;
use crate::domain::Password;

/// Hashes passwords with argon2id (OWASP's default parameters: 19 MiB, 2 passes) on the blocking
/// pool, so a login never stalls the async threads. At most two hashes per core run at once: a burst
/// of logins waits its turn instead of claiming 19 MiB each until the process runs out of memory.
#[derive(Debug, Clone)]
pub struct Passwords {
    /// A hash of a random password, checked when the email is unknown so that "no such user" takes as
    /// long as "wrong password" and timing reveals nothing.
    dummy_hash: Arc<OnceLock<String>>,
    /// Permits to hash.
    permits: Arc<Semaphore>,
}

impl Default for Passwords {
    fn default() -> Self {
        let cores = std::thread::available_parallelism().map_or(2, std::num::NonZeroUsize::get);
        Passwords {
            dummy_hash: Arc::default(),
            permits: Arc::new(Semaphore::new(cores * 2)),
        }
    }
}

impl Passwords {
    /// Returns the PHC string of `password` with a fresh salt.
    pub async fn hash(&self, password: Password) -> Result<String, Error> {
        let permit = self.permit().await?;
        tokio::task::spawn_blocking(move || {
            let _permit = permit;
            hash_now(password.as_bytes())
        })
        .await
        .map_err(|error| anyhow::anyhow!("hashing task: {error}"))?
    }

    /// Returns whether `password` matches `stored` (a PHC string); with `None`, spends the same time
    /// and returns false.
    pub async fn verify(&self, password: &str, stored: Option<String>) -> Result<bool, Error> {
        let password = password.to_owned();
        let dummy = Arc::clone(&self.dummy_hash);
        let permit = self.permit().await?;
        tokio::task::spawn_blocking(move || {
            let _permit = permit;
            let (hash, real) = match stored {
                Some(hash) => (hash, true),
                None => (dummy_hash(&dummy)?, false),
            };
            let matches = Argon2::default()
                .verify_password(password.as_bytes(), hash.as_str())
                .is_ok();
            Ok(real && matches)
        })
        .await
        .map_err(|error| anyhow::anyhow!("verifying task: {error}"))?
    }
}

impl Passwords {
    async fn permit(&self) -> Result<OwnedSemaphorePermit, Error> {
        Arc::clone(&self.permits)
            .acquire_owned()
            .await
            .map_err(|_| Error::Internal(anyhow::anyhow!("the password hashing permits are closed")))
    }
}

fn hash_now(password: &[u8]) -> Result<String, Error> {
    Argon2::default()
        .hash_password(password)
        .map(|hash| hash.to_string())
        .map_err(|error| Error::Internal(anyhow::anyhow!("hashing a password: {error}")))
}

fn dummy_hash(cell: &OnceLock<String>) -> Result<String, Error> {
    if let Some(hash) = cell.get() {
        return Ok(hash.clone());
    }
    let mut random = [0u8; 16];
    rand::fill(&mut random);
    let hash = hash_now(&random)?;
    Ok(cell.get_or_init(|| hash).clone())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn the_right_password_matches_and_a_wrong_one_does_not() {
        let passwords = Passwords::default();
        let hash = passwords
            .hash(Password::parse("correct horse", 8).expect("valid"))
            .await
            .expect("hash");
        assert!(hash.starts_with("$argon2id$"));
        assert!(
            passwords
                .verify("correct horse", Some(hash.clone()))
                .await
                .expect("verify")
        );
        assert!(!passwords.verify("wrong horse", Some(hash)).await.expect("verify"));
    }

    #[tokio::test]
    async fn an_unknown_user_never_matches() {
        let passwords = Passwords::default();
        assert!(!passwords.verify("anything", None).await.expect("verify"));
    }

    #[tokio::test]
    async fn the_same_password_hashes_differently_each_time() {
        let passwords = Passwords::default();
        let first = passwords
            .hash(Password::parse("correct horse", 8).expect("valid"))
            .await
            .expect("hash");
        let second = passwords
            .hash(Password::parse("correct horse", 8).expect("valid"))
            .await
            .expect("hash");
        assert_ne!(first, second, "salted");
    }
}
