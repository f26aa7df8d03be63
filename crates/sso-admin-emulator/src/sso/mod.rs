//! SSO Admin's instance operations, in memory: create, describe, list,
//! delete and tags here; UpdateInstance in `update` (its network access in
//! `network`), Regions in `regions`, attribute-based access control in
//! `access_control`.

mod access_control;
mod instance;
mod network;
mod regions;
mod update;

use std::collections::{BTreeMap, HashMap};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use rand::Rng;
use rand::rngs::StdRng;
use serde_json::{Value, json};

use super::Caller;
use super::config::Config;
use super::error::ApiError;
use super::pages::{self, page};
use super::validate::{CLIENT_TOKEN, INSTANCE_ARN, Input, NAME, NEXT_TOKEN, TAGGABLE_ARN};
use instance::{Instance, Key, Replica, State};

pub const OPERATIONS: [&str; 16] = [
    "CreateInstance",
    "DescribeInstance",
    "UpdateInstance",
    "DeleteInstance",
    "ListInstances",
    "TagResource",
    "UntagResource",
    "ListTagsForResource",
    "AddRegion",
    "RemoveRegion",
    "DescribeRegion",
    "ListRegions",
    access_control::CREATE,
    access_control::DESCRIBE,
    access_control::UPDATE,
    access_control::DELETE,
];

const MANAGEMENT_ACCOUNT: &str = "Organization management account is not allowed to perform the operation.";
/// CreateInstance in a member account of an organization that has not enabled account instances.
pub const ACCOUNT_INSTANCES_NOT_ALLOWED: &str = "Your organization does not allow account instances of IAM \
                                                 Identity Center. Ask its management account to enable them.";
const INSTANCE_EXISTS: &str = "An instance already exists in this account. You can create only one instance per \
                               account and across all AWS Regions.";
const LIST_PAGE: usize = 10;
const TAG_PAGE: usize = 50;
const MAX_TAGS: usize = 75;

/// A CreateInstance token and what it was first sent with.
struct TokenUse {
    fingerprint: String,
    arn: String,
}

#[derive(Default)]
pub struct SsoState {
    instances: Vec<Instance>,
    tokens: HashMap<(String, String), TokenUse>,
}

fn random_id(rng: &mut StdRng, alphabet: &[u8], length: usize) -> String {
    (0..length).map(|_| alphabet[rng.random_range(0..alphabet.len())] as char).collect()
}

fn new_instance_arn(rng: &mut StdRng) -> String {
    format!("arn:aws:sso:::instance/ssoins-{}", random_id(rng, b"abcdefghijklmnopqrstuvwxyz0123456789", 16))
}

/// `d-` and ten lowercase hex digits, as the model's IdentityStoreArn pattern requires.
fn new_identity_store_id(rng: &mut StdRng) -> String {
    format!("d-{}", random_id(rng, b"0123456789abcdef", 10))
}

fn epoch_now() -> f64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| (d.as_millis() as f64) / 1000.0).unwrap_or_default()
}

fn seconds(value: f64) -> Duration {
    Duration::from_secs_f64(value.max(0.0))
}

impl SsoState {
    pub fn seeded(config: &Config, rng: &mut StdRng) -> Self {
        let mut state = Self::default();
        for seed in &config.instances {
            let arn = seed.arn.clone().unwrap_or_else(|| new_instance_arn(rng));
            let now = Instant::now();
            let replica = |name: &String| Replica {
                name: name.clone(),
                added_epoch: epoch_now(),
                added: now,
                takes: Duration::ZERO,
                removing: None,
            };
            state.instances.push(Instance {
                arn,
                account: seed.account.clone(),
                region: seed.region.clone(),
                name: seed.name.clone(),
                identity_store_id: new_identity_store_id(rng),
                created_epoch: epoch_now(),
                created: now,
                create_time: Duration::ZERO,
                failure: None,
                deleted: None,
                tags: BTreeMap::new(),
                visible_to: seed.visible_to.clone(),
                organization: config.management_accounts.contains(&seed.account),
                key: Key { customer_key: seed.kms_key_arn.clone(), ..Key::aws_owned(now) },
                permission_sets_enabled: seed.permission_sets_enabled,
                replicas: seed.regions.iter().map(replica).collect(),
                network: None,
                access_control: None,
            });
        }
        state
    }

