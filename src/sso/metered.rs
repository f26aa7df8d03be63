//! Counts every call through the port by operation and outcome, and times it.

use std::future::Future;
use std::sync::Arc;
use std::time::Instant;

use async_trait::async_trait;

use super::{Around, Call, RoleRef, SsoError};
use crate::metrics::Metrics;

/// Around each call: its operation, outcome and duration into the metrics.
pub struct Metering {
    metrics: Arc<Metrics>,
}

impl Metering {
    pub fn new(metrics: Arc<Metrics>) -> Self {
        Self { metrics }
    }
}

#[async_trait]
impl Around for Metering {
    async fn around<T: Send>(
        &self,
        call: Call<'_>,
        inner: impl Future<Output = Result<T, SsoError>> + Send,
    ) -> Result<T, SsoError> {
        let started = Instant::now();
        let result = inner.await;
        let outcome = match &result {
            Ok(_) => "success".to_string(),
            Err(e) => e.kind.to_string(),
        };
        self.metrics.aws_call(call.operation, &outcome, started.elapsed());
        result
    }

    /// Metrics are kept per operation, never per role: nothing to forget.
    fn role_forgotten(&self, _: &RoleRef) {}
}
