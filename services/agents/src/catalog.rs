//! The catalog: every action an agent can take, each defined once. The schemas are derived from
//! the types the action reads and answers (`actions/`), which refuse what the schema refuses.

use std::sync::LazyLock;

use schemars::JsonSchema;
use serde_json::Value;

use crate::actions::{
    CheckSpendingInput, CheckSpendingOutput, CreateInstanceInput, CreditsOutput, DestroyInstanceInput,
    DestroyedOutput, InstanceOutput, InstancesOutput, LoadInput, LoadOutput, MyInstancesInput, NoInput,
    OffersInput, OffersOutput, ProxyInput, ProxyOutput, ReserveInput, ReservedOutput, SpendingOutput,
    StrategyInput, StrategyOutput, TransactionsInput, TransactionsOutput,
};

/// What an action does to the caller's world.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Effect {
    /// Changes nothing.
    Reads,
    /// Changes a setting; doing it twice changes nothing more.
    Sets,
    /// Rents GPUs: spends the caller's money, through the guard rails and billing.
    Spends,
    /// Destroys something that cannot be had back.
    Destroys,
    /// Carries a request to the caller's instances (and may cost `PROXY_REQUEST_COST`): the
    /// gateway's data plane runs it, as it runs `POST /api/v1/gpu/proxy`.
    Proxies,
}

/// One action.
#[derive(Debug, Clone)]
pub struct ActionSpec {
    /// snake_case, unique.
    pub name: &'static str,
    /// What it does, for the agent choosing it.
    pub description: &'static str,
    /// What it does to the caller's world.
    pub effect: Effect,
    /// Other names agents use for it: the seeds' dotted names and FIPA/KQML query terms.
    pub aliases: &'static [&'static str],
    /// The JSON Schema of its arguments object.
    pub input_schema: Value,
    /// The JSON Schema of its result object.
    pub output_schema: Value,
}

impl ActionSpec {
    fn new<I: JsonSchema, O: JsonSchema>(
        name: &'static str,
        aliases: &'static [&'static str],
        effect: Effect,
        description: &'static str,
    ) -> Self {
        ActionSpec {
            name,
            description,
            effect,
            aliases,
            input_schema: schema::<I>(),
            output_schema: schema::<O>(),
        }
    }

    /// Whether it changes nothing.
    pub fn read_only(&self) -> bool {
        self.effect == Effect::Reads
    }

    /// Whether it spends (or may spend) the caller's money.
    pub fn spends_money(&self) -> bool {
        matches!(self.effect, Effect::Spends | Effect::Proxies)
    }

    /// Whether the gateway's data plane runs it rather than this service.
    pub fn runs_in_gateway(&self) -> bool {
        self.effect == Effect::Proxies
    }

    /// Whether it destroys something.
    pub fn destructive(&self) -> bool {
        self.effect == Effect::Destroys
    }

    /// Whether calling it again with the same arguments changes nothing more.
    pub fn idempotent(&self) -> bool {
        matches!(self.effect, Effect::Reads | Effect::Sets | Effect::Destroys)
    }
}

/// A call that ran no action.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum CallError {
    /// The catalog has no action of this name.
    #[error("there is no action {0:?}; list the actions to see what there is")]
    UnknownAction(String),
    /// The arguments do not match the action's input schema.
    #[error("the arguments do not match the input schema: {0}")]
    InvalidArguments(String),
    /// The gateway's data plane runs this action, not this service.
    #[error("{0} carries traffic to your instances: the gateway runs it")]
    RunsInGateway(String),
}

/// Every action, in the order agents are shown them.
pub fn actions() -> &'static [ActionSpec] {
    static ACTIONS: LazyLock<Vec<ActionSpec>> = LazyLock::new(|| {
        use Effect::{Destroys, Proxies, Reads, Sets, Spends};
        vec![
            ActionSpec::new::<OffersInput, OffersOutput>(
                "list_gpu_instances",
                &["gpu.list", "gpu-instances", "gpus", "offers"],
                Reads,
                "List GPU offers of vast.ai and io.net that can be rented now, with filters, sorting and pages.",
            ),
            ActionSpec::new::<CreateInstanceInput, InstanceOutput>(
                "create_gpu_instance",
                &["gpu.create", "gpu.rent", "create-instance"],
                Spends,
                "Rent one offer from list_gpu_instances; the instance starts pending and runs shortly after. Spends money: the guard rails and credits are checked first.",
            ),
            ActionSpec::new::<DestroyInstanceInput, DestroyedOutput>(
                "destroy_gpu_instance",
                &["gpu.destroy", "destroy-instance"],
                Destroys,
                "Destroy one of your rented instances; billing stops.",
            ),
            ActionSpec::new::<MyInstancesInput, InstancesOutput>(
                "list_my_instances",
                &["gpu.mine", "instances.list", "my-instances", "instances"],
                Reads,
                "List your rented instances with their state, endpoint and price.",
            ),
            ActionSpec::new::<ReserveInput, ReservedOutput>(
                "reserve_gpus",
                &["gpu.reserve", "reserve", "reservation"],
                Spends,
                "Reserve 1 to 16 GPUs at once, picked by price and rented in parallel, and wait (reporting progress) until they run. Spends money: the guard rails and credits are checked first.",
            ),
            ActionSpec::new::<NoInput, SpendingOutput>(
                "get_spending_info",
                &["spending.info", "spending"],
                Reads,
                "Show your spending in the guard rails' 17 time windows against their limits.",
            ),
            ActionSpec::new::<CheckSpendingInput, CheckSpendingOutput>(
                "check_spending_limit",
                &["spending.check", "spending-check"],
                Reads,
                "Check whether spending an estimated cost now would pass any spending limit.",
            ),
            ActionSpec::new::<TransactionsInput, TransactionsOutput>(
                "get_billing_transactions",
                &["billing.transactions", "transactions"],
                Reads,
                "List your payments, newest first.",
            ),
            ActionSpec::new::<NoInput, CreditsOutput>(
                "get_credits",
                &["billing.credits", "credits"],
                Reads,
                "Show your credit balance, overage and cap.",
            ),
            ActionSpec::new::<LoadInput, LoadOutput>(
                "get_load_info",
                &["lb.load", "load"],
                Reads,
                "Show the load balancer's strategy and the load of each of your instances.",
            ),
            ActionSpec::new::<StrategyInput, StrategyOutput>(
                "set_lb_strategy",
                &["lb.strategy", "lb-strategy"],
                Sets,
                "Choose how your requests are spread over your instances.",
            ),
            ActionSpec::new::<ProxyInput, ProxyOutput>(
                "proxy_inference_request",
                &["inference.proxy", "proxy", "inference"],
                Proxies,
                "Send one inference request to your running instances (the load balancer picks one) or to a public URL, and get the upstream's status, headers and body.",
            ),
        ]
    });
    &ACTIONS
}

/// Returns the action called `name`.
pub fn action(name: &str) -> Option<&'static ActionSpec> {
    actions().iter().find(|action| action.name == name)
}

/// Returns the action called `name` or known by it as an alias.
pub fn action_named(name: &str) -> Option<&'static ActionSpec> {
    action(name).or_else(|| actions().iter().find(|action| action.aliases.contains(&name)))
}

/// The schema of `T` as a JSON object, without the draft's `$schema` line (MCP and the agent
/// protocols embed it in their own documents).
fn schema<T: JsonSchema>() -> Value {
    let mut schema = schemars::schema_for!(T).to_value();
    if let Some(object) = schema.as_object_mut() {
        object.remove("$schema");
    }
    schema
}

#[cfg(test)]
mod tests;
