//! The internal services this binary runs: one entry per row of the service table.

use gpuproxy_config::{SERVICES, ServiceSpec};
use gpuproxy_server::ServiceEntry;

/// Returns every service this binary can run, in the order of the service table (each after the
/// services it calls).
pub fn registry() -> Vec<ServiceEntry> {
    let entries = [
        ServiceEntry::of::<gpuproxy_auth::App>(),
        ServiceEntry::of::<gpuproxy_catalog::App>(),
        ServiceEntry::of::<gpuproxy_guardrails::App>(),
        ServiceEntry::of::<gpuproxy_billing::App>(),
        ServiceEntry::of::<gpuproxy_webhooks::App>(),
        ServiceEntry::of::<gpuproxy_reservation::App>(),
        ServiceEntry::of::<gpuproxy_agents::App>(),
        ServiceEntry::of::<gpuproxy_inference::App>(),
    ];
    SERVICES
        .into_iter()
        .filter_map(|spec| entries.iter().find(|entry| entry.spec == spec).copied())
        .collect()
}

/// Returns the entry of `spec`.
pub fn entry(spec: &ServiceSpec) -> Option<ServiceEntry> {
    registry().into_iter().find(|entry| entry.spec == spec)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_row_of_the_service_table_has_exactly_one_entry() {
        let names: Vec<&str> = registry().iter().map(|entry| entry.spec.name).collect();
        let table: Vec<&str> = SERVICES.iter().map(|spec| spec.name).collect();
        assert_eq!(names, table);
    }
}
