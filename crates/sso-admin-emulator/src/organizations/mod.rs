//! AWS Organizations (2016-11-28) in memory: the tree reads in `reads`, OU
//! and structure changes in `changes`, the account lifecycle in `accounts`,
//! the settings' organization in `seed`. Only the management account and
//! delegated administrators may read the tree; only the management account
//! may change it.

mod accounts;
mod changes;
mod ids;
mod reads;
pub mod seed;
mod tree;

use std::time::{Instant, SystemTime, UNIX_EPOCH};

use rand::rngs::StdRng;
use serde_json::{Value, json};

use super::Caller;
use super::config::Config;
use super::error::ApiError;
use super::pages;
use super::validate::Input;
use accounts::CreateAccountRequest;
use ids::ANY_TEXT;
use tree::Organization;

/// Each operation with the IAM action that authorizes it.
macro_rules! operations {
    ($($operation:literal),* $(,)?) => { [$(($operation, concat!("organizations:", $operation))),*] };
}

const OPERATIONS: [(&str, &str); 18] = operations![
    "DescribeOrganization",
    "DescribeOrganizationalUnit",
    "DescribeAccount",
    "DescribeCreateAccountStatus",
    "ListRoots",
    "ListChildren",
    "ListOrganizationalUnitsForParent",
    "ListAccountsForParent",
    "ListAccounts",
    "ListParents",
    "ListTagsForResource",
    "CreateOrganization",
    "CreateOrganizationalUnit",
    "MoveAccount",
    "CreateAccount",
    "RemoveAccountFromOrganization",
    "CloseAccount",
    "RegisterDelegatedAdministrator",
];

/// The operation named by an X-Amz-Target suffix, if it is emulated.
pub fn operation(name: &str) -> Option<&'static str> {
    OPERATIONS.iter().find(|(operation, _)| *operation == name).map(|(operation, _)| *operation)
}

/// `organizations:<Operation>`.
pub fn action(operation: &str) -> Option<&'static str> {
    OPERATIONS.iter().find(|(name, _)| *name == operation).map(|(_, action)| *action)
}

/// The model's page size: MaxResults is 1-20.
const MAX_PAGE: i64 = 20;

fn epoch_now() -> f64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| (d.as_millis() as f64) / 1000.0).unwrap_or_default()
}

/// An Organizations exception: every one the model names is a client error.
fn refusal(code: &'static str, message: impl Into<String>) -> ApiError {
    ApiError::new(400, code, message)
}

/// Organizations words constraint violations as InvalidInputException with a Reason.
fn invalid_input(error: ApiError) -> ApiError {
    if error.code != "ValidationException" {
        return error;
    }
    let reasons = [
        ("must not be null", "INPUT_REQUIRED"),
        ("enum value set", "INVALID_ENUM"),
        ("regular expression", "INVALID_PATTERN"),
        ("length greater than", "MIN_LENGTH_EXCEEDED"),
        ("length less than", "MAX_LENGTH_EXCEEDED"),
        ("value greater than", "MIN_VALUE_EXCEEDED"),
        ("value less than", "MAX_VALUE_EXCEEDED"),
        ("NextToken", "INVALID_NEXT_TOKEN"),
    ];
    let reason = reasons.iter().find(|(fragment, _)| error.message.contains(fragment)).map(|(_, reason)| *reason);
    refusal("InvalidInputException", error.message).with_reason(reason.unwrap_or("INVALID_INPUT"))
}

/// Who may call an operation, once the caller is in an organization.
#[derive(PartialEq)]
enum Audience {
    AnyMember,
    Readers,
    Management,
}

fn audience(operation: &str) -> Audience {
    match operation {
        "DescribeOrganization" => Audience::AnyMember,
        op if op.starts_with("List") || op.starts_with("Describe") => Audience::Readers,
        _ => Audience::Management,
    }
}

#[derive(Default)]
pub struct OrganizationsState {
    organizations: Vec<Organization>,
    requests: Vec<CreateAccountRequest>,
}

