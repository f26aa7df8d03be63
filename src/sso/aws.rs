//! [`SsoAdmin`] over aws-sdk-ssoadmin and aws-sdk-sts.
//!
//! The operator's own credentials come from the standard chain (environment,
//! profile, IRSA web identity, EKS Pod Identity). A target with a role acts
//! with credentials from [`RoleSessions`]: one AssumeRole per role and
//! session lifetime. Every call goes through one SSO Admin client per region
//! and one HTTP connection pool, whatever the number of roles. Endpoints
//! honour AWS_ENDPOINT_URL_SSO_ADMIN, AWS_ENDPOINT_URL_STS and AWS_ENDPOINT_URL.

use std::collections::HashSet;
use std::time::{Duration, SystemTime};

use async_trait::async_trait;
use aws_config::meta::region::RegionProviderChain;
use aws_config::timeout::TimeoutConfig;
use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_credential_types::Credentials;
use aws_sdk_ssoadmin::config::interceptors::BeforeTransmitInterceptorContextRef;
use aws_sdk_ssoadmin::config::{ConfigBag, Intercept, RuntimeComponents};
use aws_sdk_ssoadmin::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};
use aws_sdk_ssoadmin::operation::update_instance::UpdateInstanceError;
use aws_sdk_ssoadmin::types::{
    self, EncryptionConfiguration, EncryptionConfigurationDetails, InstanceStatus, KmsKeyType, RegionMetadata, Tag,
};
use aws_smithy_http_client::tls;
use aws_smithy_types::DateTime;
use k8s_openapi::jiff::Timestamp;

use super::network_configuration::{NetworkDetails, ReadNetworkDetails, SendNetworkConfiguration};
use super::organizations::ORGANIZATIONS_REGION;
use super::sessions::{RoleSessions, SessionLimits};
use super::{
    AccessControlAttributes, AttributeChange, AttributesStatus, CreateInstance, Encryption, EncryptionKey,
    EncryptionStatus, ErrorKind, Instance, InstanceState, Principal, Region as InstanceRegion, RegionScope,
    RegionStatus, Requester, RoleRef, SsoAdmin, SsoError, Tags, Target, Workflow, WriteGuard, WriteRefused,
};
use crate::api::AccessControlAttribute;
use crate::leader::{Leadership, NotLeader};
use crate::tables::LruTable;

const SESSION_NAME: &str = "identity-center-operator";
/// More than AWS has Regions: a tenant asking for made-up ones cannot grow the table.
const REGIONAL_CLIENTS: usize = 64;
const REGIONAL_CLIENT_IDLE: Duration = Duration::from_secs(3600);

pub struct AwsSsoAdmin {
    base: SdkConfig,
    /// One client per region: the SDK's retry quota is kept per client and
    /// region. Bounded, and idle ones dropped: spec.region is a tenant's to
    /// choose, so the Regions asked for are not a fixed set.
    regional: std::sync::Mutex<LruTable<String, aws_sdk_ssoadmin::Client>>,
    /// STS with the operator's own credentials: AssumeRole and GetCallerIdentity.
    sts: aws_sdk_sts::Client,
    sessions: RoleSessions,
    leadership: Leadership,
    /// Organizations, with the operator's own credentials (instance sets' reads).
    organizations: aws_sdk_organizations::Client,
}

/// A check made right before each attempt of a request goes on the wire,
/// retries included: after the rate limit, AssumeRole and any retry delay,
/// the latest moment at which it can still stop the request.
trait BeforeEachAttempt: std::fmt::Debug + Send + Sync + 'static {
    const NAME: &'static str;
    fn check(&self) -> Result<(), Box<dyn std::error::Error + Send + Sync>>;
}

/// Every SSO Admin request needs this replica's leader lease to be current.
impl BeforeEachAttempt for Leadership {
    const NAME: &'static str = "LeaseFence";
    fn check(&self) -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
        Leadership::check(self).map_err(Into::into)
    }
}

/// A write needs its object to be admitted still (a grant may have narrowed).
impl BeforeEachAttempt for WriteGuard {
    const NAME: &'static str = "AuthorizeWrite";
    fn check(&self) -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
        WriteGuard::check(self).map_err(Into::into)
    }
}

/// The SDK interceptor that makes a [`BeforeEachAttempt`] check.
#[derive(Debug)]
struct Checked<C>(C);

