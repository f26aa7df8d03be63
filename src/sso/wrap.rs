//! The one way to put behaviour around every call of the port.
//!
//! A wrapper implements [`Around`] once and [`Wrapped`] forwards every method
//! of [`SsoAdmin`] through it, so that a method added to the port reaches
//! every wrapper by construction instead of by hand-forwarding in each.

use std::future::Future;

use async_trait::async_trait;

use super::{
    AccessControlAttributes, Account, AttributeChange, CreateInstance, Instance, ORGANIZATIONS_REGION, Organizations,
    Principal, RegionScope, RoleRef, SsoAdmin, SsoError, Tags, Target, Workflow,
};

/// Whether a call changes AWS. A read can be put off and asked again; a write
/// has been prepared by its reconcile's reads and is sent once its turn comes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CallKind {
    Read,
    Write,
}

/// One call through the port, as a wrapper sees it.
#[derive(Clone, Copy, Debug)]
pub struct Call<'a> {
    /// The AWS operation, as the API names it.
    pub operation: &'a str,
    pub kind: CallKind,
    pub target: &'a Target,
}

/// Behaviour around each call of the port.
#[async_trait]
pub trait Around: Send + Sync + 'static {
    /// Runs `inner`, the call itself, with this wrapper's behaviour around it.
    async fn around<T: Send>(
        &self,
        call: Call<'_>,
        inner: impl Future<Output = Result<T, SsoError>> + Send,
    ) -> Result<T, SsoError>;

    /// No object acts through `role` any more; the wrapped port is told after this.
    fn role_forgotten(&self, role: &RoleRef);
}

/// A port with `A` around each of its calls.
pub struct Wrapped<S, A> {
    inner: S,
    around: A,
}

impl<S, A> Wrapped<S, A> {
    pub fn new(inner: S, around: A) -> Self {
        Self { inner, around }
    }

    #[cfg(test)]
    pub fn inner(&self) -> &S {
        &self.inner
    }

    #[cfg(test)]
    pub fn around(&self) -> &A {
        &self.around
    }
}

impl<S, A> Wrapped<S, A>
where
    S: SsoAdmin,
    A: Around,
{
    async fn call<T: Send>(
        &self,
        operation: &str,
        kind: CallKind,
        target: &Target,
        inner: impl Future<Output = Result<T, SsoError>> + Send,
    ) -> Result<T, SsoError> {
        self.around.around(Call { operation, kind, target }, inner).await
    }
}

/// Organizations' reads pass the same rate limits and metering as SSO Admin's.
#[async_trait]
impl<S: SsoAdmin + Organizations, A: Around> Organizations for Wrapped<S, A> {
    async fn accounts_for_parent(&self, principal: &Principal, parent: &str) -> Result<Vec<Account>, SsoError> {
        let target = Target::new(ORGANIZATIONS_REGION, principal.clone());
        let read = self.inner.accounts_for_parent(principal, parent);
        self.call("ListAccountsForParent", CallKind::Read, &target, read).await
    }
    async fn units_for_parent(&self, principal: &Principal, parent: &str) -> Result<Vec<String>, SsoError> {
        let target = Target::new(ORGANIZATIONS_REGION, principal.clone());
        let read = self.inner.units_for_parent(principal, parent);
        self.call("ListOrganizationalUnitsForParent", CallKind::Read, &target, read).await
    }
}

