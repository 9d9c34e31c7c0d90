//! A model file's format, told from its bytes (never from its name), and whether this server
//! serves it. Each format that is not served is refused with why and what to upload instead.

pub mod zip;

pub use zip::ZipEntries;

/// The formats this server recognises.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// ONNX (`.onnx`): a protobuf `ModelProto`.
    Onnx,
    /// A PyTorch checkpoint (`.pt`, `.pth`): a zip holding `data.pkl`.
    PyTorch,
    /// TorchScript (`torch.jit.save`): a zip holding `constants.pkl` and `code/`.
    TorchScript,
    /// safetensors: weights only.
    Safetensors,
    /// A Python pickle (`.pkl`).
    Pickle,
    /// joblib (`.joblib`): pickles with numpy arrays, maybe zlib-compressed.
    Joblib,
    /// skops (`.skops`): scikit-learn without pickle; a zip holding `schema.json`.
    Skops,
    /// A TensorFlow SavedModel directory, zipped (`saved_model.pb`).
    TfSavedModel,
    /// Keras 3 (`.keras`): a zip holding `config.json` and the weights.
    Keras,
    /// HDF5 (`.h5`): legacy Keras.
    Hdf5,
    /// TensorFlow Lite (`.tflite`): a flatbuffer tagged `TFL3`.
    TfLite,
    /// GGUF (`.gguf`): llama.cpp's weights.
    Gguf,
    /// PMML (`.pmml`): XML.
    Pmml,
    /// XGBoost (JSON, UBJSON or its binary format).
    Xgboost,
    /// LightGBM's text model.
    LightGbm,
}

/// What happens to a format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// Served as uploaded, by this runtime.
    Served(&'static str),
    /// Refused: why, and what to upload instead.
    Refused {
        /// Why it is not served.
        why: &'static str,
        /// What to upload instead.
        instead: &'static str,
    },
}

impl Format {
    /// Every format, for documentation and tests.
    pub const ALL: [Format; 15] = [
        Format::Onnx,
        Format::PyTorch,
        Format::TorchScript,
        Format::Safetensors,
        Format::Pickle,
        Format::Joblib,
        Format::Skops,
        Format::TfSavedModel,
        Format::Keras,
        Format::Hdf5,
        Format::TfLite,
        Format::Gguf,
        Format::Pmml,
        Format::Xgboost,
        Format::LightGbm,
    ];

    /// The name in answers and in the `format` form field.
    pub const fn name(self) -> &'static str {
        match self {
            Format::Onnx => "onnx",
            Format::PyTorch => "pytorch",
            Format::TorchScript => "torchscript",
            Format::Safetensors => "safetensors",
            Format::Pickle => "pickle",
            Format::Joblib => "joblib",
            Format::Skops => "skops",
            Format::TfSavedModel => "tensorflow",
            Format::Keras => "keras",
            Format::Hdf5 => "hdf5",
            Format::TfLite => "tflite",
            Format::Gguf => "gguf",
            Format::Pmml => "pmml",
            Format::Xgboost => "xgboost",
            Format::LightGbm => "lightgbm",
        }
    }

    /// Reads a `format` form field; the seed's `sklearn` and common spellings included.
    pub fn parse(text: &str) -> Option<Self> {
        let text = text.trim().to_ascii_lowercase();
        let alias = match text.as_str() {
            "pt" | "pth" | "torch" => "pytorch",
            "sklearn" | "scikit-learn" | "pkl" => "pickle",
            "tf" | "savedmodel" | "saved_model" => "tensorflow",
            "h5" => "hdf5",
            "xgb" => "xgboost",
            "lgbm" => "lightgbm",
            other => other,
        };
        Format::ALL.into_iter().find(|format| format.name() == alias)
    }

    /// Whether it is served, and if not, why and what to upload instead.
    pub const fn verdict(self) -> Verdict {
        const TO_ONNX_TORCH: &str = "export it to ONNX with torch.onnx.export(model, example_input, \"model.onnx\") and upload the .onnx file";
        const TO_ONNX_SKLEARN: &str =
            "convert it to ONNX with skl2onnx (to_onnx(model, X[:1])) and upload the .onnx file";
        const TO_ONNX_TF: &str = "convert it to ONNX with tf2onnx (python -m tf2onnx.convert --saved-model DIR --output model.onnx) and upload the .onnx file";
        const TO_ONNX_TREES: &str = "convert it to ONNX with onnxmltools (convert_xgboost / convert_lightgbm) and upload the .onnx file";
        match self {
            Format::Onnx => Verdict::Served("onnx"),
            Format::PyTorch | Format::TorchScript => Verdict::Refused {
                why: "PyTorch files are not served as such: loading a checkpoint unpickles it, which runs the uploader's code",
                instead: TO_ONNX_TORCH,
            },
            Format::Safetensors => Verdict::Refused {
                why: "safetensors holds weights without the graph that computes with them",
                instead: TO_ONNX_TORCH,
            },
            Format::Pickle | Format::Joblib => Verdict::Refused {
                why: "unpickling runs code the file chooses: serving a pickle would run the uploader's code on this server",
                instead: TO_ONNX_SKLEARN,
            },
            Format::Skops => Verdict::Refused {
                why: "scikit-learn models are not served directly yet",
                instead: TO_ONNX_SKLEARN,
            },
            Format::TfSavedModel | Format::Keras | Format::Hdf5 | Format::TfLite => Verdict::Refused {
                why: "TensorFlow and Keras models are not served directly",
                instead: TO_ONNX_TF,
            },
            Format::Gguf => Verdict::Refused {
                why: "GGUF models run in LLM runtimes (llama.cpp, vLLM), not in this server",
                instead: "rent a GPU (POST /api/v1/gpu/reserve) with an image that serves it, and send requests through the proxy",
            },
            Format::Pmml => Verdict::Refused {
                why: "PMML is not served",
                instead: "convert the model to ONNX (skl2onnx or onnxmltools from the model PMML was made from) and upload the .onnx file",
            },
            Format::Xgboost | Format::LightGbm => Verdict::Refused {
                why: "gradient-boosted tree files are not served directly",
                instead: TO_ONNX_TREES,
            },
        }
    }
}

