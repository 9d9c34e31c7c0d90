//! The use cases: upload a model within the user's limits (streamed to storage, told apart by its
//! bytes, validated, versioned by name), list, get and delete, each change with its event.

use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use futures::{Stream, StreamExt};
use gpuproxy_db::Database;
use gpuproxy_domain::UserId;
use gpuproxy_events::{Event, Outbox, names};
use gpuproxy_proto::gpuproxy::events::v1 as events;
use object_store::WriteMultipart;
use serde_json::json;
use sha2::{Digest, Sha256};

use crate::config::UploadLimits;
use crate::error::Error;
use crate::formats::{self, Format, HEAD_BYTES, Verdict, ZipEntries};
use crate::onnx;
use crate::runtime::{Availability, Runtime};
use crate::storage::Storage;
use crate::store::{self, ModelRow};

/// Upload parts in flight to object storage at once.
const PARTS_IN_FLIGHT: usize = 4;
/// The longest model name.
const MAX_NAME: usize = 128;

/// One message of an upload after its start.
#[derive(Debug)]
pub enum UploadPart {
    /// Bytes of the file.
    Chunk(Bytes),
    /// A form field (`name`, `format`, `filename`).
    Field(String, String),
}

/// The models. Cheap to clone.
#[derive(Debug, Clone)]
pub struct Models {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    database: Database,
    outbox: Outbox,
    storage: Storage,
    limits: UploadLimits,
    runtime: Runtime,
    pricing: Option<Pricing>,
}

/// What an inference costs and where it is charged.
#[derive(Debug, Clone)]
pub struct Pricing {
    /// The money path: guard-rail reservation, then the credits' debit.
    pub spending: gpuproxy_spending::Spending,
    /// `INFERENCE_REQUEST_COST`, micro-dollars.
    pub cost_micros: i64,
}

/// What the form said about the file.
#[derive(Debug, Default)]
struct Form {
    name: Option<String>,
    filename: String,
}

/// The file as it arrived.
struct Received {
    size: u64,
    head: Vec<u8>,
    sha256: String,
}

impl Models {
    /// Returns the models kept in `database` and `storage`, their events written to `outbox`,
    /// served by `runtime`, inferences charged by `pricing` when they cost something.
    pub fn new(
        database: Database,
        outbox: Outbox,
        storage: Storage,
        limits: UploadLimits,
        runtime: Runtime,
        pricing: Option<Pricing>,
    ) -> Self {
        Models {
            inner: Arc::new(Inner {
                database,
                outbox,
                storage,
                limits,
                runtime,
                pricing,
            }),
        }
    }

    /// What inferences cost, when they cost something.
    pub fn pricing(&self) -> Option<&Pricing> {
        self.inner.pricing.as_ref()
    }

    /// Returns the runtime models are served by.
    pub fn runtime(&self) -> &Runtime {
        &self.inner.runtime
    }

    /// Returns where artifacts are kept.
    pub fn storage(&self) -> &Storage {
        &self.inner.storage
    }

    /// Returns the outbox, whose relay the app runs.
    pub fn outbox(&self) -> &Outbox {
        &self.inner.outbox
    }

