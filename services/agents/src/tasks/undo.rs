//! What a canceled task takes back: the instances its action rented, destroyed as its user.

use serde_json::{Value, json};
use tokio::sync::mpsc;

use crate::{Actions, Caller};

/// Destroys what `action` rented according to its `output` (`reserve_gpus`' instances, the one
/// instance of `create_gpu_instance`); other actions rent nothing. A destroy that fails is logged:
/// the instance stays the user's, listed with their instances, and billing follows it as usual.
pub async fn destroy_rented(actions: &Actions, caller: Caller, action: &str, output: &Value) {
    let rented: Vec<&Value> = match action {
        "reserve_gpus" => output["instances"]
            .as_array()
            .map(|all| all.iter().collect())
            .unwrap_or_default(),
        "create_gpu_instance" => vec![output],
        _ => return,
    };
    let (progress, _) = mpsc::channel(1);
    for instance in rented {
        let arguments = json!({
            "provider": instance["provider"],
            "instance_id": instance["instance_id"],
        });
        match actions
            .call(caller, "destroy_gpu_instance", arguments, "", &progress)
            .await
        {
            Ok(Ok(_)) => {}
            Ok(Err(error)) => tracing::warn!(
                %error, instance = %instance["instance_id"], "destroying what a canceled task rented failed"
            ),
            Err(error) => tracing::error!(
                %error, instance = %instance["instance_id"], "destroying what a canceled task rented was refused"
            ),
        }
    }
}
