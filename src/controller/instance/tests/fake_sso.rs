//! An in-memory SSO Admin port that records each call in the shared journal
//! and answers from a script.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use async_trait::async_trait;

use super::Journal;
use crate::fixtures::{ACCOUNT, ARN};
use crate::sso::{
    AccessControlAttributes, AttributeChange, AttributesStatus, CreateInstance, ErrorKind, Instance, Principal,
    RegionScope, RoleRef, SsoAdmin, SsoError, Tags, Target, Workflow,
};

#[derive(Default)]
pub struct Script {
    /// The instances AWS holds, for DescribeInstance by ARN. Any other ARN
    /// answers AccessDenied, as AWS does for an instance that is gone.
    pub instances: Vec<Instance>,
    pub listed: Vec<Instance>,
    pub tags: Tags,
    /// The instance's attribute-based access control configuration.
    pub access_control: Option<AccessControlAttributes>,
    /// Operation -> the error it answers with.
    pub errors: HashMap<&'static str, SsoError>,
    /// Runs while DescribeInstance is answered: what changes as AWS takes its time.
    pub while_describing: Option<Arc<dyn Fn() + Send + Sync>>,
}

pub struct FakeSso {
    pub journal: Journal,
    pub script: Mutex<Script>,
}

impl FakeSso {
    pub fn new(journal: Journal, script: Script) -> Arc<Self> {
        Arc::new(Self { journal, script: Mutex::new(script) })
    }

    /// A write, which the target's guard may refuse before it is sent (then nothing is journaled).
    fn write(&self, target: &Target, operation: &'static str, detail: String) -> Result<(), SsoError> {
        if let Err(refused) = target.guard.check() {
            self.journal.push(format!("refused {operation}"));
            return Err(SsoError::new(operation, ErrorKind::NotPermitted, refused.to_string()));
        }
        self.call(operation, detail)
    }

    fn call(&self, operation: &'static str, detail: String) -> Result<(), SsoError> {
        self.journal.push(format!("sso {operation}{detail}"));
        match self.script.lock().unwrap().errors.get(operation) {
            Some(error) => Err(error.clone()),
            None => Ok(()),
        }
    }
}

#[async_trait]
impl SsoAdmin for FakeSso {
    async fn caller_account(&self, _: &Target) -> Result<String, SsoError> {
        self.call("GetCallerIdentity", String::new())?;
        Ok(ACCOUNT.into())
    }

    async fn create_instance(&self, target: &Target, input: &CreateInstance) -> Result<String, SsoError> {
        let mut detail = format!(
            " token={} name={:?} tags={:?} region={}",
            input.client_token, input.name, input.tags, target.region
        );
        if let Principal::Role(role) = &target.principal {
            detail.push_str(&format!(" role={}", role.role_arn));
        }
        self.write(target, "CreateInstance", detail)?;
        Ok(ARN.into())
    }

    async fn describe_instance(&self, _: &Target, arn: &str) -> Result<Instance, SsoError> {
        self.call("DescribeInstance", format!(" {arn}"))?;
        let meanwhile = self.script.lock().unwrap().while_describing.clone();
        if let Some(meanwhile) = meanwhile {
            meanwhile();
        }
        let script = self.script.lock().unwrap();
        script.instances.iter().find(|instance| instance.arn == arn).cloned().ok_or_else(|| {
            SsoError::new("DescribeInstance", ErrorKind::AccessDenied, "not authorized to perform sso:DescribeInstance")
        })
    }

    async fn list_instances(&self, _: &Target, scope: RegionScope) -> Result<Vec<Instance>, SsoError> {
        let scope = match scope {
            RegionScope::CurrentRegion => "",
            RegionScope::AllRegions => " ALL_REGIONS",
        };
        self.call("ListInstances", scope.to_string())?;
        Ok(self.script.lock().unwrap().listed.clone())
    }

    async fn update_instance_name(&self, target: &Target, _: &str, name: &str) -> Result<(), SsoError> {
        self.write(target, "UpdateInstance", format!(" name={name}"))
    }

    async fn start_workflow(&self, target: &Target, arn: &str, workflow: &Workflow) -> Result<(), SsoError> {
        self.write(target, workflow.operation(), format!(" {arn} {workflow:?}"))
    }

    async fn delete_instance(&self, target: &Target, arn: &str) -> Result<(), SsoError> {
        self.write(target, "DeleteInstance", format!(" {arn}"))
    }

    async fn list_tags(&self, _: &Target, _: &str) -> Result<Tags, SsoError> {
        self.call("ListTagsForResource", String::new())?;
        Ok(self.script.lock().unwrap().tags.clone())
    }

    async fn tag_instance(&self, target: &Target, _: &str, tags: &Tags) -> Result<(), SsoError> {
        self.write(target, "TagResource", format!(" {tags:?}"))
    }

    async fn untag_instance(&self, target: &Target, _: &str, keys: &[String]) -> Result<(), SsoError> {
        self.write(target, "UntagResource", format!(" {keys:?}"))
    }

    async fn describe_access_control_attributes(
        &self,
        _: &Target,
        arn: &str,
    ) -> Result<Option<AccessControlAttributes>, SsoError> {
        self.call("DescribeInstanceAccessControlAttributeConfiguration", format!(" {arn}"))?;
        Ok(self.script.lock().unwrap().access_control.clone())
    }

    async fn change_access_control_attributes(
        &self,
        target: &Target,
        arn: &str,
        change: &AttributeChange,
    ) -> Result<(), SsoError> {
        self.write(target, change.operation(), format!(" {arn} {change:?}"))?;
        let held = match change {
            AttributeChange::Create(attributes) | AttributeChange::Update(attributes) => {
                let attributes = attributes.clone();
                Some(AccessControlAttributes { status: AttributesStatus::Enabled, reason: None, attributes })
            }
            AttributeChange::Delete => None,
        };
        self.script.lock().unwrap().access_control = held;
        Ok(())
    }

    fn forget_role(&self, role: &RoleRef) {
        let requester = role.on_behalf_of.as_ref().map(|r| format!(" for {}/{}", r.namespace, r.name));
        self.journal.push(format!("sessions forget {}{}", role.role_arn, requester.unwrap_or_default()));
    }
}