impl OrganizationsState {
    /// The settings' organization, if any; its membership and management
    /// account are written into `accountOrganizations` and
    /// `managementAccounts`, which IAM conditions and CreateInstance read.
    pub fn seeded(config: &mut Config, rng: &mut StdRng) -> Self {
        let mut state = Self::default();
        if let Some(seed) = &config.organization {
            state.organizations.push(Organization::seeded(rng, seed));
            state.organizations.iter().for_each(|organization| organization.record_in(config));
        }
        state
    }

    fn index_of(&self, account: &str) -> Option<usize> {
        self.organizations.iter().position(|o| o.account(account).is_some())
    }

    /// The organization of `account`, if it is in one.
    fn organization_of(&self, account: &str) -> Option<&Organization> {
        self.index_of(account).map(|index| &self.organizations[index])
    }

    /// The first of `actions` a service control policy denies to `account`.
    pub fn scp_denied<'a>(&self, account: &str, actions: &[&'a str]) -> Option<&'a str> {
        self.organization_of(account)?.scp_denied(account, actions)
    }

    /// Whether the organization of `account` (if any) lets it create an account instance.
    pub fn account_instances_allowed(&self, account: &str) -> bool {
        self.organization_of(account).is_none_or(|o| o.account_instances_allowed)
    }

    /// Runs one operation. `operation` must be one that [`operation`] knows.
    pub fn call(
        &mut self,
        config: &mut Config,
        rng: &mut StdRng,
        caller: &Caller,
        operation: &str,
        body: &Value,
    ) -> Result<Value, ApiError> {
        let now = Instant::now();
        self.settle_creations(now);
        let input = Input::new(body)?;
        if operation == "CreateOrganization" {
            return self.create_organization(config, rng, caller, &input).map_err(invalid_input);
        }
        let index = self.index_of(&caller.account).ok_or_else(|| {
            refusal("AWSOrganizationsNotInUseException", "Your account is not a member of an organization.")
        })?;
        let organization = &self.organizations[index];
        let allowed = match audience(operation) {
            Audience::AnyMember => true,
            Audience::Readers => {
                caller.account == organization.management || organization.is_delegated_administrator(&caller.account)
            }
            Audience::Management => caller.account == organization.management,
        };
        if !allowed {
            return Err(refusal("AccessDeniedException", "You don't have permissions to access this resource."));
        }
        let empty_pages = config.organization_empty_pages;
        let result = match operation {
            "DescribeCreateAccountStatus" => self.describe_create_account_status(index, &input, now),
            "CreateOrganizationalUnit" => self.organizations[index].create_unit(rng, &input),
            "MoveAccount" => self.organizations[index].move_account(&input),
            "RegisterDelegatedAdministrator" => self.organizations[index].register_delegated_administrator(&input),
            "CreateAccount" => self.create_account(config, rng, index, &input, now),
            "RemoveAccountFromOrganization" => self.remove_account(config, index, &input),
            "CloseAccount" => self.organizations[index].close_account(config, &input, now),
            read => self.organizations[index].read(read, &input, empty_pages, now),
        };
        result.map_err(invalid_input)
    }
}

impl Organization {
    /// Writes this organization's membership into the settings IAM reads.
    fn record_in(&self, config: &mut Config) {
        for account in &self.accounts {
            config.account_organizations.insert(account.id.clone(), self.id.clone());
        }
        if !config.management_accounts.contains(&self.management) {
            config.management_accounts.push(self.management.clone());
        }
    }
}

/// One page of `items` under `key`. With `empty_pages`, an empty page with a
/// NextToken comes before every page, as AWS documents it may: a client must
/// page until NextToken is null, not until a page is empty.
fn list(items: Vec<Value>, input: &Input, key: &str, empty_pages: bool) -> Result<Value, ApiError> {
    let limit = input.integer("MaxResults", 1, MAX_PAGE)?.unwrap_or(MAX_PAGE) as usize;
    let token = input.string("NextToken", 0, 100_000, &ANY_TEXT)?;
    // `<offset>e`: the empty page before <offset> was served.
    let after_empty = token.is_some_and(|t| t.ends_with('e'));
    let start = pages::offset(token.map(|t| t.trim_end_matches('e')))?;
    if empty_pages && !after_empty {
        return Ok(json!({ key: [], "NextToken": format!("{start}e") }));
    }
    Ok(pages::page(items, start, limit, key))
}
