//! The provider-side label that ties an instance to its row.
//!
//! The row is written before the rent, and its id travels to the provider as the instance's label
//! (vast.ai `label`, io.net `resource_private_name`): `gpuproxy-<installation>-<row>`. The
//! installation id is made once per database, so two deployments sharing a provider account (prod
//! and staging, say) never take each other's instances for orphans. After a crash, a provider
//! instance whose label names no live row of ours is an orphan, and one whose label names a
//! `creating` row is adopted.

use uuid::Uuid;

/// The labels of one installation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Labels {
    prefix: String,
}

impl Labels {
    /// Returns the labels of installation `installation_id`.
    pub fn new(installation_id: &str) -> Self {
        Labels {
            prefix: format!("gpuproxy-{installation_id}-"),
        }
    }

    /// Returns what every label of this installation starts with.
    pub fn prefix(&self) -> &str {
        &self.prefix
    }

    /// Returns the label of row `row_id`.
    pub fn label_of(&self, row_id: Uuid) -> String {
        format!("{}{}", self.prefix, row_id.simple())
    }

    /// Returns the row a label names, or `None` when the label is not this installation's.
    pub fn row_of(&self, label: &str) -> Option<Uuid> {
        let simple = label.strip_prefix(&self.prefix)?;
        Uuid::try_parse(simple).ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_label_names_its_row_and_other_installations_labels_name_none() {
        let ours = Labels::new("a1b2c3d4");
        let theirs = Labels::new("ffff0000");
        let row = Uuid::now_v7();
        assert_eq!(ours.row_of(&ours.label_of(row)), Some(row));
        assert_eq!(ours.row_of(&theirs.label_of(row)), None);
        assert_eq!(ours.row_of("my-own-box"), None);
        assert_eq!(ours.row_of("gpuproxy-a1b2c3d4-not-a-uuid"), None);
        assert!(
            ours.label_of(row).len() <= 50,
            "short enough for every provider's name field"
        );
    }
}
