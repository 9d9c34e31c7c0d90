//! Where ONNX Runtime's shared library comes from: `ORT_DYLIB_PATH`, or the copy kept in the runtime
//! cache, fetched (when allowed) from the `onnxruntime` wheel on PyPI, the same file
//! `pip install onnxruntime` puts in `site-packages/onnxruntime/capi/`.

use std::io::Read;
use std::path::{Path, PathBuf};

use sha2::Digest;

/// The ONNX Runtime release this server is built against (`ort`'s API 31).
pub const VERSION: &str = "1.31.1";

/// The library's file name in the wheel.
pub fn file_name() -> String {
    format!("libonnxruntime.so.{VERSION}")
}

/// Where the fetched copy is kept under `cache`.
pub fn cached(cache: &Path) -> PathBuf {
    cache.join(format!("onnxruntime-{VERSION}")).join(file_name())
}

/// What an operator does to install the library; said at start-up and in every 503.
pub fn how_to_install(cache: &Path) -> String {
    format!(
        "ONNX Runtime {VERSION} is not installed: run `pip install onnxruntime=={VERSION}` and set ORT_DYLIB_PATH to \
         site-packages/onnxruntime/capi/{}, or put that file at {} (scripts/onnxruntime.sh does), or set \
         ML_RUNTIME_AUTO_INSTALL=true to let the server fetch it from PyPI",
        file_name(),
        cached(cache).display()
    )
}

/// Fetches the library from the `onnxruntime` wheel on PyPI into `cache` and answers its path.
pub async fn fetch(cache: &Path) -> anyhow::Result<PathBuf> {
    let arch = match std::env::consts::ARCH {
        "x86_64" => "x86_64",
        "aarch64" => "aarch64",
        other => anyhow::bail!("no onnxruntime wheel for {other}"),
    };
    let client = reqwest::Client::builder()
        .timeout(std::time::Duration::from_secs(300))
        .build()?;
    // PyPI's simple index in its JSON form (PEP 691): what pip itself reads, and what mirrors serve.
    let index: serde_json::Value = client
        .get("https://pypi.org/simple/onnxruntime/")
        .header("Accept", "application/vnd.pypi.simple.v1+json")
        .send()
        .await?
        .error_for_status()?
        .json()
        .await?;
    let prefix = format!("onnxruntime-{VERSION}-");
    let file = index["files"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|file| {
            let wheel = file["filename"].as_str().is_some_and(|name| {
                name.starts_with(&prefix)
                    && name.ends_with(".whl")
                    && name.contains("manylinux")
                    && name.contains(arch)
            });
            let yanked = file["yanked"].as_bool().unwrap_or(false) || file["yanked"].is_string();
            wheel && !yanked
        })
        .ok_or_else(|| anyhow::anyhow!("PyPI lists no manylinux {arch} wheel of onnxruntime {VERSION}"))?;
    let url = file["url"].as_str().unwrap_or_default().to_owned();
    let expected = file["hashes"]["sha256"]
        .as_str()
        .unwrap_or_default()
        .to_ascii_lowercase();
    // The library becomes code of this process: it comes from PyPI's file host, and its hash is
    // the one the index gives.
    if !url.starts_with("https://files.pythonhosted.org/") || expected.len() != 64 {
        anyhow::bail!("the index gave {url:?} without a SHA-256 from PyPI's file host; refusing it");
    }
    tracing::info!(url, "fetching ONNX Runtime");
    let wheel = client.get(&url).send().await?.error_for_status()?.bytes().await?;
    let got = hex::encode(sha2::Sha256::digest(&wheel));
    if got != expected {
        anyhow::bail!("the onnxruntime wheel's SHA-256 is {got}, not the {expected} PyPI lists; refusing it");
    }
    let target = cached(cache);
    let parent = target.parent().unwrap_or(cache).to_path_buf();
    tokio::task::spawn_blocking(move || -> anyhow::Result<PathBuf> {
        let mut archive = zip::ZipArchive::new(std::io::Cursor::new(wheel))?;
        let mut library = archive.by_name(&format!("onnxruntime/capi/{}", file_name()))?;
        let mut bytes = Vec::new();
        library.read_to_end(&mut bytes)?;
        std::fs::create_dir_all(&parent)?;
        // Written aside and renamed: a process that finds the file finds all of it.
        let partial = parent.join(format!("{}.{}.partial", file_name(), std::process::id()));
        std::fs::write(&partial, &bytes)?;
        std::fs::rename(&partial, &target)?;
        Ok(target)
    })
    .await?
}
