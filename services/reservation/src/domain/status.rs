//! An instance's lifecycle, as this service records it.

use std::fmt;
use std::str::FromStr;

/// Where an instance is in its life. Rows move forward only: `Creating` → `Pending`/`Loading` →
/// `Running` → `Destroying` → `Terminated`, with `Failed` reachable from any state before `Running`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum InstanceStatus {
    /// The row is written and the provider has been (or is being) asked to rent; the provider's id
    /// is not known yet.
    Creating,
    /// Rented, not yet scheduled.
    Pending,
    /// Pulling the image or starting.
    Loading,
    /// Serving; the endpoint is known.
    Running,
    /// A destroy was asked for and the provider has not yet confirmed it.
    Destroying,
    /// The provider confirmed the instance is gone.
    Terminated,
    /// It never ran (the rent failed, or the provider gave up on it); nothing is billed.
    Failed,
}

impl InstanceStatus {
    /// Returns the status as stored and shown.
    pub const fn as_str(self) -> &'static str {
        match self {
            InstanceStatus::Creating => "creating",
            InstanceStatus::Pending => "pending",
            InstanceStatus::Loading => "loading",
            InstanceStatus::Running => "running",
            InstanceStatus::Destroying => "destroying",
            InstanceStatus::Terminated => "terminated",
            InstanceStatus::Failed => "failed",
        }
    }

    /// Returns whether the instance is over: nothing runs, nothing is billed.
    pub const fn has_ended(self) -> bool {
        matches!(self, InstanceStatus::Terminated | InstanceStatus::Failed)
    }

    /// Returns the status a catalog status (`pending`, `loading`, `running`, …) maps to for a rented
    /// instance; `None` when the provider reports it gone or broken (`terminated`, `failed`,
    /// `stopping`), which callers settle by destroying it.
    pub fn from_provider(status: &str) -> Option<InstanceStatus> {
        match status {
            "running" => Some(InstanceStatus::Running),
            "loading" => Some(InstanceStatus::Loading),
            "terminated" | "failed" | "stopping" => None,
            // Stopped, stopping and unknown states still exist at the provider and may cost money,
            // so they are followed like starting ones until they run or disappear.
            _ => Some(InstanceStatus::Pending),
        }
    }
}

impl fmt::Display for InstanceStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Says that a stored status is not one of ours.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0:?} is not an instance status")]
pub struct UnknownStatus(String);

impl FromStr for InstanceStatus {
    type Err = UnknownStatus;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        [
            InstanceStatus::Creating,
            InstanceStatus::Pending,
            InstanceStatus::Loading,
            InstanceStatus::Running,
            InstanceStatus::Destroying,
            InstanceStatus::Terminated,
            InstanceStatus::Failed,
        ]
        .into_iter()
        .find(|status| status.as_str() == text)
        .ok_or_else(|| UnknownStatus(text.to_owned()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stored_statuses_round_trip() {
        for text in [
            "creating",
            "pending",
            "loading",
            "running",
            "destroying",
            "terminated",
            "failed",
        ] {
            assert_eq!(text.parse::<InstanceStatus>().expect("known").as_str(), text);
        }
        assert!("paused".parse::<InstanceStatus>().is_err());
    }

    #[test]
    fn provider_statuses_that_may_still_cost_money_are_followed() {
        assert_eq!(
            InstanceStatus::from_provider("stopped"),
            Some(InstanceStatus::Pending)
        );
        assert_eq!(
            InstanceStatus::from_provider("unknown"),
            Some(InstanceStatus::Pending)
        );
        assert_eq!(
            InstanceStatus::from_provider("running"),
            Some(InstanceStatus::Running)
        );
        assert_eq!(InstanceStatus::from_provider("terminated"), None);
    }
}
