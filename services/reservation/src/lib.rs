//! The reservation service: who rented which GPU instance, reservations of up to 16 GPUs at once,
//! and the load balancer that spreads each user's traffic over their running instances. No paid
//! instance is ever leaked: a row is written before every rent, the rent carries the row's id as
//! its provider-side label, and a reconciler adopts or destroys whatever a crash left behind.
//!
//! Layout: `service.rs` holds the shared state; the use cases are `rent.rs` (one offer),
//! `instances.rs` (create, get, list, destroy), `reserve.rs` (many at once, release),
//! `follow.rs` (until running, health probes), `reconcile.rs` (records against providers),
//! `autostop.rs` (idle instances), `meter.rs` (run time billed by the minute), and `routing.rs` (strategies, picks, loads) over `balancer/`;
//! `domain/` holds pure rules, `launch.rs` the validated launch configuration, `repo/` the tables,
//! `view.rs` the API view of a row; `grpc.rs` is the internal API; `app.rs` builds and runs it.

mod app;
mod autostop;
mod balancer;
mod config;
mod domain;
mod error;
mod follow;
mod grpc;
mod instances;
mod launch;
mod meter;
mod reconcile;
mod rent;
mod repo;
mod reserve;
mod routing;
mod service;
mod view;

pub use app::App;
pub use balancer::Balancer;
pub use config::{Config, HealthSettings, LoadBalancerConfig, Periods};
pub use domain::{InstanceStatus, Labels};
pub use error::Error;
pub use meter::cost_of_minutes;
pub use reconcile::Reconciled;
pub use reserve::MAX_RESERVATION;
pub use service::Reservations;
