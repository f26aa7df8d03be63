//! A port for the tests of the wrappers: every call is answered at once,
//! DescribeInstance and workflows as the test says.

use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

use async_trait::async_trait;

use super::{
    AccessControlAttributes, AttributeChange, CreateInstance, Instance, InstanceState, RegionScope, RoleRef, SsoAdmin,
    SsoError, Tags, Target, Workflow,
};

pub struct StubPort {
    /// What DescribeInstance answers for a target.
    pub describe: fn(&Target) -> Result<Instance, SsoError>,
    /// What a workflow's start answers.
    pub workflow: fn() -> Result<(), SsoError>,
    /// How many DescribeInstance calls reached the port.
    pub describes: AtomicUsize,
    /// The roles the port was told to forget.
    pub forgotten: Mutex<Vec<String>>,
}

impl Default for StubPort {
    fn default() -> Self {
        Self {
            describe: |_| Ok(Instance::new("arn", InstanceState::Active)),
            workflow: || Ok(()),
            describes: AtomicUsize::new(0),
            forgotten: Mutex::default(),
        }
    }
}

#[async_trait]
impl SsoAdmin for StubPort {
    async fn caller_account(&self, _: &Target) -> Result<String, SsoError> {
        Ok("111111111111".into())
    }
    async fn create_instance(&self, _: &Target, _: &CreateInstance) -> Result<String, SsoError> {
        Ok("arn".into())
    }
    async fn describe_instance(&self, target: &Target, _: &str) -> Result<Instance, SsoError> {
        self.describes.fetch_add(1, Ordering::SeqCst);
        (self.describe)(target)
    }
    async fn list_instances(&self, _: &Target, _: RegionScope) -> Result<Vec<Instance>, SsoError> {
        Ok(Vec::new())
    }
    async fn update_instance_name(&self, _: &Target, _: &str, _: &str) -> Result<(), SsoError> {
        Ok(())
    }
    async fn start_workflow(&self, _: &Target, _: &str, _: &Workflow) -> Result<(), SsoError> {
        (self.workflow)()
    }
    async fn delete_instance(&self, _: &Target, _: &str) -> Result<(), SsoError> {
        Ok(())
    }
    async fn list_tags(&self, _: &Target, _: &str) -> Result<Tags, SsoError> {
        Ok(Tags::new())
    }
    async fn tag_instance(&self, _: &Target, _: &str, _: &Tags) -> Result<(), SsoError> {
        Ok(())
    }
    async fn untag_instance(&self, _: &Target, _: &str, _: &[String]) -> Result<(), SsoError> {
        Ok(())
    }
    async fn describe_access_control_attributes(
        &self,
        _: &Target,
        _: &str,
    ) -> Result<Option<AccessControlAttributes>, SsoError> {
        Ok(None)
    }
    async fn change_access_control_attributes(&self, _: &Target, _: &str, _: &AttributeChange) -> Result<(), SsoError> {
        Ok(())
    }
    fn forget_role(&self, role: &RoleRef) {
        self.forgotten.lock().unwrap().push(role.role_arn.clone());
    }
}