impl<C: BeforeEachAttempt> Intercept for Checked<C> {
    fn name(&self) -> &'static str {
        C::NAME
    }

    fn read_before_transmit(
        &self,
        _: &BeforeTransmitInterceptorContextRef<'_>,
        _: &RuntimeComponents,
        _: &mut ConfigBag,
    ) -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
        self.0.check()
    }
}

/// The SSO Admin client for a target, the credentials override its role
/// needs, and the guard of its writes.
#[derive(Clone)]
struct Route {
    client: aws_sdk_ssoadmin::Client,
    role_credentials: Option<Credentials>,
    guard: WriteGuard,
}

/// Sends an SSO Admin request along a route: with the role's credentials
/// when it has some, for a `write` through the route's write guard, and
/// `with` an interceptor of its own where the SDK lacks a member.
macro_rules! send {
    ($route:expr, $request:expr, $operation:literal) => {
        send!(@send $route, $request, $operation, |_| None, false,)
    };
    ($route:expr, $request:expr, $operation:literal, with $interceptor:expr) => {
        send!(@send $route, $request, $operation, |_| None, false, $interceptor)
    };
    (write $route:expr, $request:expr, $operation:literal) => {
        send!(@send $route, $request, $operation, |_| None, true,)
    };
    (write $route:expr, $request:expr, $operation:literal, $reason:expr) => {
        send!(@send $route, $request, $operation, $reason, true,)
    };
    (write $route:expr, $request:expr, $operation:literal, $reason:expr, with $interceptor:expr) => {
        send!(@send $route, $request, $operation, $reason, true, $interceptor)
    };
    (@send $route:expr, $request:expr, $operation:literal, $reason:expr, $write:expr, $($interceptor:expr)?) => {{
        let route = $route;
        let mut request = $request.customize();
        if let Some(credentials) = route.role_credentials {
            let config = aws_sdk_ssoadmin::config::Builder::default().credentials_provider(credentials);
            request = request.config_override(config);
        }
        if $write {
            request = request.interceptor(Checked(route.guard.clone()));
        }
        $(request = request.interceptor($interceptor);)?
        request.send().await.map_err(|e| {
            let reason = $reason(&e);
            sdk_error($operation, e).with_reason(reason)
        })
    }};
}

impl AwsSsoAdmin {
    /// Loads the standard AWS configuration from the environment, with one
    /// HTTP client (and connection pool) that every SDK client shares. STS
    /// calls go to `fallback_region` when the environment names no region.
    pub async fn from_env(limits: SessionLimits, fallback_region: Option<String>, leadership: Leadership) -> Self {
        let timeouts = TimeoutConfig::builder()
            .connect_timeout(Duration::from_secs(5))
            .operation_attempt_timeout(Duration::from_secs(20))
            .operation_timeout(Duration::from_secs(60))
            .build();
        let http = aws_smithy_http_client::Builder::new()
            .tls_provider(tls::Provider::Rustls(tls::rustls_provider::CryptoMode::AwsLc))
            .build_https();
        let region = RegionProviderChain::default_provider().or_else(fallback_region.map(Region::new));
        let base = aws_config::defaults(BehaviorVersion::latest()).http_client(http).timeout_config(timeouts);
        Self::with(base.region(region).load().await, limits, leadership)
    }

    /// Uses `base` (credentials, endpoint, timeouts, HTTP client) for every target.
    pub fn new(base: SdkConfig) -> Self {
        Self::with(base, SessionLimits::default(), Leadership::unconditional())
    }

    fn with(base: SdkConfig, limits: SessionLimits, leadership: Leadership) -> Self {
        let sts = aws_sdk_sts::Client::new(&base);
        let regional = std::sync::Mutex::new(LruTable::new(REGIONAL_CLIENTS));
        let organizations_config = base.to_builder().region(Region::new(ORGANIZATIONS_REGION)).build();
        let organizations_config = aws_sdk_organizations::config::Builder::from(&organizations_config)
            .interceptor(Checked(leadership.clone()))
            .build();
        let organizations = aws_sdk_organizations::Client::from_conf(organizations_config);
        Self { base, regional, sts, sessions: RoleSessions::new(limits), leadership, organizations }
    }

    fn client(&self, region: &str) -> aws_sdk_ssoadmin::Client {
        let now = std::time::Instant::now();
        let mut regional = self.regional.lock().expect("never poisoned");
        regional.remove_idle(REGIONAL_CLIENT_IDLE, now);
        let key = region.to_string();
        if let Some(client) = regional.get(&key, now) {
            return client.clone();
        }
        let config = self.base.to_builder().region(Region::new(key.clone())).build();
        let config = aws_sdk_ssoadmin::config::Builder::from(&config).interceptor(Checked(self.leadership.clone()));
        let client = aws_sdk_ssoadmin::Client::from_conf(config.build());
        regional.insert(key, client.clone(), now);
        client
    }

