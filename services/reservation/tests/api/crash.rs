//! The service killed in the middle of a 16-GPU reservation leaks nothing: after a restart, every
//! instance the providers run for us is recorded (adopted) or destroyed, and none is forgotten.

use std::time::Duration;

use gpuproxy_proto::gpuproxy::catalog::v1 as catalog;
use gpuproxy_proto::gpuproxy::reservation::v1 as pb;
use gpuproxy_provider_sim::{Faults, SimProvider};

use crate::helpers::{ALICE, Backend, Harness, eventually, launch};

/// How late the providers' answers arrive after they rented: the kill falls between a rent and its
/// record, the window a real crash would hit.
const ANSWER_DELAY_MS: u64 = 3_000;

async fn a_process_killed_mid_reservation_leaks_no_instance(backend: Backend) {
    let mut harness = Harness::start_idle(backend, &[("SERVICE_CALL_TIMEOUT", "5s")]).await;
    harness.offers(catalog::OfferFilters::default(), 10).await;
    for provider in [SimProvider::VastAi, SimProvider::IoNet] {
        harness.sim.set_faults(
            provider,
            Faults {
                answer_delay_ms: ANSWER_DELAY_MS,
                ..Faults::default()
            },
        );
    }

    // The doomed process: its own runtime, so that dropping it ends every task at its next await,
    // as a SIGKILL would, with no destructor or shutdown path running to its end.
    let config = harness.config.clone();
    let bus = harness.bus.clone();
    let catalog = harness.catalog.clone();
    let (kill, killed) = std::sync::mpsc::channel::<()>();
    let doomed = std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .expect("a runtime");
        runtime.spawn(async move {
            let context =
                gpuproxy_server::ServiceContext::new(bus).with_peer(&gpuproxy_config::CATALOG, catalog);
            let app = <gpuproxy_reservation::App as gpuproxy_server::HostedService>::build(config, context)
                .await
                .expect("builds");
            let _ = app
                .service()
                .reserve(pb::ReserveRequest {
                    user_id: ALICE.to_string(),
                    count: 16,
                    filters: Some(catalog::OfferFilters::default()),
                    config: Some(launch(0)),
                    idempotency_key: String::new(),
                })
                .await;
        });
        killed.recv().expect("the kill signal");
        runtime.shutdown_background();
    });
    // Kill as soon as the providers have rented some, while the reservation waits for their answers.
    eventually(Duration::from_secs(20), || {
        let rented = harness.instances_at_providers();
        async move { (rented >= 4).then_some(()) }
    })
    .await;
    kill.send(()).expect("the doomed process listens");
    doomed.join().expect("the doomed process ends");
    let rented_at_kill = harness.instances_at_providers();
    assert!(rented_at_kill >= 4, "the kill left paid instances behind");
    for provider in [SimProvider::VastAi, SimProvider::IoNet] {
        harness.sim.set_faults(provider, Faults::default());
    }

    // The restart reconciles: rents the providers made are adopted; rows whose rent never reached a
    // provider fail after the longest a rent can take (2 × SERVICE_CALL_TIMEOUT).
    let _restarted = harness.build_app().await;
    let service = harness.service.clone();
    let adopted = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let counted = std::sync::Arc::clone(&adopted);
    eventually(Duration::from_secs(30), || {
        let service = service.clone();
        let counted = std::sync::Arc::clone(&counted);
        async move {
            let report = service.reconcile().await.expect("reconciled");
            counted.fetch_add(report.adopted, std::sync::atomic::Ordering::Relaxed);
            let live = service.list_instances(ALICE, false).await.expect("listed");
            live.iter()
                .all(|instance| instance.status != "creating")
                .then_some(())
        }
    })
    .await;
    let recorded = harness
        .service
        .list_instances(ALICE, false)
        .await
        .expect("listed");
    assert_eq!(
        recorded.len(),
        harness.instances_at_providers(),
        "every instance at a provider is recorded, and every record is at a provider: {recorded:?}"
    );
    assert!(
        adopted.load(std::sync::atomic::Ordering::Relaxed) >= rented_at_kill,
        "every rent the kill interrupted was adopted ({rented_at_kill} rented at the kill)"
    );
    assert!(recorded.iter().all(|instance| !instance.instance_id.is_empty()));

    // Adopted instances are the owner's like any other: destroying them leaves nothing running.
    for instance in &recorded {
        assert!(
            harness
                .service
                .destroy_instance(ALICE, &instance.provider, &instance.instance_id)
                .await
                .expect("destroyed")
        );
    }
    assert_eq!(harness.instances_at_providers(), 0);
}

crate::on_both_databases!(a_process_killed_mid_reservation_leaks_no_instance);
