//! ONNX Runtime: its library loaded once per process (`library.rs`), and a pool of sessions per
//! model (`pool.rs`), loaded at a model's first inference and warmed up. A server without the
//! library starts anyway and answers inferences with 503 saying how to install it.

pub mod library;
mod pool;

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, OnceLock, PoisonError};

use ort::environment::Environment;

pub use pool::{InferError, ModelPool, Outcome};

/// How the runtime is set up.
#[derive(Debug, Clone)]
pub struct RuntimeConfig {
    /// `ORT_DYLIB_PATH`: the library to load.
    pub library: Option<PathBuf>,
    /// `ML_RUNTIME_CACHE` (default `DATA_DIR`): where a fetched library is kept.
    pub cache: PathBuf,
    /// `ML_RUNTIME_AUTO_INSTALL`: fetch the library from PyPI when it is missing.
    pub auto_install: bool,
    /// `ML_INTRA_OP_THREADS`: threads one inference may use.
    pub intra_op_threads: usize,
    /// `ML_SESSIONS_PER_MODEL`: inferences of one model that run at once.
    pub sessions_per_model: usize,
}

/// Whether the runtime can serve.
#[derive(Debug, Clone)]
pub enum Availability {
    /// Loaded.
    Ready,
    /// Not loaded: why, and how to install it.
    Missing(String),
}

/// The one ONNX Runtime environment of the process.
static ENVIRONMENT: OnceLock<Result<Arc<Environment>, String>> = OnceLock::new();

/// The runtime and the models it holds. Cheap to clone.
#[derive(Debug, Clone)]
pub struct Runtime {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    config: RuntimeConfig,
    pools: Mutex<HashMap<String, Arc<ModelPool>>>,
}

impl Runtime {
    /// Returns the runtime set up by `config`; [`Runtime::load`] loads the library.
    pub fn new(config: RuntimeConfig) -> Self {
        Runtime {
            inner: Arc::new(Inner {
                config,
                pools: Mutex::new(HashMap::new()),
            }),
        }
    }

    /// Loads the library (fetching it first when it is missing and that is allowed); says at
    /// start-up whether models can be served, and how to make them servable when not.
    pub async fn load(&self) -> Availability {
        let config = &self.inner.config;
        let path = match &config.library {
            Some(path) => path.clone(),
            None => {
                let cached = library::cached(&config.cache);
                if !cached.exists()
                    && config.auto_install
                    && let Err(error) = library::fetch(&config.cache).await
                {
                    tracing::warn!(%error, "fetching ONNX Runtime failed");
                }
                cached
            }
        };
        let loaded = ENVIRONMENT.get_or_init(|| {
            if !path.exists() {
                return Err(library::how_to_install(&config.cache));
            }
            ort::init_from(&path)
                .map_err(|error| {
                    format!(
                        "loading {}: {error}; {}",
                        path.display(),
                        library::how_to_install(&config.cache)
                    )
                })?
                .with_name("gpuproxy")
                .build()
                .map(Arc::new)
                .map_err(|error| format!("starting ONNX Runtime: {error}"))
        });
        match loaded {
            Ok(_) => {
                tracing::info!(library = %path.display(), "ONNX Runtime is loaded: models are served on CPU");
                Availability::Ready
            }
            Err(why) => {
                tracing::warn!("{why}");
                Availability::Missing(why.clone())
            }
        }
    }

    /// Whether models can be served.
    pub fn availability(&self) -> Availability {
        match ENVIRONMENT.get() {
            Some(Ok(_)) => Availability::Ready,
            Some(Err(why)) => Availability::Missing(why.clone()),
            None => Availability::Missing("ONNX Runtime is still loading".to_owned()),
        }
    }

    /// The sessions of model `id`, when they are loaded.
    pub fn cached(&self, id: &str) -> Option<Arc<ModelPool>> {
        self.lock_pools().get(id).cloned()
    }

    /// Loads the sessions of model `id` from `bytes` and keeps them; the error says why ONNX
    /// Runtime cannot load the model (or that it is not loaded itself).
    pub async fn load_pool(&self, id: &str, bytes: bytes::Bytes) -> Result<Arc<ModelPool>, String> {
        let environment = match ENVIRONMENT.get() {
            Some(Ok(environment)) => environment.clone(),
            Some(Err(why)) => return Err(why.clone()),
            None => return Err("ONNX Runtime is still loading".to_owned()),
        };
        let config = self.inner.config.clone();
        let pool = tokio::task::spawn_blocking(move || {
            ModelPool::load(
                &environment,
                &bytes,
                config.intra_op_threads,
                config.sessions_per_model,
            )
        })
        .await
        .map_err(|error| format!("loading the model panicked: {error}"))??;
        let pool = Arc::new(pool);
        Ok(self.lock_pools().entry(id.to_owned()).or_insert(pool).clone())
    }

    /// Forgets model `id`'s sessions (it was deleted).
    pub fn unload(&self, id: &str) {
        self.lock_pools().remove(id);
    }

    fn lock_pools(&self) -> std::sync::MutexGuard<'_, HashMap<String, Arc<ModelPool>>> {
        self.inner.pools.lock().unwrap_or_else(PoisonError::into_inner)
    }
}