#[async_trait]
impl<S: SsoAdmin, A: Around> SsoAdmin for Wrapped<S, A> {
    async fn caller_account(&self, target: &Target) -> Result<String, SsoError> {
        self.call("GetCallerIdentity", CallKind::Read, target, self.inner.caller_account(target)).await
    }
    async fn create_instance(&self, target: &Target, input: &CreateInstance) -> Result<String, SsoError> {
        self.call("CreateInstance", CallKind::Write, target, self.inner.create_instance(target, input)).await
    }
    async fn describe_instance(&self, target: &Target, arn: &str) -> Result<Instance, SsoError> {
        self.call("DescribeInstance", CallKind::Read, target, self.inner.describe_instance(target, arn)).await
    }
    async fn list_instances(&self, target: &Target, scope: RegionScope) -> Result<Vec<Instance>, SsoError> {
        self.call("ListInstances", CallKind::Read, target, self.inner.list_instances(target, scope)).await
    }
    async fn update_instance_name(&self, target: &Target, arn: &str, name: &str) -> Result<(), SsoError> {
        let call = self.inner.update_instance_name(target, arn, name);
        self.call("UpdateInstance", CallKind::Write, target, call).await
    }
    async fn start_workflow(&self, target: &Target, arn: &str, workflow: &Workflow) -> Result<(), SsoError> {
        let call = self.inner.start_workflow(target, arn, workflow);
        self.call(workflow.operation(), CallKind::Write, target, call).await
    }
    async fn delete_instance(&self, target: &Target, arn: &str) -> Result<(), SsoError> {
        self.call("DeleteInstance", CallKind::Write, target, self.inner.delete_instance(target, arn)).await
    }
    async fn list_tags(&self, target: &Target, arn: &str) -> Result<Tags, SsoError> {
        self.call("ListTagsForResource", CallKind::Read, target, self.inner.list_tags(target, arn)).await
    }
    async fn tag_instance(&self, target: &Target, arn: &str, tags: &Tags) -> Result<(), SsoError> {
        self.call("TagResource", CallKind::Write, target, self.inner.tag_instance(target, arn, tags)).await
    }
    async fn untag_instance(&self, target: &Target, arn: &str, keys: &[String]) -> Result<(), SsoError> {
        self.call("UntagResource", CallKind::Write, target, self.inner.untag_instance(target, arn, keys)).await
    }
    async fn describe_access_control_attributes(
        &self,
        target: &Target,
        arn: &str,
    ) -> Result<Option<AccessControlAttributes>, SsoError> {
        let call = self.inner.describe_access_control_attributes(target, arn);
        self.call("DescribeInstanceAccessControlAttributeConfiguration", CallKind::Read, target, call).await
    }
    async fn change_access_control_attributes(
        &self,
        target: &Target,
        arn: &str,
        change: &AttributeChange,
    ) -> Result<(), SsoError> {
        let call = self.inner.change_access_control_attributes(target, arn, change);
        self.call(change.operation(), CallKind::Write, target, call).await
    }
    fn forget_role(&self, role: &RoleRef) {
        self.around.role_forgotten(role);
        self.inner.forget_role(role);
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;

    use super::*;
    use crate::sso::stub::StubPort;
    use crate::sso::{ErrorKind, Principal};

    /// Records what each call looked like from outside.
    #[derive(Default)]
    struct Recorder {
        calls: Mutex<Vec<(String, CallKind)>>,
        forgotten: Mutex<Vec<String>>,
    }

    #[async_trait]
    impl Around for Recorder {
        async fn around<T: Send>(
            &self,
            call: Call<'_>,
            inner: impl Future<Output = Result<T, SsoError>> + Send,
        ) -> Result<T, SsoError> {
            self.calls.lock().unwrap().push((call.operation.to_string(), call.kind));
            inner.await
        }
        fn role_forgotten(&self, role: &RoleRef) {
            self.forgotten.lock().unwrap().push(role.role_arn.clone());
        }
    }

    #[tokio::test]
    async fn every_method_passes_through_the_wrapper_under_its_aws_name() {
        let refusing = || Err(SsoError::new("UpdateInstance", ErrorKind::Validation, "refused"));
        let port = Wrapped::new(StubPort { workflow: refusing, ..Default::default() }, Recorder::default());
        let target = Target::new("eu-west-1", Principal::Operator);
        let create = CreateInstance { client_token: "t".into(), name: None, tags: Tags::new() };
        let workflow = Workflow::AddRegion("us-east-1".into());
        port.caller_account(&target).await.unwrap();
        port.create_instance(&target, &create).await.unwrap();
        port.describe_instance(&target, "arn").await.unwrap();
        port.list_instances(&target, RegionScope::AllRegions).await.unwrap();
        port.update_instance_name(&target, "arn", "n").await.unwrap();
        let refused = port.start_workflow(&target, "arn", &workflow).await.unwrap_err();
        port.delete_instance(&target, "arn").await.unwrap();
        port.list_tags(&target, "arn").await.unwrap();
        port.tag_instance(&target, "arn", &Tags::new()).await.unwrap();
        port.untag_instance(&target, "arn", &[]).await.unwrap();
        port.describe_access_control_attributes(&target, "arn").await.unwrap();
        port.change_access_control_attributes(&target, "arn", &AttributeChange::Delete).await.unwrap();
        let role = RoleRef::new("arn:aws:iam::111111111111:role/admin", None);
        port.forget_role(&role);

        assert_eq!(refused.kind, ErrorKind::Validation, "the wrapped port's answer reaches the caller");
        use CallKind::{Read, Write};
        let seen = port.around().calls.lock().unwrap().clone();
        let expected = [
            ("GetCallerIdentity", Read),
            ("CreateInstance", Write),
            ("DescribeInstance", Read),
            ("ListInstances", Read),
            ("UpdateInstance", Write),
            (workflow.operation(), Write),
            ("DeleteInstance", Write),
            ("ListTagsForResource", Read),
            ("TagResource", Write),
            ("UntagResource", Write),
            ("DescribeInstanceAccessControlAttributeConfiguration", Read),
            ("DeleteInstanceAccessControlAttributeConfiguration", Write),
        ];
        let expected: Vec<(String, CallKind)> = expected.iter().map(|(op, kind)| (op.to_string(), *kind)).collect();
        assert_eq!(seen, expected);
        let forgotten = vec![role.role_arn];
        assert_eq!(*port.around().forgotten.lock().unwrap(), forgotten);
        assert_eq!(*port.inner().forgotten.lock().unwrap(), forgotten, "and the wrapped port after it");
    }
}
