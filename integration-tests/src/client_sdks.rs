//! The official client SDKs (Python) that tests drive against a fleet, unmodified: a script under
//! `integration-tests/` run with the Python `scripts/client-sdks.sh` installs them into.
#![allow(
    clippy::expect_used,
    clippy::panic,
    reason = "test support fails loudly at the step that broke"
)]

use std::path::PathBuf;

/// Runs `integration-tests/<script>` with `args` on the SDKs' Python, off the runtime's thread (in
/// embedded mode the server runs on it), and answers what it printed; a script that fails fails the
/// test with its output. A script ends by printing `all checks passed`.
pub async fn run_script(script: &str, args: Vec<String>) -> String {
    let python = PathBuf::from(gpuproxy_testkit::TestServers::from_env().client_sdks_python);
    assert!(
        python.exists(),
        "the client SDKs are not installed at {}: run scripts/client-sdks.sh (scripts/test.sh does), or set CLIENT_SDKS_PYTHON",
        python.display()
    );
    let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(script);
    let ran = tokio::task::spawn_blocking(move || {
        std::process::Command::new(python).arg(script).args(args).output()
    })
    .await
    .expect("joined")
    .expect("the script ran");
    let printed = String::from_utf8_lossy(&ran.stdout).into_owned();
    assert!(
        ran.status.success() && printed.lines().last() == Some("all checks passed"),
        "the SDK script failed:\n{printed}\n{}",
        String::from_utf8_lossy(&ran.stderr)
    );
    printed
}
