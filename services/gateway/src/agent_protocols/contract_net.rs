//! FIPA's contract net for renting GPUs: a `cfp` (call for proposals) with offer filters is
//! answered with `propose`, one priced proposal per matching offer; `accept-proposal` naming one
//! rents exactly that offer (`inform` with the instance, or `refuse`/`failure`); `reject-proposal`
//! is acknowledged. Proposals are the offers themselves (`proposal-id` = `provider:offer_id`), so
//! nothing is held between the messages.

use serde_json::{Map, Value, json};

use crate::agent_actions::{AgentActions, Outcome};
use crate::agent_protocols::{Caller, error_object, refused_object, run};

/// Proposals offered when the call names no `count`.
const DEFAULT_PROPOSALS: u64 = 5;
/// The most proposals one call gets.
const MAX_PROPOSALS: u64 = 20;

/// A FIPA reply: its performative and content.
pub type Reply = (&'static str, Value);

/// Answers a call for proposals: the offers matching the content's filters (every field but
/// `action`, `query` and `count`), cheapest first, at most `count`.
pub async fn call_for_proposals(actions: &AgentActions, caller: &Caller, content: &Value) -> Reply {
    let mut filters: Map<String, Value> = content
        .as_object()
        .map(|object| {
            object
                .iter()
                .filter(|(field, _)| !matches!(field.as_str(), "action" | "query" | "count" | "parameters"))
                .map(|(field, value)| (field.clone(), value.clone()))
                .collect()
        })
        .unwrap_or_default();
    if let Some(Value::Object(parameters)) = content.get("parameters") {
        filters.extend(parameters.clone());
    }
    let count = content
        .get("count")
        .and_then(Value::as_u64)
        .unwrap_or(DEFAULT_PROPOSALS)
        .clamp(1, MAX_PROPOSALS);
    filters.insert("page_size".to_owned(), json!(count));
    match run(actions, caller, "list_gpu_instances", Value::Object(filters)).await {
        Ok(Outcome::Done(listed)) => {
            let proposals: Vec<Value> = listed["offers"]
                .as_array()
                .into_iter()
                .flatten()
                .map(|offer| {
                    let mut proposal = offer.clone();
                    proposal["proposal-id"] = json!(format!(
                        "{}:{}",
                        offer["provider"].as_str().unwrap_or_default(),
                        offer["offer_id"].as_str().unwrap_or_default()
                    ));
                    proposal
                })
                .collect();
            if proposals.is_empty() {
                (
                    "refuse",
                    json!({"reason": error_object(gpuproxy_errors::ErrorCode::InsufficientOffers, "no offer matches the call")}),
                )
            } else {
                ("propose", json!({"proposals": proposals}))
            }
        }
        Ok(Outcome::Failed { code, message }) => ("failure", json!({"reason": error_object(code, &message)})),
        Err(refused) => ("not-understood", json!({"reason": refused_object(&refused)})),
    }
}

/// Rents the accepted proposal: `proposal-id` (`provider:offer_id`) or `provider` and `offer_id`,
/// with an optional launch `config`.
pub async fn accept(actions: &AgentActions, caller: &Caller, content: &Value) -> Reply {
    let named = content
        .get("proposal-id")
        .and_then(Value::as_str)
        .and_then(|id| id.split_once(':'));
    let (provider, offer_id) = match named {
        Some((provider, offer_id)) => (provider.to_owned(), offer_id.to_owned()),
        None => match (content["provider"].as_str(), content["offer_id"].as_str()) {
            (Some(provider), Some(offer_id)) => (provider.to_owned(), offer_id.to_owned()),
            _ => {
                return (
                    "not-understood",
                    json!({"reason": "accept-proposal names the proposal-id a propose gave (provider:offer_id)"}),
                );
            }
        },
    };
    let mut arguments = json!({"provider": provider, "offer_id": offer_id});
    if let Some(config) = content.get("config") {
        arguments["config"] = config.clone();
    }
    match run(actions, caller, "create_gpu_instance", arguments).await {
        Ok(Outcome::Done(instance)) => ("inform", json!({"done": "accept-proposal", "result": instance})),
        // The contract net answers an accepted proposal with `inform` or `failure` only: a spending
        // limit is a failure here, with its reason.
        Ok(Outcome::Failed { code, message }) => ("failure", json!({"reason": error_object(code, &message)})),
        Err(refused) => ("not-understood", json!({"reason": refused_object(&refused)})),
    }
}

/// Acknowledges a rejected proposal: nothing was held for it.
pub fn reject(content: &Value) -> Reply {
    (
        "inform",
        json!({"done": "reject-proposal", "proposal-id": content.get("proposal-id").cloned().unwrap_or(Value::Null)}),
    )
}
