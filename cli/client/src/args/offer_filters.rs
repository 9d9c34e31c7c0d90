//! The offer filters that `list` and `reserve` share.

use serde_json::Value;

/// Which offers qualify; every filter is optional and absent ones do not filter.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct OfferFilterArgs {
    /// Minimum VRAM per GPU, GB.
    #[arg(long)]
    pub min_vram: Option<f64>,
    /// Maximum USD per hour for the whole offer.
    #[arg(long)]
    pub max_price: Option<f64>,
    /// Case-insensitive substring of the GPU model, e.g. 4090.
    #[arg(long)]
    pub gpu_model: Option<String>,
    /// A two-letter country code or a substring of the location.
    #[arg(long)]
    pub location: Option<String>,
    /// Exact number of GPUs.
    #[arg(long)]
    pub num_gpus: Option<u32>,
}

impl OfferFilterArgs {
    /// Returns the filters as query parameters, in the order the server documents them.
    pub fn query_pairs(&self) -> Vec<(&'static str, Option<String>)> {
        vec![
            ("min_vram", self.min_vram.map(|value| value.to_string())),
            ("max_price", self.max_price.map(|value| value.to_string())),
            ("gpu_model", self.gpu_model.clone()),
            ("location", self.location.clone()),
            ("num_gpus", self.num_gpus.map(|value| value.to_string())),
        ]
    }

    /// Returns the filters as JSON fields with their numeric types kept, absent ones left out.
    pub fn json_fields(&self) -> Vec<(&'static str, Option<Value>)> {
        vec![
            ("min_vram", self.min_vram.map(Value::from)),
            ("max_price", self.max_price.map(Value::from)),
            ("gpu_model", self.gpu_model.clone().map(Value::from)),
            ("location", self.location.clone().map(Value::from)),
            ("num_gpus", self.num_gpus.map(Value::from)),
        ]
    }
}