    /// Runs one operation. `op` must be one of [`OPERATIONS`].
    pub fn call(
        &mut self,
        config: &Config,
        rng: &mut StdRng,
        caller: &Caller,
        op: &str,
        body: &Value,
    ) -> Result<Value, ApiError> {
        let now = Instant::now();
        self.instances.retain(|i| i.state(now) != State::Gone);
        self.instances.iter_mut().for_each(|i| i.forget_removed_regions(now));
        let input = Input::new(body)?;
        match op {
            "CreateInstance" => self.create(config, rng, caller, &input, now),
            "DescribeInstance" => {
                let arn = input.required_string("InstanceArn", 10, 1224, &INSTANCE_ARN)?;
                Ok(self.visible(caller, arn, op, now)?.describe(now))
            }
            "UpdateInstance" => self.update(config, caller, body, now),
            "DeleteInstance" => {
                let arn = input.required_string("InstanceArn", 10, 1224, &INSTANCE_ARN)?;
                let delete_time = seconds(config.delete_seconds);
                let instance = self.own(caller, arn, op, now)?;
                if instance.deleted.is_none() {
                    instance.deleted = Some((now, delete_time));
                }
                Ok(json!({}))
            }
            "ListInstances" => self.list(caller, &input, now),
            "TagResource" => {
                let arn = tag_target(&input)?;
                let tags = input.tags("Tags")?;
                let tags = input.require("Tags", tags)?;
                let instance = self.settled(caller, arn, op, now)?;
                let mut merged = instance.tags.clone();
                merged.extend(tags);
                if merged.len() > MAX_TAGS {
                    return Err(ApiError::quota(format!("An instance can have at most {MAX_TAGS} tags")));
                }
                instance.tags = merged;
                Ok(json!({}))
            }
            "UntagResource" => {
                let arn = tag_target(&input)?;
                let keys = input.tag_keys("TagKeys")?;
                let keys = input.require("TagKeys", keys)?;
                let instance = self.settled(caller, arn, op, now)?;
                for key in keys {
                    instance.tags.remove(&key);
                }
                Ok(json!({}))
            }
            "AddRegion" => self.add_region(config, caller, body, now),
            "RemoveRegion" => self.remove_region(config, caller, body, now),
            "DescribeRegion" => self.describe_region(caller, body, now),
            "ListRegions" => self.list_regions(caller, body, now),
            access_control::CREATE => self.create_access_control(config, caller, body, now),
            access_control::DESCRIBE => self.describe_access_control(caller, body, now),
            access_control::UPDATE => self.update_access_control(caller, body, now),
            access_control::DELETE => self.delete_access_control(caller, body, now),
            "ListTagsForResource" => {
                let arn = tag_target(&input)?;
                let start = page_start(&input)?;
                let instance = self.settled(caller, arn, op, now)?;
                let tags: Vec<Value> = instance.tags.iter().map(|(k, v)| json!({"Key": k, "Value": v})).collect();
                Ok(page(tags, start, TAG_PAGE, "Tags"))
            }
            other => Err(ApiError::new(400, "UnknownOperationException", format!("Unknown operation {other}"))),
        }
    }

    fn create(
        &mut self,
        config: &Config,
        rng: &mut StdRng,
        caller: &Caller,
        input: &Input,
        now: Instant,
    ) -> Result<Value, ApiError> {
        let name = input.string("Name", 0, 255, &NAME)?;
        let token = input.string("ClientToken", 1, 64, &CLIENT_TOKEN)?;
        let tags = input.tags("Tags")?.unwrap_or_default();
        let fingerprint = format!("{name:?}|{tags:?}");
        let token_key = token.map(|t| (caller.account.clone(), t.to_string()));
        if let Some(used) = token_key.as_ref().and_then(|k| self.tokens.get(k)) {
            if used.fingerprint == fingerprint {
                return Ok(json!({"InstanceArn": used.arn}));
            }
            return Err(ApiError::validation(
                "IdempotentParameterMismatch: the ClientToken was already used with different parameters",
            ));
        }
        if config.management_accounts.contains(&caller.account) {
            return Err(ApiError::conflict(MANAGEMENT_ACCOUNT));
        }
        // Whatever its Region: one instance per account, across all Regions.
        if self.instances.iter().any(|i| i.account == caller.account) {
            return Err(ApiError::conflict(INSTANCE_EXISTS));
        }
        let failure = config.fail_creation.iter().find(|rule| rule.matches(&caller.account, name));
        let arn = new_instance_arn(rng);
        self.instances.push(Instance {
            arn: arn.clone(),
            account: caller.account.clone(),
            region: caller.region.clone(),
            name: name.map(String::from),
            identity_store_id: new_identity_store_id(rng),
            created_epoch: epoch_now(),
            created: now,
            create_time: seconds(config.create_seconds),
            failure: failure.map(|rule| rule.reason.clone()),
            deleted: None,
            tags,
            visible_to: Vec::new(),
            organization: false,
            key: Key::aws_owned(now),
            permission_sets_enabled: false,
            replicas: Vec::new(),
            network: None,
            access_control: None,
        });
        if let Some(key) = token_key {
            self.tokens.insert(key, TokenUse { fingerprint, arn: arn.clone() });
        }
        Ok(json!({"InstanceArn": arn}))
    }

