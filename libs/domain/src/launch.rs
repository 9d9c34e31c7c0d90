//! What may run on a rented GPU: the rules of a launch configuration, applied where a caller's
//! configuration enters (the reservation service, before anything is listed, held or rented) and
//! again where it leaves for a provider (the catalog), from this one place.

/// The longest image reference accepted.
pub const MAX_IMAGE_LENGTH: usize = 1024;
/// The most ports one instance exposes.
pub const MAX_PORTS: usize = 16;
/// The largest disk, GB.
pub const MAX_DISK_GB: i32 = 10_000;
/// The longest idle stop: a week.
pub const MAX_AUTOSTOP_MINUTES: i32 = 7 * 24 * 60;
/// The longest environment variable name.
const MAX_ENV_NAME_LENGTH: usize = 256;

/// A field of a launch configuration that breaks a rule, and what the caller should send instead.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field} {reason}")]
pub struct LaunchError {
    /// The field: `image`, `env`, `ports`, `disk_gb` or `autostop_minutes`.
    pub field: &'static str,
    /// What is wrong with it.
    pub reason: String,
}

fn refuse(field: &'static str, reason: impl Into<String>) -> LaunchError {
    LaunchError {
        field,
        reason: reason.into(),
    }
}

/// Checks a container image reference: present and at most 1024 characters.
pub fn check_image(image: &str) -> Result<(), LaunchError> {
    if image.trim().is_empty() {
        return Err(refuse("image", "is required"));
    }
    if image.len() > MAX_IMAGE_LENGTH {
        return Err(refuse(
            "image",
            format!("must be at most {MAX_IMAGE_LENGTH} characters"),
        ));
    }
    Ok(())
}

/// Checks environment variable names: letters, digits and `_`, not starting with a digit. On
/// vast.ai, env keys starting with `-` are Docker options (`-v /:/host`, `-p 22:22`), which callers
/// must never reach.
pub fn check_env_names<'a>(mut names: impl Iterator<Item = &'a str>) -> Result<(), LaunchError> {
    let valid = |name: &str| {
        let mut bytes = name.bytes();
        name.len() <= MAX_ENV_NAME_LENGTH
            && bytes
                .next()
                .is_some_and(|first| first.is_ascii_alphabetic() || first == b'_')
            && bytes.all(|byte| byte.is_ascii_alphanumeric() || byte == b'_')
    };
    match names.find(|name| !valid(name)) {
        Some(bad) => Err(refuse(
            "env",
            format!(
                "{bad:?} is not an environment variable name (letters, digits and _; not starting with a digit)"
            ),
        )),
        None => Ok(()),
    }
}

/// Checks the ports to expose: at most 16, each between 1 and 65535.
pub fn check_ports(ports: &[i32]) -> Result<(), LaunchError> {
    if ports.iter().any(|port| !(1..=65535).contains(port)) {
        return Err(refuse("ports", "must be between 1 and 65535"));
    }
    if ports.len() > MAX_PORTS {
        return Err(refuse("ports", format!("at most {MAX_PORTS}")));
    }
    Ok(())
}

/// Checks a disk size: between 0 (the provider's default) and 10000 GB.
pub fn check_disk_gb(disk_gb: i32) -> Result<(), LaunchError> {
    if (0..=MAX_DISK_GB).contains(&disk_gb) {
        Ok(())
    } else {
        Err(refuse("disk_gb", format!("must be between 0 and {MAX_DISK_GB}")))
    }
}

/// Checks an idle stop: between 0 (never) and a week of minutes.
pub fn check_autostop_minutes(minutes: i32) -> Result<(), LaunchError> {
    if (0..=MAX_AUTOSTOP_MINUTES).contains(&minutes) {
        Ok(())
    } else {
        Err(refuse(
            "autostop_minutes",
            format!("must be between 0 (never) and {MAX_AUTOSTOP_MINUTES}"),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn environment_names_are_names_and_never_docker_options() {
        assert!(check_env_names(["HF_TOKEN", "_X", "a1"].into_iter()).is_ok());
        for bad in ["-v /:/host", "1ABC", "A-B", "", "A B"] {
            let refused = check_env_names([bad].into_iter()).expect_err(bad);
            assert_eq!(refused.field, "env");
        }
        assert!(check_env_names(["A".repeat(257).as_str()].into_iter()).is_err());
    }

    #[test]
    fn images_ports_disks_and_idle_stops_have_bounds() {
        assert!(check_image("vllm/vllm-openai:latest").is_ok());
        assert_eq!(check_image(" ").expect_err("blank").field, "image");
        assert!(check_image(&"i".repeat(1025)).is_err());
        assert!(check_ports(&[8000, 22]).is_ok());
        assert_eq!(check_ports(&[0]).expect_err("zero").field, "ports");
        assert!(check_ports(&[70_000]).is_err());
        assert!(check_ports(&[80; 17]).is_err());
        assert!(check_disk_gb(0).is_ok() && check_disk_gb(-1).is_err() && check_disk_gb(10_001).is_err());
        assert!(check_autostop_minutes(0).is_ok() && check_autostop_minutes(-1).is_err());
        assert!(check_autostop_minutes(MAX_AUTOSTOP_MINUTES + 1).is_err());
    }
}
