//! The GPU marketplaces the proxy rents from.

use std::fmt;
use std::str::FromStr;

/// A GPU marketplace, named on the wire as in the seeds: `vast.ai` or `io.net`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Provider {
    /// vast.ai: offers are individual machines, rented by the hour.
    VastAi,
    /// io.net (IO Cloud CaaS): hardware types per location, prepaid by the hour.
    IoNet,
}

impl Provider {
    /// Every provider, in the order listings merge them.
    pub const ALL: [Provider; 2] = [Provider::VastAi, Provider::IoNet];

    /// Returns the wire name.
    pub const fn as_str(self) -> &'static str {
        match self {
            Provider::VastAi => "vast.ai",
            Provider::IoNet => "io.net",
        }
    }
}

impl fmt::Display for Provider {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Says that a string names no provider.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown provider {0:?}: use vast.ai, io.net or all")]
pub struct UnknownProvider(pub String);

impl FromStr for Provider {
    type Err = UnknownProvider;

    /// Accepts the wire names case-insensitively, and `vastai`/`ionet` as written in variable names.
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        match text.trim().to_ascii_lowercase().as_str() {
            "vast.ai" | "vastai" => Ok(Provider::VastAi),
            "io.net" | "ionet" => Ok(Provider::IoNet),
            _ => Err(UnknownProvider(text.to_owned())),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_strangers_are_refused() {
        for provider in Provider::ALL {
            assert_eq!(provider.as_str().parse::<Provider>(), Ok(provider));
        }
        assert_eq!("IO.NET".parse::<Provider>(), Ok(Provider::IoNet));
        assert!("aws".parse::<Provider>().is_err());
        assert!("all".parse::<Provider>().is_err());
    }
}
