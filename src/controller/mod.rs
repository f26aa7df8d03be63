//! Reconciles `IdentityCenterInstance` objects against SSO Admin: `decide`
//! holds the pure decisions, `reconcile` performs them, `run` wires the watch.

pub mod claims;
mod cluster;
pub mod conditions;
mod context;
pub mod decide;
pub mod errors;
mod fairness;
mod index;
mod listing;
mod malformed;
mod next;
mod observed;
pub mod ownership;
pub mod reasons;
mod reconcile;
mod resync;
mod run;
pub mod tenancy;
mod triggers;
mod watched;

pub use cluster::FIELD_MANAGER;
pub use context::{Context, Settings};
pub use listing::Listing;
pub use next::{Error, Next};
pub use reconcile::reconcile;
pub use run::run;
pub use tenancy::Mode as TenancyMode;
pub use watched::Watched;

#[cfg(test)]
mod tests;
