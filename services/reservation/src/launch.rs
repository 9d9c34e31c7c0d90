//! What to run on a rented GPU: image, environment, ports, disk, idle stop. Validated once, here,
//! before anything is rented.

use std::collections::HashMap;

use gpuproxy_proto::gpuproxy::reservation::v1 as pb;
use serde::{Deserialize, Serialize};

use crate::error::Error;

/// The port traffic goes to when the caller names none.
const DEFAULT_PORT: i32 = 8000;

/// The longest idle stop accepted: a week.
const MAX_AUTOSTOP_MINUTES: i32 = 7 * 24 * 60;

/// A validated launch configuration.
#[derive(Debug, Clone, PartialEq)]
pub struct Launch {
    /// The container image.
    pub image: String,
    /// Environment variables (never stored).
    pub env: HashMap<String, String>,
    /// Ports to expose; the first is where traffic goes.
    pub ports: Vec<i32>,
    /// Disk, GB; 0 = the provider's default.
    pub disk_gb: i32,
    /// Destroy after this many idle minutes; 0 = never.
    pub autostop_minutes: i32,
}

/// The part of a launch that is stored with the instance.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredLaunch {
    /// The container image.
    pub image: String,
    /// Ports exposed.
    pub ports: Vec<i32>,
    /// Disk, GB.
    pub disk_gb: i32,
}

impl Launch {
    /// Validates a request's configuration; the catalog checks env names and the image again.
    pub fn from_proto(config: Option<pb::InstanceConfig>) -> Result<Self, Error> {
        let config = config.unwrap_or_default();
        let image = config.image.trim().to_owned();
        if image.is_empty() {
            return Err(Error::invalid(
                "image",
                "is required (a container image, e.g. vllm/vllm-openai:latest)",
            ));
        }
        if config.ports.iter().any(|port| !(1..=65535).contains(port)) {
            return Err(Error::invalid("ports", "must be between 1 and 65535"));
        }
        if config.ports.len() > 16 {
            return Err(Error::invalid("ports", "at most 16"));
        }
        if !(0..=10_000).contains(&config.disk_gb) {
            return Err(Error::invalid("disk_gb", "must be between 0 and 10000"));
        }
        if !(0..=MAX_AUTOSTOP_MINUTES).contains(&config.autostop_minutes) {
            return Err(Error::invalid(
                "autostop_minutes",
                format!("must be between 0 (never) and {MAX_AUTOSTOP_MINUTES}"),
            ));
        }
        // Traffic goes to the first port; without one it is 8000, as the providers default to.
        let ports = if config.ports.is_empty() {
            vec![DEFAULT_PORT]
        } else {
            config.ports
        };
        Ok(Launch {
            image,
            env: config.env,
            ports,
            disk_gb: config.disk_gb,
            autostop_minutes: config.autostop_minutes,
        })
    }

    /// Returns what is stored of it, as JSON.
    pub fn stored_json(&self) -> String {
        serde_json::to_string(&StoredLaunch {
            image: self.image.clone(),
            ports: self.ports.clone(),
            disk_gb: self.disk_gb,
        })
        .unwrap_or_else(|_| "{}".to_owned())
    }
}

/// Returns the stored launch of a row; an unreadable one (never written by this code) is empty.
pub fn stored(config_json: &str) -> StoredLaunch {
    serde_json::from_str(config_json).unwrap_or(StoredLaunch {
        image: String::new(),
        ports: Vec::new(),
        disk_gb: 0,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_launch_needs_an_image_and_sane_numbers() {
        let refused = |config: pb::InstanceConfig| Launch::from_proto(Some(config)).expect_err("refused");
        assert!(matches!(
            refused(pb::InstanceConfig::default()),
            Error::InvalidField { field: "image", .. }
        ));
        let with_image = || pb::InstanceConfig {
            image: "img".to_owned(),
            ..pb::InstanceConfig::default()
        };
        let bad_port = pb::InstanceConfig {
            ports: vec![0],
            ..with_image()
        };
        assert!(matches!(
            refused(bad_port),
            Error::InvalidField { field: "ports", .. }
        ));
        let bad_autostop = pb::InstanceConfig {
            autostop_minutes: -1,
            ..with_image()
        };
        assert!(matches!(
            refused(bad_autostop),
            Error::InvalidField {
                field: "autostop_minutes",
                ..
            }
        ));
        let launch = Launch::from_proto(Some(pb::InstanceConfig {
            ports: vec![8000],
            ..with_image()
        }))
        .expect("valid");
        assert_eq!(stored(&launch.stored_json()).ports, vec![8000]);
    }
}
