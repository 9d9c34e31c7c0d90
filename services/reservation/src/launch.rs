//! What to run on a rented GPU: image, environment, ports, disk, idle stop. Validated once, here,
//! before anything is rented.

use std::collections::HashMap;

use gpuproxy_domain::launch;
use gpuproxy_proto::gpuproxy::reservation::v1 as pb;
use serde::{Deserialize, Serialize};

use crate::error::Error;

/// The port traffic goes to when the caller names none.
const DEFAULT_PORT: i32 = 8000;

/// The image an instance runs when the caller names none, as the seed's example does.
pub const DEFAULT_IMAGE: &str = "nvidia/cuda:12.0.0-base-ubuntu22.04";

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
    /// Validates a request's configuration with the launch rules, before anything is listed, held or
    /// rented, with the defaults for what it leaves empty (the image, the port).
    pub fn from_proto(config: Option<pb::InstanceConfig>) -> Result<Self, Error> {
        let config = config.unwrap_or_default();
        let image = match config.image.trim() {
            "" => DEFAULT_IMAGE.to_owned(),
            image => image.to_owned(),
        };
        launch::check_image(&image)
            .and_then(|()| launch::check_env_names(config.env.keys().map(String::as_str)))
            .and_then(|()| launch::check_ports(&config.ports))
            .and_then(|()| launch::check_disk_gb(config.disk_gb))
            .and_then(|()| launch::check_autostop_minutes(config.autostop_minutes))
            .map_err(|refused| Error::invalid(refused.field, refused.reason))?;
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
    fn a_launch_takes_the_default_image_and_needs_sane_numbers() {
        let refused = |config: pb::InstanceConfig| Launch::from_proto(Some(config)).expect_err("refused");
        let defaults = Launch::from_proto(None).expect("the defaults are valid");
        assert_eq!(defaults.image, DEFAULT_IMAGE);
        assert_eq!(defaults.ports, vec![DEFAULT_PORT]);
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
