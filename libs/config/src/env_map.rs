//! The raw variables.

use std::collections::HashMap;
use std::path::Path;

use crate::ConfigErrors;
use crate::InvalidVariable;

/// Environment variables as a plain map. Empty values count as unset, so `GRPC_TLS_CERT=` in a
/// `.env` means "no certificate", as in the original product's examples.
#[derive(Debug, Clone, Default)]
pub struct EnvMap {
    vars: HashMap<String, String>,
}

impl EnvMap {
    /// Loads `.env` from the working directory (when present), then the process environment, which
    /// wins over the file.
    pub fn load() -> Result<Self, ConfigErrors> {
        let mut map = Self::from_dotenv_file(Path::new(".env"))?;
        #[expect(
            clippy::disallowed_methods,
            reason = "the one place that reads the process environment"
        )]
        map.vars.extend(std::env::vars());
        Ok(map)
    }

    /// Builds a map from pairs, for tests and for tools that take configuration from elsewhere.
    pub fn from_pairs<K, V>(pairs: impl IntoIterator<Item = (K, V)>) -> Self
    where
        K: Into<String>,
        V: Into<String>,
    {
        EnvMap {
            vars: pairs
                .into_iter()
                .map(|(key, value)| (key.into(), value.into()))
                .collect(),
        }
    }

    /// Returns a copy with `key` set, for tests that vary one variable.
    pub fn with(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.vars.insert(key.into(), value.into());
        self
    }

    /// Returns the value of `key`, or `None` when it is unset or empty.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.vars
            .get(key)
            .map(String::as_str)
            .filter(|value| !value.trim().is_empty())
    }

    fn from_dotenv_file(path: &Path) -> Result<Self, ConfigErrors> {
        let iter = match dotenvy::from_path_iter(path) {
            Ok(iter) => iter,
            Err(error) if error.not_found() => return Ok(EnvMap::default()),
            Err(error) => return Err(dotenv_error(path, &error)),
        };
        let mut vars = HashMap::new();
        for item in iter {
            let (key, value) = item.map_err(|error| dotenv_error(path, &error))?;
            vars.insert(key, value);
        }
        Ok(EnvMap { vars })
    }
}

fn dotenv_error(path: &Path, error: &dotenvy::Error) -> ConfigErrors {
    ConfigErrors::from(vec![InvalidVariable {
        name: path.display().to_string(),
        value: None,
        reason: format!("cannot read the file: {error}"),
    }])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_values_count_as_unset() {
        let env = EnvMap::from_pairs([("GRPC_TLS_CERT", ""), ("REDIS_HOST", "  "), ("DB_NAME", "x")]);
        assert_eq!(env.get("GRPC_TLS_CERT"), None);
        assert_eq!(env.get("REDIS_HOST"), None);
        assert_eq!(env.get("DB_NAME"), Some("x"));
    }

    #[test]
    fn a_dotenv_file_is_read_without_touching_the_process_environment() {
        let dir = std::env::temp_dir().join(format!("gpuproxy-config-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("temp dir");
        let path = dir.join(".env");
        std::fs::write(&path, "# comment\nDB_NAME=fromfile\nLOG_LEVEL=debug # trailing\n").expect("write");
        let env = EnvMap::from_dotenv_file(&path).expect("readable file");
        assert_eq!(env.get("DB_NAME"), Some("fromfile"));
        assert_eq!(env.get("LOG_LEVEL"), Some("debug"));
        std::fs::remove_dir_all(&dir).expect("cleanup");
    }

    #[test]
    fn a_missing_dotenv_file_is_not_an_error() {
        let env = EnvMap::from_dotenv_file(Path::new("/nonexistent/.env")).expect("no file is fine");
        assert_eq!(env.get("ANYTHING"), None);
    }
}