    /// Takes one upload of `user_id`'s. Refused uploads leave nothing in storage.
    pub async fn upload<S, E>(&self, user_id: UserId, parts: S) -> Result<ModelRow, Error>
    where
        S: Stream<Item = Result<UploadPart, E>> + Unpin,
        E: std::fmt::Display,
    {
        let user = user_id.to_string();
        let pool = self.inner.database.pool();
        let limits = self.inner.limits;
        let now = now_ms();
        let (hour, day) = store::uploads_since(pool, &user, now - 3_600_000, now - 86_400_000).await?;
        if hour >= i64::from(limits.per_hour) {
            return Err(Error::RateLimited {
                count: hour,
                window: "hour",
            });
        }
        if day >= i64::from(limits.per_day) {
            return Err(Error::RateLimited {
                count: day,
                window: "day",
            });
        }
        // Counted once admitted to start: a client refused for the rate adds nothing to it.
        store::record_upload(pool, &user, now, now - 86_400_000).await?;
        let used = u64::try_from(store::used_bytes(pool, &user).await?).unwrap_or(0);
        let id = uuid::Uuid::now_v7().to_string();
        let key = format!("models/{user}/{id}");
        let mut writer = self.inner.storage.writer(&key).await.inspect_err(|error| {
            tracing::error!(%error, "starting a model upload in object storage failed");
        })?;
        let mut form = Form::default();
        let received = match self.receive(parts, &mut writer, &mut form, used).await {
            Ok(received) => received,
            Err(error) => {
                if let Err(abort) = writer.abort().await {
                    tracing::warn!(%abort, key, "aborting a refused upload failed");
                }
                return Err(error);
            }
        };
        writer.finish().await.inspect_err(|error| {
            tracing::error!(%error, key, "completing a model upload in object storage failed");
        })?;
        match self.admit(&user, &id, &key, &form, &received).await {
            Ok(row) => Ok(row),
            Err(error) => {
                if let Err(delete) = self.inner.storage.delete(&key).await {
                    tracing::error!(%delete, key, "deleting a refused model's artifact failed");
                }
                if matches!(error, Error::Unsupported(_) | Error::Invalid(_)) {
                    self.publish_failed(&user, &id, &form, &received, &error).await;
                }
                Err(error)
            }
        }
    }

    /// Streams the file to `writer` within the limits, reading the form's fields on the way.
    async fn receive<S, E>(
        &self,
        mut parts: S,
        writer: &mut WriteMultipart,
        form: &mut Form,
        used: u64,
    ) -> Result<Received, Error>
    where
        S: Stream<Item = Result<UploadPart, E>> + Unpin,
        E: std::fmt::Display,
    {
        let limits = self.inner.limits;
        let mut size = 0u64;
        let mut head = Vec::with_capacity(HEAD_BYTES);
        let mut hasher = Sha256::new();
        while let Some(part) = parts.next().await {
            match part.map_err(|error| Error::InvalidField {
                field: "model",
                reason: format!("the upload broke off: {error}"),
            })? {
                UploadPart::Field(name, value) => read_field(form, &name, &value)?,
                UploadPart::Chunk(chunk) => {
                    size += u64::try_from(chunk.len()).unwrap_or(u64::MAX);
                    if size > limits.max_model_bytes {
                        return Err(Error::TooLarge(limits.max_model_bytes));
                    }
                    if used.saturating_add(size) > limits.quota_bytes {
                        return Err(Error::Quota {
                            quota: limits.quota_bytes,
                            used,
                        });
                    }
                    hasher.update(&chunk);
                    if head.len() < HEAD_BYTES {
                        let take = (HEAD_BYTES - head.len()).min(chunk.len());
                        head.extend_from_slice(&chunk[..take]);
                    }
                    writer.wait_for_capacity(PARTS_IN_FLIGHT).await?;
                    writer.put(chunk);
                }
            }
        }
        if form.name.is_none() {
            return Err(Error::InvalidField {
                field: "name",
                reason: "is required".to_owned(),
            });
        }
        if size == 0 {
            return Err(Error::InvalidField {
                field: "model",
                reason: "is required: send the model file".to_owned(),
            });
        }
        Ok(Received {
            size,
            head,
            sha256: hex::encode(hasher.finalize()),
        })
    }

