//! A pool of ONNX Runtime sessions for one model: each inference takes a free session (a session
//! runs one inference at a time), so `ML_SESSIONS_PER_MODEL` of them run at once.

use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;

use ort::environment::Environment;
use ort::session::Session;
use ort::session::builder::GraphOptimizationLevel;
use ort::value::Tensor;

/// The sessions of one model.
#[derive(Debug)]
pub struct ModelPool {
    sessions: Vec<Mutex<Session>>,
    next: AtomicUsize,
}

/// Why an inference gave nothing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum InferError {
    /// The input made the model fail.
    Input(String),
    /// The model gives what this release does not serve.
    Model(String),
}

/// What one inference gave.
#[derive(Debug, Clone, PartialEq)]
pub struct Outcome {
    /// The first output, flat.
    pub output: Vec<f32>,
    /// Its shape.
    pub shape: Vec<i64>,
    /// Time in the runtime, ms.
    pub latency_ms: f64,
}

impl ModelPool {
    /// Loads `count` sessions of the model in `bytes` (blocking).
    pub fn load(
        environment: &Environment,
        bytes: &[u8],
        threads: usize,
        count: usize,
    ) -> Result<Self, String> {
        let sessions = (0..count.max(1))
            .map(|_| {
                Session::builder(environment)
                    .map_err(|error| error.to_string())?
                    .with_optimization_level(GraphOptimizationLevel::All)
                    .map_err(|error| error.to_string())?
                    .with_intra_threads(threads.max(1))
                    .map_err(|error| error.to_string())?
                    .commit_from_memory(bytes)
                    .map(Mutex::new)
                    .map_err(|error| format!("ONNX Runtime cannot load the model: {error}"))
            })
            .collect::<Result<Vec<_>, String>>()?;
        Ok(ModelPool {
            sessions,
            next: AtomicUsize::new(0),
        })
    }

    /// Runs the model on one FP32 input tensor (blocking): the first output, flat, with its shape.
    pub fn infer(&self, input: Vec<f32>, shape: Vec<i64>) -> Result<Outcome, InferError> {
        let start = self.next.fetch_add(1, Ordering::Relaxed);
        let count = self.sessions.len();
        // A free session if there is one; else wait for the next in turn.
        let mut session = (0..count)
            .find_map(|offset| self.sessions[(start + offset) % count].try_lock().ok())
            .unwrap_or_else(|| {
                self.sessions[start % count]
                    .lock()
                    .unwrap_or_else(std::sync::PoisonError::into_inner)
            });
        let tensor =
            Tensor::from_array((shape, input)).map_err(|error| InferError::Input(error.to_string()))?;
        let began = Instant::now();
        let outputs = session
            .run(ort::inputs![tensor])
            .map_err(|error| InferError::Input(format!("the model failed on this input: {error}")))?;
        let latency_ms = began.elapsed().as_secs_f64() * 1000.0;
        let (shape, data) = outputs[0].try_extract_tensor::<f32>().map_err(|error| {
            InferError::Model(format!(
                "the model's first output is not FP32, which this release serves: {error}"
            ))
        })?;
        Ok(Outcome {
            output: data.to_vec(),
            shape: shape.to_vec(),
            latency_ms,
        })
    }
}
