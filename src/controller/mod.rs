//! Reconciles `IdentityCenterInstance` objects against SSO Admin: `decide`
//! holds the pure decisions, `reconcile` performs them, `run` wires the watch.

pub mod claims;
mod cluster;
pub mod conditions;
mod context;
pub mod decide;
pub mod errors;
mod fairness;
mod malformed;
pub mod ownership;
mod reconcile;
mod resync;
mod run;
pub mod tenancy;

pub use cluster::FIELD_MANAGER;
pub use context::{Context, Settings};
pub use reconcile::{Error, Next, reconcile};
pub use run::{Readiness, Watched, run};
pub use tenancy::Mode as TenancyMode;

#[cfg(test)]
mod tests;