    /// Tells the stored file's format, validates it and records the model.
    async fn admit(
        &self,
        user: &str,
        id: &str,
        key: &str,
        form: &Form,
        received: &Received,
    ) -> Result<ModelRow, Error> {
        let storage = &self.inner.storage;
        let entries = if formats::is_zip(&received.head) {
            let tail_start = received.size.saturating_sub(formats::zip::TAIL_BYTES);
            let tail = storage.read_range(key, tail_start..received.size).await?;
            let (offset, length) = ZipEntries::locate(&tail, received.size).ok_or_else(|| {
                Error::Invalid("the file is a zip archive that is truncated or corrupt".to_owned())
            })?;
            if length > formats::zip::MAX_DIRECTORY_BYTES {
                return Err(Error::Invalid(
                    "the zip archive lists too many files to be a model".to_owned(),
                ));
            }
            let directory = storage.read_range(key, offset..offset + length).await?;
            Some(
                ZipEntries::parse(&directory)
                    .ok_or_else(|| Error::Invalid("the zip archive's directory is corrupt".to_owned()))?,
            )
        } else {
            None
        };
        let format = formats::detect(&received.head, entries.as_ref()).ok_or_else(|| {
            Error::Unsupported(
                "the file is of no model format this server knows (ONNX, PyTorch, TorchScript, safetensors, pickle, joblib, skops, TensorFlow, Keras, HDF5, TFLite, GGUF, PMML, XGBoost, LightGBM); upload an ONNX model".to_owned(),
            )
        })?;
        let runtime = match format.verdict() {
            Verdict::Served(runtime) => runtime,
            Verdict::Refused { why, instead } => {
                return Err(Error::Unsupported(format!(
                    "the file is {}: {why}; {instead}",
                    format.name()
                )));
            }
        };
        let bytes = storage.read(key).await?;
        let signature = onnx::signature(&bytes).map_err(Error::Invalid)?;
        // With ONNX Runtime loaded, a model it cannot load is refused now, not at its first
        // prediction; its sessions stay loaded for that prediction.
        if matches!(self.inner.runtime.availability(), Availability::Ready) {
            self.inner
                .runtime
                .load_pool(id, bytes)
                .await
                .map_err(Error::Invalid)?;
        } else {
            drop(bytes);
        }
        let name = form.name.clone().unwrap_or_default();
        let tensors = |tensors: &[onnx::Tensor]| {
            tensors
                .iter()
                .map(
                    |tensor| json!({"name": tensor.name, "datatype": tensor.datatype, "shape": tensor.shape}),
                )
                .collect::<Vec<_>>()
        };
        let mut row = ModelRow {
            id: id.to_owned(),
            user_id: user.to_owned(),
            name,
            version: 0,
            format: format.name().to_owned(),
            runtime: runtime.to_owned(),
            status: "ready".to_owned(),
            size_bytes: i64::try_from(received.size).unwrap_or(i64::MAX),
            sha256: received.sha256.clone(),
            artifact_key: key.to_owned(),
            filename: form.filename.clone(),
            signature: json!({"inputs": tensors(&signature.inputs), "outputs": tensors(&signature.outputs)})
                .to_string(),
            created_at: now_ms(),
        };
        // Two uploads of one name at once: the second to insert takes the next version.
        let mut attempts = 0;
        loop {
            let mut transaction = self.inner.database.pool().begin().await?;
            // Uploads running side by side each checked the quota against what was stored when
            // they began: the last to finish checks it again.
            let used = u64::try_from(store::used_bytes(&mut *transaction, user).await?).unwrap_or(0);
            if used.saturating_add(received.size) > self.inner.limits.quota_bytes {
                self.inner.runtime.unload(id);
                return Err(Error::Quota {
                    quota: self.inner.limits.quota_bytes,
                    used,
                });
            }
            row.version = store::next_version(&mut *transaction, user, &row.name).await?;
            match store::insert(&mut *transaction, &row).await {
                Ok(()) => {
                    let event = model_event(
                        names::MODEL_READY,
                        &events::ModelReady {
                            user_id: row.user_id.clone(),
                            model_id: row.id.clone(),
                            name: row.name.clone(),
                            version: i32::try_from(row.version).unwrap_or(i32::MAX),
                            format: row.format.clone(),
                            size_bytes: row.size_bytes,
                            sha256: row.sha256.clone(),
                        },
                    )?;
                    self.inner.outbox.commit(transaction, &[event]).await?;
                    return Ok(row);
                }
                Err(error) if gpuproxy_db::is_unique_violation(&error) && attempts < 3 => attempts += 1,
                Err(error) => return Err(error.into()),
            }
        }
    }

