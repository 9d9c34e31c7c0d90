//! The names in a zip archive, read from its central directory at the end of the file (PyTorch,
//! TorchScript, skops, Keras and zipped SavedModels are zip archives told apart by what they hold).

/// Bytes at the end of a file that hold its end-of-central-directory record, whatever its comment.
pub const TAIL_BYTES: u64 = 22 + 65_535 + 20;

/// The largest central directory read (a model zip lists a few hundred entries at most).
pub const MAX_DIRECTORY_BYTES: u64 = 8 << 20;

/// The entry names of a zip archive.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ZipEntries(Vec<String>);

impl ZipEntries {
    /// The names.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.0.iter().map(String::as_str)
    }

    /// Where the central directory is (offset, size), from the file's last bytes (`tail`, which
    /// ends the file of `size` bytes). `None`: not a complete zip archive (truncated, corrupt).
    pub fn locate(tail: &[u8], size: u64) -> Option<(u64, u64)> {
        let start = size.checked_sub(u64::try_from(tail.len()).ok()?)?;
        let at = (0..tail.len().checked_sub(21)?)
            .rev()
            .find(|&at| tail[at..].starts_with(&[0x50, 0x4b, 0x05, 0x06]))?;
        let record = &tail[at..];
        let (mut directory_size, mut directory_offset) =
            (u64::from(u32_at(record, 12)?), u64::from(u32_at(record, 16)?));
        if directory_size == 0xffff_ffff || directory_offset == 0xffff_ffff {
            // ZIP64: the locator just before the record points at the ZIP64 record.
            let locator = &tail[at.checked_sub(20)?..at];
            if !locator.starts_with(&[0x50, 0x4b, 0x06, 0x07]) {
                return None;
            }
            let record_offset = u64_at(locator, 8)?;
            let record = &tail[usize::try_from(record_offset.checked_sub(start)?).ok()?..];
            if !record.starts_with(&[0x50, 0x4b, 0x06, 0x06]) {
                return None;
            }
            directory_size = u64_at(record, 40)?;
            directory_offset = u64_at(record, 48)?;
        }
        (directory_offset.checked_add(directory_size)? <= size).then_some((directory_offset, directory_size))
    }

    /// Reads the names of a central directory. `None`: it is corrupt.
    pub fn parse(directory: &[u8]) -> Option<Self> {
        let mut names = Vec::new();
        let mut rest = directory;
        while !rest.is_empty() {
            if !rest.starts_with(&[0x50, 0x4b, 0x01, 0x02]) {
                return None;
            }
            let name_length = usize::from(u16_at(rest, 28)?);
            let extra_length = usize::from(u16_at(rest, 30)?);
            let comment_length = usize::from(u16_at(rest, 32)?);
            let name = rest.get(46..46 + name_length)?;
            names.push(String::from_utf8_lossy(name).into_owned());
            rest = rest.get(46 + name_length + extra_length + comment_length..)?;
        }
        Some(ZipEntries(names))
    }
}

fn u16_at(bytes: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_le_bytes(bytes.get(at..at + 2)?.try_into().ok()?))
}

fn u32_at(bytes: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_le_bytes(bytes.get(at..at + 4)?.try_into().ok()?))
}

fn u64_at(bytes: &[u8], at: usize) -> Option<u64> {
    Some(u64::from_le_bytes(bytes.get(at..at + 8)?.try_into().ok()?))
}
