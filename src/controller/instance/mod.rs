//! The IdentityCenterInstance controller: `run` wires its watch to
//! `reconcile`, which asks `decide` (pure) and acts through the SSO port and
//! `cluster` (the object's Kubernetes writes). What it keeps per watched
//! object (`index`, `triggers`) follows the watch.

mod cluster;
pub mod decide;
mod index;
mod malformed;
mod observed;
pub mod ownership;
mod reconcile;
mod run;
mod triggers;

pub use reconcile::reconcile;
pub use run::run;

#[cfg(test)]
mod tests;
