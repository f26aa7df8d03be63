//! Counts every call through the port by operation and outcome, and times it.

use std::future::Future;
use std::sync::Arc;
use std::time::Instant;

use async_trait::async_trait;

use super::{CreateInstance, Instance, RoleRef, SsoAdmin, SsoError, Tags, Target, Workflow};
use crate::metrics::Metrics;

pub struct Metered<S> {
    inner: S,
    metrics: Arc<Metrics>,
}

impl<S> Metered<S> {
    pub fn new(inner: S, metrics: Arc<Metrics>) -> Self {
        Self { inner, metrics }
    }

    async fn count<T>(&self, operation: &str, call: impl Future<Output = Result<T, SsoError>>) -> Result<T, SsoError> {
        let started = Instant::now();
        let result = call.await;
        let outcome = match &result {
            Ok(_) => "success".to_string(),
            Err(e) => e.kind.to_string(),
        };
        self.metrics.aws_call(operation, &outcome, started.elapsed());
        result
    }
}

#[async_trait]
impl<S: SsoAdmin> SsoAdmin for Metered<S> {
    async fn caller_account(&self, target: &Target) -> Result<String, SsoError> {
        self.count("GetCallerIdentity", self.inner.caller_account(target)).await
    }
    async fn create_instance(&self, target: &Target, input: &CreateInstance) -> Result<String, SsoError> {
        self.count("CreateInstance", self.inner.create_instance(target, input)).await
    }
    async fn describe_instance(&self, target: &Target, arn: &str) -> Result<Instance, SsoError> {
        self.count("DescribeInstance", self.inner.describe_instance(target, arn)).await
    }
    async fn list_instances(&self, target: &Target) -> Result<Vec<Instance>, SsoError> {
        self.count("ListInstances", self.inner.list_instances(target)).await
    }
    async fn update_instance_name(&self, target: &Target, arn: &str, name: &str) -> Result<(), SsoError> {
        self.count("UpdateInstance", self.inner.update_instance_name(target, arn, name)).await
    }
    async fn start_workflow(&self, target: &Target, arn: &str, workflow: &Workflow) -> Result<(), SsoError> {
        self.count(workflow.operation(), self.inner.start_workflow(target, arn, workflow)).await
    }
    async fn delete_instance(&self, target: &Target, arn: &str) -> Result<(), SsoError> {
        self.count("DeleteInstance", self.inner.delete_instance(target, arn)).await
    }
    async fn list_tags(&self, target: &Target, arn: &str) -> Result<Tags, SsoError> {
        self.count("ListTagsForResource", self.inner.list_tags(target, arn)).await
    }
    async fn tag_instance(&self, target: &Target, arn: &str, tags: &Tags) -> Result<(), SsoError> {
        self.count("TagResource", self.inner.tag_instance(target, arn, tags)).await
    }
    async fn untag_instance(&self, target: &Target, arn: &str, keys: &[String]) -> Result<(), SsoError> {
        self.count("UntagResource", self.inner.untag_instance(target, arn, keys)).await
    }
    fn forget_role(&self, role: &RoleRef) {
        self.inner.forget_role(role);
    }
}
