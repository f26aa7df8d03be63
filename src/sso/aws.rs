//! [`SsoAdmin`] over aws-sdk-ssoadmin and aws-sdk-sts.
//!
//! Credentials come from the standard chain (environment, profile, IRSA web
//! identity, EKS Pod Identity); a target with a role adds an AssumeRole
//! provider on top, whose credentials the SDK caches and refreshes. Endpoints
//! honour AWS_ENDPOINT_URL_SSO_ADMIN, AWS_ENDPOINT_URL_STS and AWS_ENDPOINT_URL.

use std::collections::HashMap;
use std::time::Duration;

use async_trait::async_trait;
use aws_config::sts::AssumeRoleProvider;
use aws_config::timeout::TimeoutConfig;
use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_credential_types::provider::SharedCredentialsProvider;
use aws_sdk_ssoadmin::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};
use aws_sdk_ssoadmin::types::{InstanceStatus, Tag};
use aws_smithy_types::DateTime;
use k8s_openapi::jiff::Timestamp;
use tokio::sync::Mutex;

use super::{CreateInstance, ErrorKind, Instance, InstanceState, SsoAdmin, SsoError, Tags, Target};

const SESSION_NAME: &str = "identity-center-operator";

/// The SDK clients for one target, built once and reused.
#[derive(Clone)]
struct Clients {
    sso: aws_sdk_ssoadmin::Client,
    sts: aws_sdk_sts::Client,
}

pub struct AwsSsoAdmin {
    base: SdkConfig,
    clients: Mutex<HashMap<Target, Clients>>,
}

impl AwsSsoAdmin {
    /// Loads the standard AWS configuration from the environment.
    pub async fn from_env() -> Self {
        let timeouts = TimeoutConfig::builder()
            .connect_timeout(Duration::from_secs(5))
            .operation_attempt_timeout(Duration::from_secs(20))
            .operation_timeout(Duration::from_secs(60))
            .build();
        Self::new(aws_config::defaults(BehaviorVersion::latest()).timeout_config(timeouts).load().await)
    }

    /// Uses `base` (credentials, endpoint, timeouts) for every target.
    pub fn new(base: SdkConfig) -> Self {
        Self { base, clients: Mutex::default() }
    }

    async fn clients(&self, target: &Target) -> Clients {
        let mut cache = self.clients.lock().await;
        if let Some(clients) = cache.get(target) {
            return clients.clone();
        }
        let region = Region::new(target.region.clone());
        let mut config = self.base.to_builder().region(region.clone());
        if let Some(role) = &target.role {
            let mut provider =
                AssumeRoleProvider::builder(role.role_arn.clone()).session_name(SESSION_NAME).region(region);
            if let Some(external_id) = &role.external_id {
                provider = provider.external_id(external_id.clone());
            }
            let provider = provider.configure(&self.base).build().await;
            config = config.credentials_provider(SharedCredentialsProvider::new(provider));
        }
        let config = config.build();
        let clients = Clients { sso: aws_sdk_ssoadmin::Client::new(&config), sts: aws_sdk_sts::Client::new(&config) };
        cache.insert(target.clone(), clients.clone());
        clients
    }
}

