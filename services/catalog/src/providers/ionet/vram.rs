//! GPU memory of io.net hardware types. io.net's API names hardware but never gives its memory
//! (shared/specs/ionet-api.md §3.1), so this table is inferred from the models' data sheets and kept
//! apart, to be corrected in one place.

/// Returns the memory of one GPU of `hardware_name` in GB, or `None` for a model not in the table.
pub fn vram_gb(hardware_name: &str) -> Option<i32> {
    let name = hardware_name.to_ascii_uppercase();
    // A size in the name wins ("A100 80GB", "A100-SXM4-40GB").
    if let Some(size) = size_in_name(&name) {
        return Some(size);
    }
    // Whole tokens only: "RTX A4000" must not match A40, nor "RTX A1000" A100.
    const TABLE: [(&str, i32); 17] = [
        ("H200", 141),
        ("H100", 80),
        ("A100", 80),
        ("L40S", 48),
        ("L40", 48),
        ("A6000", 48),
        ("A40", 48),
        ("5090", 32),
        ("4090", 24),
        ("3090", 24),
        ("A5000", 24),
        ("A10", 24),
        ("L4", 24),
        ("4080", 16),
        ("A4000", 16),
        ("T4", 16),
        ("V100", 16),
    ];
    let tokens: Vec<&str> = name
        .split(|c: char| !c.is_ascii_alphanumeric())
        .filter(|token| !token.is_empty())
        .collect();
    TABLE
        .iter()
        .find(|(model, _)| tokens.contains(model))
        .map(|(_, size)| *size)
}

fn size_in_name(name: &str) -> Option<i32> {
    let position = name.find("GB")?;
    let digits: String = name[..position]
        .chars()
        .rev()
        .take_while(char::is_ascii_digit)
        .collect::<Vec<_>>()
        .into_iter()
        .rev()
        .collect();
    digits.parse().ok().filter(|size| (4..=512).contains(size))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_come_from_the_name_or_the_table() {
        assert_eq!(vram_gb("A100-SXM4-40GB"), Some(40));
        assert_eq!(vram_gb("A100 80GB"), Some(80));
        assert_eq!(vram_gb("H100"), Some(80));
        assert_eq!(vram_gb("NVIDIA GeForce RTX 4090"), Some(24));
        assert_eq!(vram_gb("L40S"), Some(48));
        assert_eq!(vram_gb("H200"), Some(141));
        assert_eq!(vram_gb("Mystery 9000"), None);
        assert_eq!(vram_gb("RTX A4000"), Some(16), "not the A40");
        assert_eq!(vram_gb("RTX A1000"), None, "not the A100");
        assert_eq!(vram_gb("GeForce RTX 3090"), Some(24));
        assert_eq!(vram_gb("H100-PCIE-80GB"), Some(80));
    }
}