    async fn route(&self, target: &Target) -> Result<Route, SsoError> {
        let role_credentials = match &target.principal {
            Principal::Role(role) => Some(self.sessions.credentials(role, || self.assume_role(role)).await?),
            Principal::Operator => None,
        };
        Ok(Route { client: self.client(&target.region), role_credentials, guard: target.guard.clone() })
    }

    /// The Organizations client and, for a role, the credentials to override the operator's own with.
    pub(super) async fn organizations_route(
        &self,
        principal: &Principal,
    ) -> Result<(aws_sdk_organizations::Client, Option<Credentials>), SsoError> {
        let credentials = match principal {
            Principal::Role(role) => Some(self.sessions.credentials(role, || self.assume_role(role)).await?),
            Principal::Operator => None,
        };
        Ok((self.organizations.clone(), credentials))
    }

    async fn assume_role(&self, role: &RoleRef) -> Result<Credentials, SsoError> {
        let session_name = role.on_behalf_of.as_ref().map_or_else(|| SESSION_NAME.to_string(), Requester::session_name);
        let tags = match &role.on_behalf_of {
            Some(requester) => Some(
                (requester.session_tags().into_iter())
                    .map(|(key, value)| aws_sdk_sts::types::Tag::builder().key(key).value(value).build())
                    .collect::<Result<Vec<_>, _>>()
                    .map_err(|e| SsoError::new("AssumeRole", ErrorKind::Validation, e.to_string()))?,
            ),
            None => None,
        };
        let out = (self.sts.assume_role())
            .role_arn(&role.role_arn)
            .role_session_name(session_name)
            .set_tags(tags)
            .set_external_id(role.external_id.clone())
            .send()
            .await
            .map_err(|e| credentials_error(sdk_error("AssumeRole", e)))?;
        let missing = || SsoError::new("AssumeRole", ErrorKind::Credentials, "STS returned no credentials");
        let issued = out.credentials.ok_or_else(missing)?;
        let expiry = SystemTime::try_from(issued.expiration).ok();
        Ok(Credentials::new(
            issued.access_key_id,
            issued.secret_access_key,
            Some(issued.session_token),
            expiry,
            "identity-center-operator AssumeRole",
        ))
    }
}

/// At most this many pages are read of one listing.
const MAX_PAGES: usize = 1_000;

/// The token of the next page, if any. A token that comes back, or more
/// pages than any account has, is an error rather than an endless loop.
pub(super) fn next_page(
    seen: &mut HashSet<String>,
    token: Option<String>,
    operation: &'static str,
) -> Result<Option<String>, SsoError> {
    let Some(token) = token.filter(|t| !t.is_empty()) else { return Ok(None) };
    if seen.len() >= MAX_PAGES || !seen.insert(token.clone()) {
        let message =
            format!("{operation} returned a page token again or more than {MAX_PAGES} pages; stopped reading");
        return Err(SsoError::new(operation, ErrorKind::Unknown("Pagination".into()), message));
    }
    Ok(Some(token))
}

/// A refused AssumeRole means the role cannot be used: a credentials problem,
/// except where STS was only busy or down.
fn credentials_error(mut error: SsoError) -> SsoError {
    if !matches!(error.kind, ErrorKind::Throttling | ErrorKind::InternalServer | ErrorKind::Transport) {
        error.kind = ErrorKind::Credentials;
    }
    error
}

