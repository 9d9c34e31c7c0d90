//! The two marketplaces the simulator speaks for.

use std::fmt;
use std::str::FromStr;

/// A simulated marketplace.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum SimProvider {
    /// vast.ai REST API v0 under `/api/v0/`.
    VastAi,
    /// io.net enterprise CaaS API under `/enterprise/v1/io-cloud/caas/`.
    IoNet,
}

impl SimProvider {
    /// Returns the provider's public name, `"vast.ai"` or `"io.net"`; [`FromStr`] parses it back.
    pub fn name(&self) -> &'static str {
        match self {
            Self::VastAi => "vast.ai",
            Self::IoNet => "io.net",
        }
    }
}

impl fmt::Display for SimProvider {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for SimProvider {
    type Err = UnknownProvider;

    fn from_str(name: &str) -> Result<Self, Self::Err> {
        match name {
            "vast.ai" => Ok(Self::VastAi),
            "io.net" => Ok(Self::IoNet),
            other => Err(UnknownProvider(other.to_owned())),
        }
    }
}

/// Returned when a provider name is neither `"vast.ai"` nor `"io.net"`.
#[derive(Debug, thiserror::Error)]
#[error("unknown provider {0:?}: expected \"vast.ai\" or \"io.net\"")]
pub struct UnknownProvider(String);

/// One value per provider, so per-provider state needs no map lookups that could miss.
#[derive(Debug, Default)]
pub(crate) struct PerProvider<T> {
    pub(crate) vastai: T,
    pub(crate) ionet: T,
}

impl<T> PerProvider<T> {
    /// Returns the value belonging to `provider`.
    pub(crate) fn get(&self, provider: SimProvider) -> &T {
        match provider {
            SimProvider::VastAi => &self.vastai,
            SimProvider::IoNet => &self.ionet,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_parse_back_to_the_same_provider() {
        for provider in [SimProvider::VastAi, SimProvider::IoNet] {
            assert_eq!(provider.name().parse::<SimProvider>().ok(), Some(provider));
        }
        assert!("vastai".parse::<SimProvider>().is_err());
    }
}
