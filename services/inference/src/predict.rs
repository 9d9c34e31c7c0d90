//! Running a model: the caller's flat FP32 input given the model's input shape (a dimension of any
//! size, -1, is read from the input's length), run on a session of the model's pool.

use gpuproxy_domain::UserId;
use serde_json::Value;

use crate::error::Error;
use crate::models::Models;
use crate::runtime::{Availability, InferError, Outcome};

impl Models {
    /// Runs `user_id`'s model `id` on `input` (flat) of `shape` (empty: from the model's shape).
    pub async fn infer(
        &self,
        user_id: UserId,
        id: &str,
        input: Vec<f32>,
        shape: Vec<i64>,
    ) -> Result<Outcome, Error> {
        let row = self.get(user_id, id).await?;
        let runtime = self.runtime();
        if let Availability::Missing(why) = runtime.availability() {
            return Err(Error::RuntimeMissing(why));
        }
        let signature: Value = serde_json::from_str(&row.signature).unwrap_or(Value::Null);
        let inputs = signature["inputs"].as_array().cloned().unwrap_or_default();
        let [declared] = inputs.as_slice() else {
            return Err(Error::BadInput(format!(
                "this release serves models with one FP32 input; this one takes {}",
                describe(&inputs)
            )));
        };
        if declared["datatype"] != "FP32" {
            return Err(Error::BadInput(format!(
                "this release serves models with one FP32 input; this one takes {}",
                describe(&inputs)
            )));
        }
        let wanted: Vec<i64> = declared["shape"]
            .as_array()
            .map(|dims| dims.iter().filter_map(Value::as_i64).collect())
            .unwrap_or_default();
        let shape = resolve(&wanted, input.len(), &shape)
            .map_err(|why| Error::BadInput(format!("{why}; the model takes {}", describe(&inputs))))?;
        // Charged once the input fits, before it runs: a refusal runs nothing.
        if let Some(pricing) = self.pricing() {
            let key = format!("inference:{}", uuid::Uuid::now_v7());
            let what = format!("inference of {} v{}", row.name, row.version);
            let charge = gpuproxy_spending::Charge {
                user_id,
                cost_micros: pricing.cost_micros,
                idempotency_key: &key,
                description: &what,
                kind: "inference",
            };
            pricing
                .spending
                .charge(charge)
                .await
                .map_err(|refusal| Error::Refused {
                    code: refusal.code,
                    message: refusal.message,
                })?;
        }
        let pool =
            match runtime.cached(&row.id) {
                Some(pool) => pool,
                None => {
                    let bytes = self.storage().read(&row.artifact_key).await.inspect_err(|error| {
                    tracing::error!(%error, key = row.artifact_key, "reading a model's artifact failed");
                })?;
                    runtime.load_pool(&row.id, bytes).await.map_err(Error::Invalid)?
                }
            };
        tokio::task::spawn_blocking(move || pool.infer(input, shape))
            .await
            .map_err(|error| Error::Internal(format!("an inference panicked: {error}")))?
            .map_err(|error| match error {
                InferError::Input(why) => Error::BadInput(why),
                InferError::Model(why) => Error::Unsupported(why),
            })
    }
}

/// `name: DATATYPE [d, …]` of each tensor.
fn describe(tensors: &[Value]) -> String {
    tensors
        .iter()
        .map(|tensor| {
            format!(
                "{}: {} {}",
                tensor["name"].as_str().unwrap_or("?"),
                tensor["datatype"].as_str().unwrap_or("?"),
                tensor["shape"]
            )
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// The shape to run `length` values as: `given` checked against `wanted`, or `wanted` with its one
/// dimension of any size (-1) read from `length` (more than one: every other must be 1, as a batch
/// of one).
pub fn resolve(wanted: &[i64], length: usize, given: &[i64]) -> Result<Vec<i64>, String> {
    let length = i64::try_from(length).map_err(|_| "the input is too long".to_owned())?;
    if length == 0 {
        return Err("the input is empty".to_owned());
    }
    if !given.is_empty() {
        let fits = given.len() == wanted.len()
            && given
                .iter()
                .zip(wanted)
                .all(|(size, want)| *size > 0 && (*want < 0 || size == want))
            && given
                .iter()
                .try_fold(1i64, |product, size| product.checked_mul(*size))
                == Some(length);
        return if fits {
            Ok(given.to_vec())
        } else {
            Err(format!(
                "shape {given:?} does not fit {length} values and the model's shape {wanted:?}"
            ))
        };
    }
    let fixed = wanted
        .iter()
        .filter(|size| **size > 0)
        .try_fold(1i64, |product, size| product.checked_mul(*size))
        .unwrap_or(0);
    let open = wanted.iter().filter(|size| **size <= 0).count();
    if fixed == 0 || length % fixed != 0 {
        return Err(format!(
            "{length} values do not fill the model's shape {wanted:?}"
        ));
    }
    let mut rest = length / fixed;
    let shape = wanted
        .iter()
        .map(|size| {
            if *size > 0 {
                *size
            } else {
                // The first open dimension takes what is left; any other is 1.
                std::mem::replace(&mut rest, 1)
            }
        })
        .collect::<Vec<_>>();
    if open == 0 && length != fixed {
        return Err(format!(
            "{length} values do not fill the model's shape {wanted:?}"
        ));
    }
    Ok(shape)
}

#[cfg(test)]
mod tests {
    use super::resolve;

    #[test]
    fn an_open_dimension_takes_the_batch() {
        assert_eq!(resolve(&[-1, 4], 8, &[]), Ok(vec![2, 4]));
        assert_eq!(resolve(&[-1, 4], 4, &[]), Ok(vec![1, 4]));
        assert_eq!(resolve(&[3], 3, &[]), Ok(vec![3]));
        assert!(resolve(&[-1, 4], 6, &[]).is_err());
        assert!(resolve(&[3], 4, &[]).is_err());
        assert_eq!(resolve(&[-1, 4], 8, &[2, 4]), Ok(vec![2, 4]));
        assert!(resolve(&[-1, 4], 8, &[4, 2]).is_err());
        assert!(resolve(&[-1, 4], 0, &[]).is_err());
        assert!(
            resolve(&[-1, -1], 2, &[3, 6_148_914_691_236_517_206]).is_err(),
            "no overflow"
        );
    }
}