/// Reduces an SDK error to an [`SsoError`]: service errors by their code,
/// everything that never got an answer to Transport or Credentials.
pub(super) fn sdk_error<E, R>(operation: &'static str, err: SdkError<E, R>) -> SsoError
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
    R: std::fmt::Debug + Send + Sync + 'static,
{
    let detail = DisplayErrorContext(&err).to_string();
    if let Some(refused) = cause::<WriteRefused>(&err) {
        return SsoError::new(operation, ErrorKind::NotPermitted, refused.to_string());
    }
    let kind = match &err {
        _ if cause::<NotLeader>(&err).is_some() => ErrorKind::NotLeader,
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

/// The error of type `T` in the chain of `err`: how an interceptor's refusal
/// (a [`BeforeEachAttempt`] check) comes back out of the SDK.
fn cause<'a, T: std::error::Error + 'static>(err: &'a (dyn std::error::Error + 'static)) -> Option<&'a T> {
    let mut cause = Some(err);
    while let Some(error) = cause {
        if let Some(found) = error.downcast_ref::<T>() {
            return Some(found);
        }
        cause = error.source();
    }
    None
}

/// An [`Instance`] from DescribeInstance's output or a ListInstances item,
/// which spell the same fields in two types. Only DescribeInstance tells
/// the key, permission sets and network controls.
macro_rules! instance {
    ($source:expr, $arn:expr) => {
        Instance {
            arn: $arn,
            name: $source.name.clone(),
            identity_store_id: $source.identity_store_id.clone(),
            identity_store_arn: $source.identity_store_arn.clone(),
            owner_account_id: $source.owner_account_id.clone(),
            created_date: timestamp($source.created_date.as_ref()),
            state: state($source.status.as_ref()),
            state_reason: $source.status_reason.clone(),
            encryption: None,
            network: None,
            permission_sets_enabled: None,
            primary_region: $source.primary_region.clone(),
            regions: regions($source.regions.as_deref()),
        }
    };
}

fn regions(listed: Option<&[RegionMetadata]>) -> Vec<InstanceRegion> {
    let listed = listed.unwrap_or_default();
    let region = |r: &RegionMetadata| {
        Some(InstanceRegion {
            name: r.region_name.clone()?,
            status: RegionStatus::parse(r.status.as_ref().map_or("UNKNOWN", |s| s.as_str())),
            added_date: timestamp(r.added_date.as_ref()),
            primary: r.is_primary_region,
        })
    };
    listed.iter().filter_map(region).collect()
}

fn encryption(details: Option<&EncryptionConfigurationDetails>) -> Option<Encryption> {
    let details = details?;
    // A key type this operator does not know, or a customer managed key
    // without its ARN, is no key it can compare with the spec's.
    let key = match details.key_type.as_ref()? {
        KmsKeyType::CustomerManagedKey => EncryptionKey::CustomerManaged { kms_key_arn: details.kms_key_arn.clone()? },
        KmsKeyType::AwsOwnedKmsKey => EncryptionKey::AwsOwned,
        _ => return None,
    };
    Some(Encryption {
        key,
        status: EncryptionStatus::parse(details.encryption_status.as_ref().map_or("UNKNOWN", |s| s.as_str())),
        reason: details.encryption_status_reason.clone(),
    })
}

/// The Reason of UpdateInstance's exceptions: which KMS check refused the key.
fn update_reason<R>(err: &SdkError<UpdateInstanceError, R>) -> Option<String> {
    let reason = match err.as_service_error()? {
        UpdateInstanceError::ValidationException(e) => e.reason()?.as_str(),
        UpdateInstanceError::AccessDeniedException(e) => e.reason()?.as_str(),
        UpdateInstanceError::ResourceNotFoundException(e) => e.reason()?.as_str(),
        _ => return None,
    };
    Some(reason.to_string())
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
        let account = match &target.principal {
            // A role's ARN names its account; STS need not be asked.
            Principal::Role(role) => super::account_of_role(&role.role_arn).map(str::to_string),
            Principal::Operator => {
                let out = self.sts.get_caller_identity().send().await;
                out.map_err(|e| credentials_error(sdk_error("GetCallerIdentity", e)))?.account
            }
        };
        account.ok_or_else(|| SsoError::new("GetCallerIdentity", ErrorKind::Unknown("NoAccount".into()), "no account"))
    }

    async fn create_instance(&self, target: &Target, input: &CreateInstance) -> Result<String, SsoError> {
        let tags = if input.tags.is_empty() { None } else { Some(aws_tags(&input.tags)?) };
        let route = self.route(target).await?;
        let request = (route.client.create_instance())
            .client_token(&input.client_token)
            .set_name(input.name.clone())
            .set_tags(tags);
        let out = send!(write route, request, "CreateInstance")?;
        out.instance_arn
            .ok_or_else(|| SsoError::new("CreateInstance", ErrorKind::Unknown("NoArn".into()), "no InstanceArn"))
    }

    async fn describe_instance(&self, target: &Target, arn: &str) -> Result<Instance, SsoError> {
        let route = self.route(target).await?;
        let request = route.client.describe_instance().instance_arn(arn);
        let network = NetworkDetails::default();
        let out = send!(route, request, "DescribeInstance", with ReadNetworkDetails(network.clone()))?;
        let mut instance = instance!(out, out.instance_arn.clone().unwrap_or_else(|| arn.to_string()));
        instance.encryption = encryption(out.encryption_configuration_details.as_ref());
        instance.permission_sets_enabled = out.permission_sets_enabled;
        instance.network = network.lock().expect("never poisoned").take().flatten();
        Ok(instance)
    }

    async fn list_instances(&self, target: &Target, scope: RegionScope) -> Result<Vec<Instance>, SsoError> {
        let route = self.route(target).await?;
        let scope = match scope {
            RegionScope::CurrentRegion => types::RegionScope::CurrentRegion,
            RegionScope::AllRegions => types::RegionScope::AllRegions,
        };
        let mut instances = Vec::new();
        let (mut next_token, mut seen) = (None, HashSet::new());
        loop {
            let request = route.client.list_instances().region_scope(scope.clone()).set_next_token(next_token.take());
            let page = send!(route.clone(), request, "ListInstances")?;
            let items = page.instances.unwrap_or_default();
            instances.extend(items.into_iter().filter_map(|m| Some(instance!(m, m.instance_arn.clone()?))));
            match next_page(&mut seen, page.next_token, "ListInstances")? {
                Some(token) => next_token = Some(token),
                None => return Ok(instances),
            }
        }
    }

    async fn update_instance_name(&self, target: &Target, arn: &str, name: &str) -> Result<(), SsoError> {
        let route = self.route(target).await?;
        let request = route.client.update_instance().instance_arn(arn).name(name);
        send!(write route, request, "UpdateInstance")?;
        Ok(())
    }

    async fn start_workflow(&self, target: &Target, arn: &str, workflow: &Workflow) -> Result<(), SsoError> {
        let route = self.route(target).await?;
        match workflow {
            Workflow::SetKey(key) => {
                let configuration = (EncryptionConfiguration::builder())
                    .key_type(KmsKeyType::from(key.aws_key_type()))
                    .set_kms_key_arn(key.kms_key_arn().map(str::to_string))
                    .build()
                    .map_err(|e| SsoError::new("UpdateInstance", ErrorKind::Validation, e.to_string()))?;
                let request = route.client.update_instance().instance_arn(arn).encryption_configuration(configuration);
                send!(write route, request, "UpdateInstance", update_reason)?;
            }
            Workflow::EnablePermissionSets => {
                let request = route.client.update_instance().instance_arn(arn).permission_sets_enabled(true);
                send!(write route, request, "UpdateInstance", update_reason)?;
            }
            Workflow::SetNetwork(network) => {
                let request = route.client.update_instance().instance_arn(arn);
                let network = SendNetworkConfiguration(network.clone());
                send!(write route, request, "UpdateInstance", update_reason, with network)?;
            }
            Workflow::AddRegion(region) => {
                let request = route.client.add_region().instance_arn(arn).region_name(region);
                send!(write route, request, "AddRegion")?;
            }
            Workflow::RemoveRegion(region) => {
                let request = route.client.remove_region().instance_arn(arn).region_name(region);
                send!(write route, request, "RemoveRegion")?;
            }
        }
        Ok(())
    }

    async fn delete_instance(&self, target: &Target, arn: &str) -> Result<(), SsoError> {
        let route = self.route(target).await?;
        let request = route.client.delete_instance().instance_arn(arn);
        send!(write route, request, "DeleteInstance")?;
        Ok(())
    }

    async fn list_tags(&self, target: &Target, arn: &str) -> Result<Tags, SsoError> {
        let route = self.route(target).await?;
        let mut tags = Tags::new();
        let (mut next_token, mut seen) = (None, HashSet::new());
        loop {
            let request = (route.client.list_tags_for_resource())
                .instance_arn(arn)
                .resource_arn(arn)
                .set_next_token(next_token.take());
            let page = send!(route.clone(), request, "ListTagsForResource")?;
            tags.extend(page.tags.unwrap_or_default().into_iter().map(|t| (t.key, t.value)));
            match next_page(&mut seen, page.next_token, "ListTagsForResource")? {
                Some(token) => next_token = Some(token),
                None => return Ok(tags),
            }
        }
    }

    async fn tag_instance(&self, target: &Target, arn: &str, tags: &Tags) -> Result<(), SsoError> {
        let route = self.route(target).await?;
        let request = route.client.tag_resource().instance_arn(arn).resource_arn(arn).set_tags(Some(aws_tags(tags)?));
        send!(write route, request, "TagResource")?;
        Ok(())
    }

    async fn untag_instance(&self, target: &Target, arn: &str, keys: &[String]) -> Result<(), SsoError> {
        let route = self.route(target).await?;
        let request =
            route.client.untag_resource().instance_arn(arn).resource_arn(arn).set_tag_keys(Some(keys.to_vec()));
        send!(write route, request, "UntagResource")?;
        Ok(())
    }

    async fn describe_access_control_attributes(
        &self,
        target: &Target,
        arn: &str,
    ) -> Result<Option<AccessControlAttributes>, SsoError> {
        let route = self.route(target).await?;
        let request = route.client.describe_instance_access_control_attribute_configuration().instance_arn(arn);
        let out = match send!(route, request, "DescribeInstanceAccessControlAttributeConfiguration") {
            Ok(out) => out,
            Err(error) if error.kind == ErrorKind::ResourceNotFound => return Ok(None),
            Err(error) => return Err(error),
        };
        let listed = out.instance_access_control_attribute_configuration.as_ref();
        let mut attributes: Vec<AccessControlAttribute> = (listed.map(|c| c.access_control_attributes()))
            .unwrap_or_default()
            .iter()
            .map(|a| AccessControlAttribute {
                key: a.key().to_string(),
                source: a.value().and_then(|v| v.source().first()).cloned().unwrap_or_default(),
            })
            .collect();
        attributes.sort();
        Ok(Some(AccessControlAttributes {
            status: AttributesStatus::parse(out.status.as_ref().map_or("UNKNOWN", |s| s.as_str())),
            reason: out.status_reason.clone(),
            attributes,
        }))
    }

    async fn change_access_control_attributes(
        &self,
        target: &Target,
        arn: &str,
        change: &AttributeChange,
    ) -> Result<(), SsoError> {
        let route = self.route(target).await?;
        match change {
            AttributeChange::Create(attributes) => {
                let request = (route.client.create_instance_access_control_attribute_configuration())
                    .instance_arn(arn)
                    .instance_access_control_attribute_configuration(aws_attributes(attributes)?);
                send!(write route, request, "CreateInstanceAccessControlAttributeConfiguration")?;
            }
            AttributeChange::Update(attributes) => {
                let request = (route.client.update_instance_access_control_attribute_configuration())
                    .instance_arn(arn)
                    .instance_access_control_attribute_configuration(aws_attributes(attributes)?);
                send!(write route, request, "UpdateInstanceAccessControlAttributeConfiguration")?;
            }
            AttributeChange::Delete => {
                let request = route.client.delete_instance_access_control_attribute_configuration().instance_arn(arn);
                send!(write route, request, "DeleteInstanceAccessControlAttributeConfiguration")?;
            }
        }
        Ok(())
    }

    fn forget_role(&self, role: &RoleRef) {
        self.sessions.forget(role);
    }
}

