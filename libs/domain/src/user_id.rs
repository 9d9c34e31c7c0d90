//! The identifier of a user.

use std::fmt;
use std::str::FromStr;

use uuid::Uuid;

/// Identifies a user. A UUID v7, so ids sort by creation time.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize)]
#[serde(transparent)]
pub struct UserId(Uuid);

/// Says that a string is not a user id.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0:?} is not a user id (a UUID)")]
pub struct UserIdError(String);

impl UserId {
    /// Returns a new, unique id.
    pub fn generate() -> Self {
        UserId(Uuid::now_v7())
    }

    /// Returns the id whose UUID is `value`: for fixtures that need ids fixed in advance.
    pub const fn from_u128(value: u128) -> Self {
        UserId(Uuid::from_u128(value))
    }

    /// Returns the UUID inside.
    pub fn as_uuid(&self) -> &Uuid {
        &self.0
    }
}

impl FromStr for UserId {
    type Err = UserIdError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        Uuid::parse_str(text)
            .map(UserId)
            .map_err(|_| UserIdError(text.to_owned()))
    }
}

/// For rows, whose ids are stored as text.
impl TryFrom<String> for UserId {
    type Error = UserIdError;

    fn try_from(text: String) -> Result<Self, Self::Error> {
        text.parse()
    }
}

impl fmt::Display for UserId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_id_round_trips_through_its_text() {
        let id = UserId::generate();
        assert_eq!(id.to_string().parse::<UserId>(), Ok(id));
    }

    #[test]
    fn later_ids_sort_after_earlier_ones() {
        let first = UserId::generate();
        let second = UserId::generate();
        assert!(first < second);
    }

    #[test]
    fn text_that_is_not_a_uuid_is_refused() {
        assert!("42".parse::<UserId>().is_err());
    }
}
