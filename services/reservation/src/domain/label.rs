//! The provider-side label that ties an instance to its row.
//!
//! The row is written before the rent, and its id travels to the provider as the instance's label
//! (vast.ai `label`, io.net `resource_private_name`). After a crash, a provider instance whose label
//! names no row of ours is an orphan, and one whose label names a `creating` row is adopted.

use uuid::Uuid;

/// Every label this service writes starts with this.
pub const LABEL_PREFIX: &str = "gpuproxy-i-";

/// Returns the label of row `row_id`.
pub fn label_of(row_id: Uuid) -> String {
    format!("{LABEL_PREFIX}{}", row_id.simple())
}

/// Returns the row a label names, or `None` when the label is not one of ours.
pub fn row_of_label(label: &str) -> Option<Uuid> {
    let simple = label.strip_prefix(LABEL_PREFIX)?;
    Uuid::try_parse(simple).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_label_names_its_row_and_foreign_labels_name_none() {
        let row = Uuid::now_v7();
        assert_eq!(row_of_label(&label_of(row)), Some(row));
        assert_eq!(row_of_label("my-own-box"), None);
        assert_eq!(row_of_label("gpuproxy-i-not-a-uuid"), None);
    }
}
