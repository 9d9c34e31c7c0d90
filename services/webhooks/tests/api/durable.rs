//! With NATS, events published while the service is down are delivered once it is back.

use std::time::Duration;

use gpuproxy_events::EventBus;

use crate::helpers::{Backend, Harness, fresh_user, instance_created};
use gpuproxy_testkit::HookReceiver as Receiver;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn events_published_while_the_service_is_down_are_delivered_after_it_restarts() {
    let nats = gpuproxy_testkit::nats_config();
    let bus = EventBus::connect(&nats).await.expect("nats is running");
    let harness = Harness::start_with(Backend::Postgres, bus.clone(), &[]).await;
    let receiver = Receiver::start().await;
    let user = fresh_user();
    let subscription = harness
        .subscribe(&user, &receiver.url, &["instance.created"])
        .await;
    harness.publish(&instance_created(&user, "before")).await;
    receiver.wait_for(1, Duration::from_secs(10)).await;

    let database = harness.stop().await;
    harness_free_events(&bus, &user).await;
    assert_eq!(
        receiver.received().len(),
        1,
        "nothing is delivered while the service is down"
    );

    let harness = Harness::start_on(database, bus, &[]).await;
    let received = receiver.wait_for(4, Duration::from_secs(10)).await;
    let mut instances: Vec<String> = received
        .iter()
        .map(|request| request.json()["data"]["instance_id"].as_str().unwrap().to_owned())
        .collect();
    // Up to WEBHOOK_PER_RECEIVER_CONCURRENCY attempts run at once, so arrival order is not promised.
    instances.sort();
    assert_eq!(instances, ["before", "during-0", "during-1", "during-2"]);
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(
        receiver.received().len(),
        4,
        "the event read before the restart is not sent again"
    );
    assert_eq!(harness.deliveries(&user, &subscription.id).await.len(), 4);
}

async fn harness_free_events(bus: &EventBus, user: &str) {
    for number in 0..3 {
        bus.publish(&instance_created(user, &format!("during-{number}")))
            .await
            .expect("published while the service is down");
    }
}
