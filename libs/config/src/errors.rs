//! What is wrong with a configuration.

use std::fmt;

/// One variable with a value the program cannot use.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InvalidVariable {
    /// The variable's name.
    pub name: String,
    /// The value given, when showing it is safe (never for secrets).
    pub value: Option<String>,
    /// What is wrong and what would be right.
    pub reason: String,
}

/// Every bad value found while reading a configuration; start-up prints them all, one per line.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct ConfigErrors(Vec<InvalidVariable>);

impl ConfigErrors {
    /// Returns the bad variables in the order they were read.
    pub fn variables(&self) -> &[InvalidVariable] {
        &self.0
    }

    /// Returns true when `name` is among the bad variables.
    pub fn names(&self, name: &str) -> bool {
        self.0.iter().any(|variable| variable.name == name)
    }
}

impl From<Vec<InvalidVariable>> for ConfigErrors {
    fn from(variables: Vec<InvalidVariable>) -> Self {
        ConfigErrors(variables)
    }
}

impl fmt::Display for ConfigErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "invalid configuration ({} problem(s)):", self.0.len())?;
        for variable in &self.0 {
            match &variable.value {
                Some(value) => write!(f, "\n  {}={value:?}: {}", variable.name, variable.reason)?,
                None => write!(f, "\n  {}: {}", variable.name, variable.reason)?,
            }
        }
        Ok(())
    }
}