/// Reduces an SDK error to an [`SsoError`]: service errors by their code,
/// everything that never got an answer to Transport or Credentials.
fn sdk_error<E, R>(operation: &'static str, err: SdkError<E, R>) -> SsoError
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
    R: std::fmt::Debug + Send + Sync + 'static,
{
    let detail = DisplayErrorContext(&err).to_string();
    let kind = match &err {
        SdkError::ServiceError(service) => match service.err().code() {
            Some(code) => ErrorKind::from_code(code),
            None => ErrorKind::Unknown("unnamed service error".into()),
        },
        SdkError::TimeoutError(_) | SdkError::ResponseError(_) => ErrorKind::Transport,
        SdkError::DispatchFailure(failure) if failure.is_io() || failure.is_timeout() => ErrorKind::Transport,
        // Credential providers report STS failures as text: keep what is transient transient.
        _ if detail.contains("Throttling") || detail.contains("Rate exceeded") => ErrorKind::Throttling,
        _ if detail.contains("InternalFailure") || detail.contains("ServiceUnavailable") => ErrorKind::InternalServer,
        _ if detail.contains("credential") || detail.contains("AssumeRole") => ErrorKind::Credentials,
        _ => ErrorKind::Transport,
    };
    let message = match &err {
        SdkError::ServiceError(service) => service.err().message().unwrap_or(&detail).to_string(),
        _ => detail,
    };
    SsoError::new(operation, kind, message)
}

/// An [`Instance`] from DescribeInstance's output or a ListInstances item,
/// which spell the same fields in two types.
macro_rules! instance {
    ($source:expr, $arn:expr) => {
        Instance {
            arn: $arn,
            name: $source.name.clone(),
            identity_store_id: $source.identity_store_id.clone(),
            owner_account_id: $source.owner_account_id.clone(),
            created_date: timestamp($source.created_date.as_ref()),
            state: state($source.status.as_ref()),
            state_reason: $source.status_reason.clone(),
        }
    };
}

fn timestamp(date: Option<&DateTime>) -> Option<Timestamp> {
    date.and_then(|d| Timestamp::new(d.secs(), d.subsec_nanos() as i32).ok())
}

fn state(status: Option<&InstanceStatus>) -> InstanceState {
    status.map_or(InstanceState::Other("UNKNOWN".into()), |s| InstanceState::parse(s.as_str()))
}

fn aws_tags(tags: &Tags) -> Result<Vec<Tag>, SsoError> {
    tags.iter()
        .map(|(key, value)| Tag::builder().key(key).value(value).build())
        .collect::<Result<_, _>>()
        .map_err(|e| SsoError::new("TagResource", ErrorKind::Validation, e.to_string()))
}

#[async_trait]
impl SsoAdmin for AwsSsoAdmin {
    async fn caller_account(&self, target: &Target) -> Result<String, SsoError> {
        let out = self.clients(target).await.sts.get_caller_identity().send().await;
        let out = out.map_err(|e| sdk_error("GetCallerIdentity", e))?;
        out.account
            .ok_or_else(|| SsoError::new("GetCallerIdentity", ErrorKind::Unknown("NoAccount".into()), "no account"))
    }

    async fn create_instance(&self, target: &Target, input: &CreateInstance) -> Result<String, SsoError> {
        let tags = if input.tags.is_empty() { None } else { Some(aws_tags(&input.tags)?) };
        let out = (self.clients(target).await.sso.create_instance())
            .client_token(&input.client_token)
            .set_name(input.name.clone())
            .set_tags(tags)
            .send()
            .await
            .map_err(|e| sdk_error("CreateInstance", e))?;
        out.instance_arn
            .ok_or_else(|| SsoError::new("CreateInstance", ErrorKind::Unknown("NoArn".into()), "no InstanceArn"))
    }

    async fn describe_instance(&self, target: &Target, arn: &str) -> Result<Instance, SsoError> {
        let out = (self.clients(target).await.sso.describe_instance())
            .instance_arn(arn)
            .send()
            .await
            .map_err(|e| sdk_error("DescribeInstance", e))?;
        Ok(instance!(out, out.instance_arn.clone().unwrap_or_else(|| arn.to_string())))
    }

    async fn list_instances(&self, target: &Target) -> Result<Vec<Instance>, SsoError> {
        let sso = self.clients(target).await.sso;
        let items: Vec<_> = sso
            .list_instances()
            .into_paginator()
            .items()
            .send()
            .try_collect()
            .await
            .map_err(|e| sdk_error("ListInstances", e))?;
        Ok(items.into_iter().filter_map(|m| Some(instance!(m, m.instance_arn.clone()?))).collect())
    }

    async fn update_instance_name(&self, target: &Target, arn: &str, name: &str) -> Result<(), SsoError> {
        (self.clients(target).await.sso.update_instance())
            .instance_arn(arn)
            .name(name)
            .send()
            .await
            .map_err(|e| sdk_error("UpdateInstance", e))?;
        Ok(())
    }

    async fn delete_instance(&self, target: &Target, arn: &str) -> Result<(), SsoError> {
        (self.clients(target).await.sso.delete_instance())
            .instance_arn(arn)
            .send()
            .await
            .map_err(|e| sdk_error("DeleteInstance", e))?;
        Ok(())
    }

    async fn list_tags(&self, target: &Target, arn: &str) -> Result<Tags, SsoError> {
        let sso = self.clients(target).await.sso;
        let tags: Vec<Tag> = sso
            .list_tags_for_resource()
            .instance_arn(arn)
            .resource_arn(arn)
            .into_paginator()
            .items()
            .send()
            .try_collect()
            .await
            .map_err(|e| sdk_error("ListTagsForResource", e))?;
        Ok(tags.into_iter().map(|t| (t.key, t.value)).collect())
    }

    async fn tag_instance(&self, target: &Target, arn: &str, tags: &Tags) -> Result<(), SsoError> {
        (self.clients(target).await.sso.tag_resource())
            .instance_arn(arn)
            .resource_arn(arn)
            .set_tags(Some(aws_tags(tags)?))
            .send()
            .await
            .map_err(|e| sdk_error("TagResource", e))?;
        Ok(())
    }

    async fn untag_instance(&self, target: &Target, arn: &str, keys: &[String]) -> Result<(), SsoError> {
        (self.clients(target).await.sso.untag_resource())
            .instance_arn(arn)
            .resource_arn(arn)
            .set_tag_keys(Some(keys.to_vec()))
            .send()
            .await
            .map_err(|e| sdk_error("UntagResource", e))?;
        Ok(())
    }
}