/// The largest beginning of a file [`detect`] reads.
pub const HEAD_BYTES: usize = 64 * 1024;

/// Tells the format of a file from its first bytes (`head`, up to [`HEAD_BYTES`]) and, for a zip
/// archive, the names of its entries. `None`: no format this server knows.
pub fn detect(head: &[u8], entries: Option<&ZipEntries>) -> Option<Format> {
    if let Some(entries) = entries {
        return from_zip(entries);
    }
    if head.starts_with(b"\x89HDF\r\n\x1a\n") {
        return Some(Format::Hdf5);
    }
    if head.starts_with(b"GGUF") {
        return Some(Format::Gguf);
    }
    if head.get(4..8) == Some(b"TFL3") {
        return Some(Format::TfLite);
    }
    if head.starts_with(b"binf") {
        return Some(Format::Xgboost);
    }
    if is_safetensors(head) {
        return Some(Format::Safetensors);
    }
    if let [0x80, protocol, ..] = head
        && (2..=5).contains(protocol)
    {
        let joblib = head.windows(6).any(|window| window == b"joblib");
        return Some(if joblib { Format::Joblib } else { Format::Pickle });
    }
    // joblib's zlib compression (`compress=True`): a zlib stream, which no other format starts with.
    if let [0x78, 0x01 | 0x5e | 0x9c | 0xda, ..] = head {
        return Some(Format::Joblib);
    }
    if let Some(format) = from_text(head) {
        return Some(format);
    }
    // ONNX's ModelProto starts with its ir_version (field 1, a varint): 0x08. The graph decides.
    if head.first() == Some(&0x08) {
        return Some(Format::Onnx);
    }
    None
}

/// Whether `head` is a zip archive (its entries decide the format).
pub fn is_zip(head: &[u8]) -> bool {
    head.starts_with(b"PK\x03\x04")
}

fn from_zip(entries: &ZipEntries) -> Option<Format> {
    let has = |name: &str| {
        entries
            .names()
            .any(|entry| entry == name || entry.ends_with(&format!("/{name}")))
    };
    if has("saved_model.pb") {
        return Some(Format::TfSavedModel);
    }
    if has("schema.json") {
        return Some(Format::Skops);
    }
    if has("config.json") && (has("model.weights.h5") || has("metadata.json")) {
        return Some(Format::Keras);
    }
    if has("constants.pkl") || entries.names().any(|entry| entry.contains("/code/")) {
        return Some(Format::TorchScript);
    }
    if has("data.pkl") {
        return Some(Format::PyTorch);
    }
    None
}

/// safetensors: an 8-byte little-endian header length, then that much JSON.
fn is_safetensors(head: &[u8]) -> bool {
    let Some(length) = head.get(..8).map(|bytes| {
        let mut le = [0u8; 8];
        le.copy_from_slice(bytes);
        u64::from_le_bytes(le)
    }) else {
        return false;
    };
    (2..100_000_000).contains(&length)
        && head.get(8) == Some(&b'{')
        && head
            .get(9)
            .is_some_and(|next| *next == b'"' || next.is_ascii_whitespace())
}

fn from_text(head: &[u8]) -> Option<Format> {
    let text = std::str::from_utf8(&head[..head.len().min(4096)])
        .or_else(|error| std::str::from_utf8(&head[..error.valid_up_to()]))
        .ok()?;
    let text = text.trim_start_matches('\u{feff}').trim_start();
    if (text.starts_with("<?xml") || text.starts_with("<PMML")) && text.contains("<PMML") {
        return Some(Format::Pmml);
    }
    if text.starts_with('{') && text.contains("\"learner\"") {
        return Some(Format::Xgboost);
    }
    if text.starts_with("tree\n") && text.contains("version=") {
        return Some(Format::LightGbm);
    }
    None
}

#[cfg(test)]
mod tests;