    /// The instances the caller owns or sees: those that serve its Region
    /// (RegionScope CURRENT_REGION, the default) or all of them (ALL_REGIONS).
    fn list(&self, caller: &Caller, input: &Input, now: Instant) -> Result<Value, ApiError> {
        let limit = input.integer("MaxResults", 1, 100)?.map_or(LIST_PAGE, |n| (n as usize).min(LIST_PAGE));
        let start = page_start(input)?;
        let all_regions = input.one_of("RegionScope", &["CURRENT_REGION", "ALL_REGIONS"])? == Some("ALL_REGIONS");
        let visible: Vec<Value> = self
            .instances
            .iter()
            .filter(|i| all_regions || i.serves(&caller.region, now))
            .filter(|i| i.account == caller.account || i.visible_to.contains(&caller.account))
            .map(|i| i.listed(now))
            .collect();
        Ok(page(visible, start, limit, "Instances"))
    }

    /// The caller's own instance. AWS answers AccessDenied for one it cannot
    /// see, including one whose deletion has completed.
    /// Changes go to the primary Region; an additional Region answers them with a ValidationException.
    fn own(&mut self, caller: &Caller, arn: &str, op: &str, now: Instant) -> Result<&mut Instance, ApiError> {
        let instance = self
            .instances
            .iter_mut()
            .find(|i| i.arn == arn && i.account == caller.account && i.serves(&caller.region, now))
            .ok_or_else(|| denied(caller, arn, op))?;
        if instance.region != caller.region {
            return Err(ApiError::validation(format!(
                "{op} must be called in the primary Region of instance {arn}, {}",
                instance.region
            )));
        }
        Ok(instance)
    }

    /// An instance the caller may read: its own, or its organization's.
    fn visible(&self, caller: &Caller, arn: &str, op: &str, now: Instant) -> Result<&Instance, ApiError> {
        let readable = |i: &&Instance| i.account == caller.account || i.visible_to.contains(&caller.account);
        self.instances
            .iter()
            .filter(readable)
            .find(|i| i.arn == arn && i.serves(&caller.region, now))
            .ok_or_else(|| denied(caller, arn, op))
    }

    /// The caller's instance, refused while creation is under way: then only
    /// DescribeInstance and DeleteInstance are allowed.
    fn settled(&mut self, caller: &Caller, arn: &str, op: &str, now: Instant) -> Result<&mut Instance, ApiError> {
        let instance = self.own(caller, arn, op, now)?;
        match instance.state(now) {
            State::Creating => Err(ApiError::conflict(format!(
                "Instance {arn} is CREATE_IN_PROGRESS; only DescribeInstance and DeleteInstance are allowed"
            ))),
            State::Deleting | State::Gone => Err(ApiError::conflict(format!("Instance {arn} is being deleted"))),
            State::Failed | State::Active => Ok(instance),
        }
    }
}

fn denied(caller: &Caller, arn: &str, op: &str) -> ApiError {
    ApiError::access_denied(format!(
        "User: arn:aws:iam::{}:user/emulator is not authorized to perform: sso:{op} on resource: {arn}",
        caller.account
    ))
}

/// Tagging operations name the instance as ResourceArn (and optionally InstanceArn).
fn tag_target<'a>(input: &Input<'a>) -> Result<&'a str, ApiError> {
    input.string("InstanceArn", 10, 1224, &INSTANCE_ARN)?;
    let arn = input.required_string("ResourceArn", 10, 2048, &TAGGABLE_ARN)?;
    if !INSTANCE_ARN.is_match(arn) {
        return Err(ApiError::not_found(format!("Resource {arn} is not an instance known to this emulator")));
    }
    Ok(arn)
}

fn page_start(input: &Input) -> Result<usize, ApiError> {
    pages::offset(input.string("NextToken", 0, 2048, &NEXT_TOKEN)?)
}
