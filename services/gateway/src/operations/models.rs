//! Users' models: upload (streamed), list, get, delete.

use futures::Stream;
use gpuproxy_domain::Principal;
use gpuproxy_proto::gpuproxy::inference::v1 as pb;

use gpuproxy_errors::ErrorCode;

use crate::Error;
use crate::operations::Operations;

impl Operations {
    /// Streams one upload of `user`'s to the inference service: `parts` are the file's chunks and
    /// the form's fields; the start naming the user goes first. No time bound: a large model takes
    /// as long as its client takes to send it.
    pub async fn upload_model(
        &self,
        user: &Principal,
        parts: impl Stream<Item = pb::UploadRequest> + Send + 'static,
    ) -> Result<pb::Model, Error> {
        use futures::StreamExt;

        let start = pb::UploadRequest {
            part: Some(pb::upload_request::Part::Start(pb::UploadStart {
                user_id: user.user_id.to_string(),
            })),
        };
        let messages = futures::stream::once(async move { start }).chain(parts);
        Ok(self.inference.clone().upload(messages).await?.into_inner())
    }

    /// Whether the inference service serves (KServe V2's readiness).
    pub async fn inference_ready(&self) -> Result<(), Error> {
        if self.health.serving(&gpuproxy_config::INFERENCE).await {
            Ok(())
        } else {
            Err(Error::new(
                ErrorCode::Unavailable,
                "the inference service is not serving",
            ))
        }
    }

    /// `user`'s models, with the bytes they take and their quota.
    pub async fn list_models(&self, user: &Principal) -> Result<pb::ListResponse, Error> {
        self.call(self.inference.clone().list(pb::ListRequest {
            user_id: user.user_id.to_string(),
        }))
        .await
    }

    /// `user`'s model called `name` (or whose id it is): its latest version, or `version`; with
    /// every version of the name. KServe V2's fronts name models this way.
    pub async fn find_model(
        &self,
        user: &Principal,
        name: &str,
        version: Option<&str>,
    ) -> Result<(pb::Model, Vec<i32>), Error> {
        let listed = self.list_models(user).await?;
        let named: Vec<&pb::Model> = listed
            .models
            .iter()
            .filter(|model| model.name == name || model.model_id == name)
            .collect();
        let versions: Vec<i32> = named.iter().map(|model| model.version).collect();
        let wanted = match version {
            None | Some("") => named.iter().max_by_key(|model| model.version),
            Some(version) => named.iter().find(|model| model.version.to_string() == version),
        };
        let model = wanted.map(|model| (*model).clone()).ok_or_else(|| {
            Error::new(
                ErrorCode::NotFound,
                match version {
                    Some(version) if !version.is_empty() => format!("model {name} has no version {version}"),
                    _ => format!("model {name} not found"),
                },
            )
        })?;
        Ok((model, versions))
    }

    /// One of `user`'s models.
    pub async fn get_model(&self, user: &Principal, model_id: &str) -> Result<pb::Model, Error> {
        self.call(self.inference.clone().get(pb::GetRequest {
            user_id: user.user_id.to_string(),
            model_id: model_id.to_owned(),
        }))
        .await
    }

    /// Runs one of `user`'s models on `input` (flat) of `shape` (empty: the model's).
    pub async fn predict(
        &self,
        user: &Principal,
        model_id: &str,
        input: Vec<f32>,
        shape: Vec<i64>,
    ) -> Result<pb::InferResponse, Error> {
        self.call(self.inference.clone().infer(pb::InferRequest {
            user_id: user.user_id.to_string(),
            model_id: model_id.to_owned(),
            input,
            shape,
        }))
        .await
    }

    /// Deletes one of `user`'s models and its artifact.
    pub async fn delete_model(&self, user: &Principal, model_id: &str) -> Result<(), Error> {
        self.call(self.inference.clone().delete(pb::DeleteRequest {
            user_id: user.user_id.to_string(),
            model_id: model_id.to_owned(),
        }))
        .await?;
        Ok(())
    }
}
