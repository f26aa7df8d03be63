//! identity-center-operator: AWS IAM Identity Center instances as Kubernetes objects.
//!
//! The flow: [`api`] (the custom resource) -> [`controller`] (decide, then act)
//! -> [`sso`] (the SSO Admin port).

#![forbid(unsafe_code)]

pub mod api;
pub mod command;
pub mod controller;
pub mod leader;
pub mod lifecycle;
pub mod metrics;
pub mod server;
pub mod sso;
pub mod tables;

/// Test objects on the real types, shared by every test module.
#[cfg(test)]
pub(crate) mod fixtures;