/// The configuration as the SDK builds it: one value source per attribute.
fn aws_attributes(
    attributes: &[AccessControlAttribute],
) -> Result<types::InstanceAccessControlAttributeConfiguration, SsoError> {
    let invalid = |e: aws_smithy_types::error::operation::BuildError| {
        SsoError::new("InstanceAccessControlAttributeConfiguration", ErrorKind::Validation, e.to_string())
    };
    let attribute = |a: &AccessControlAttribute| {
        let value = types::AccessControlAttributeValue::builder().source(&a.source).build().map_err(invalid)?;
        types::AccessControlAttribute::builder().key(&a.key).value(value).build().map_err(invalid)
    };
    let attributes = attributes.iter().map(attribute).collect::<Result<Vec<_>, _>>()?;
    types::InstanceAccessControlAttributeConfiguration::builder()
        .set_access_control_attributes(Some(attributes))
        .build()
        .map_err(invalid)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pagination_ends_on_the_last_page_and_refuses_a_token_that_comes_back() {
        let mut seen = HashSet::new();
        assert_eq!(next_page(&mut seen, Some("a".into()), "ListInstances").unwrap(), Some("a".into()));
        assert_eq!(next_page(&mut seen, Some("b".into()), "ListInstances").unwrap(), Some("b".into()));
        assert_eq!(next_page(&mut seen, Some(String::new()), "ListInstances").unwrap(), None, "empty: last page");
        assert_eq!(next_page(&mut seen, None, "ListInstances").unwrap(), None);
        let repeated = next_page(&mut seen, Some("a".into()), "ListInstances").unwrap_err();
        assert!(repeated.message.contains("again"), "{}", repeated.message);
    }
}