    /// Publishes `model.failed` for a refused upload (nothing of it is kept).
    async fn publish_failed(&self, user: &str, id: &str, form: &Form, received: &Received, error: &Error) {
        use gpuproxy_errors::ServiceError;
        let format = formats::detect(&received.head, None)
            .map(Format::name)
            .unwrap_or_default();
        let published = async {
            let event = model_event(
                names::MODEL_FAILED,
                &events::ModelFailed {
                    user_id: user.to_owned(),
                    model_id: id.to_owned(),
                    name: form.name.clone().unwrap_or_default(),
                    format: format.to_owned(),
                    error_code: error.code().as_str().to_owned(),
                    reason: error.to_string(),
                },
            )?;
            let transaction = self.inner.database.pool().begin().await?;
            self.inner.outbox.commit(transaction, &[event]).await?;
            Ok::<_, Error>(())
        };
        if let Err(failure) = published.await {
            tracing::warn!(%failure, "publishing model.failed failed");
        }
    }

    /// `user_id`'s models, newest first, with the bytes they take and the quota.
    pub async fn list(&self, user_id: UserId) -> Result<(Vec<ModelRow>, u64, u64), Error> {
        let user = user_id.to_string();
        let pool = self.inner.database.pool();
        let rows = store::list(pool, &user).await?;
        let used = u64::try_from(store::used_bytes(pool, &user).await?).unwrap_or(0);
        Ok((rows, used, self.inner.limits.quota_bytes))
    }

    /// One of `user_id`'s models.
    pub async fn get(&self, user_id: UserId, id: &str) -> Result<ModelRow, Error> {
        store::find(self.inner.database.pool(), &user_id.to_string(), id)
            .await?
            .ok_or_else(|| Error::NotFound(id.to_owned()))
    }

    /// Deletes one of `user_id`'s models and its artifact: the row first (so nothing points at a
    /// missing file), then the file (a failure there is logged: the file is an orphan no route
    /// reaches).
    pub async fn delete(&self, user_id: UserId, id: &str) -> Result<(), Error> {
        let row = self.get(user_id, id).await?;
        let mut transaction = self.inner.database.pool().begin().await?;
        if !store::delete(&mut *transaction, &row.id).await? {
            return Err(Error::NotFound(id.to_owned()));
        }
        let event = model_event(
            names::MODEL_DELETED,
            &events::ModelDeleted {
                user_id: row.user_id.clone(),
                model_id: row.id.clone(),
                name: row.name.clone(),
                version: i32::try_from(row.version).unwrap_or(i32::MAX),
            },
        )?;
        self.inner.outbox.commit(transaction, &[event]).await?;
        self.inner.runtime.unload(&row.id);
        if let Err(error) = self.inner.storage.delete(&row.artifact_key).await {
            tracing::error!(%error, key = row.artifact_key, "deleting a deleted model's artifact failed; it is an orphan");
        }
        Ok(())
    }
}

/// Reads one form field into `form`.
fn read_field(form: &mut Form, name: &str, value: &str) -> Result<(), Error> {
    match name {
        "name" => {
            let value = value.trim();
            let fine = !value.is_empty()
                && value.len() <= MAX_NAME
                && value
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'));
            if !fine {
                return Err(Error::InvalidField {
                    field: "name",
                    reason: format!("must be 1 to {MAX_NAME} letters, digits, '-', '_' or '.'"),
                });
            }
            form.name = Some(value.to_owned());
        }
        "format" if !value.trim().is_empty() => {
            // Checked, not trusted: the bytes tell the format.
            Format::parse(value).ok_or_else(|| Error::InvalidField {
                field: "format",
                reason: format!("{value:?} is not a model format (the format is told from the file anyway)"),
            })?;
        }
        "filename" => form.filename = value.chars().take(255).collect(),
        _ => {}
    }
    Ok(())
}

fn model_event<T: serde::Serialize>(name: &str, data: &T) -> Result<Event, Error> {
    Event::new(name, data).map_err(|error| Error::Outbox(error.into()))
}

fn now_ms() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |elapsed| {
        i64::try_from(elapsed.as_millis()).unwrap_or(i64::MAX)
    })
}
