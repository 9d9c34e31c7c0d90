//! The original product's single-dash long flags.

/// Rewrites the original tools' single-dash long flags (`-dv`, `-dm`, `-key`) into the double-dash
/// forms clap parses (`--developer-mode`, `--debug-mode`, `--key`), leaving everything else alone.
pub fn normalize_legacy_flags(args: impl IntoIterator<Item = String>) -> Vec<String> {
    args.into_iter()
        .map(|arg| match arg.as_str() {
            "-dv" => "--developer-mode".to_owned(),
            "-dm" => "--debug-mode".to_owned(),
            "-key" => "--key".to_owned(),
            _ => match arg.strip_prefix("-key=") {
                Some(value) => format!("--key={value}"),
                None => arg,
            },
        })
        .collect()
}

/// Returns the process's arguments with the legacy flags rewritten, ready for `Parser::parse_from`.
pub fn process_args() -> Vec<String> {
    normalize_legacy_flags(std::env::args_os().map(|arg| arg.to_string_lossy().into_owned()))
}

#[cfg(test)]
mod tests {
    use super::normalize_legacy_flags;

    #[test]
    fn single_dash_long_flags_become_double_dash_and_others_stay() {
        let args = ["tool", "-dv", "-dm", "-key", "abc", "-key=def", "-v", "list"].map(str::to_owned);
        assert_eq!(
            normalize_legacy_flags(args),
            [
                "tool",
                "--developer-mode",
                "--debug-mode",
                "--key",
                "abc",
                "--key=def",
                "-v",
                "list"
            ]
        );
    }
}
