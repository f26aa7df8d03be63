//! The AWS Organizations part of the port: the two listings that reading
//! an OU needs, every page of each. Instance sets walk the OUs with them.

use std::collections::HashSet;

use async_trait::async_trait;
use aws_credential_types::Credentials;

use super::aws::{AwsSsoAdmin, next_page, sdk_error};
use super::{ErrorKind, Principal, SsoError};

/// Organizations has one endpoint, in us-east-1 (the aws partition's global endpoint).
pub const ORGANIZATIONS_REGION: &str = "us-east-1";
/// The model's largest page.
const PAGE_SIZE: i32 = 20;

/// An account's lifecycle state (`State`; the retired `Status` is not read).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum AccountState {
    PendingActivation,
    Active,
    Suspended,
    PendingClosure,
    Closed,
    /// A state this operator does not know: the account is left as it is.
    Other(String),
}

impl AccountState {
    pub fn parse(value: &str) -> Self {
        match value {
            "PENDING_ACTIVATION" => Self::PendingActivation,
            "ACTIVE" => Self::Active,
            "SUSPENDED" => Self::Suspended,
            "PENDING_CLOSURE" => Self::PendingClosure,
            "CLOSED" => Self::Closed,
            other => Self::Other(other.to_string()),
        }
    }
}

/// An account as ListAccountsForParent reports it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Account {
    pub id: String,
    pub name: String,
    pub state: AccountState,
}

/// The Organizations reads an instance set makes, through `principal`
/// (a role in the management account or a delegated administrator).
#[async_trait]
pub trait Organizations: Send + Sync + 'static {
    /// The accounts directly under `parent` (an OU or a root), every page.
    async fn accounts_for_parent(&self, principal: &Principal, parent: &str) -> Result<Vec<Account>, SsoError>;
    /// The OUs directly under `parent`, every page.
    async fn units_for_parent(&self, principal: &Principal, parent: &str) -> Result<Vec<String>, SsoError>;
}

/// `AWSOrganizationsNotInUseException`: the account is in no organization.
pub fn not_in_use(error: &SsoError) -> bool {
    error.kind == ErrorKind::Unknown("AWSOrganizationsNotInUseException".into())
}

/// Every page of one listing: `page` sends the request for a token and
/// answers the page's items and the next token. A page may be empty while a
/// token is still given, so only a missing token ends the listing.
async fn every_page<T, F, Fut>(operation: &'static str, mut page: F) -> Result<Vec<T>, SsoError>
where
    F: FnMut(Option<String>) -> Fut,
    Fut: Future<Output = Result<(Vec<T>, Option<String>), SsoError>>,
{
    let (mut items, mut token, mut seen) = (Vec::new(), None, HashSet::new());
    loop {
        let (found, next) = page(token).await?;
        items.extend(found);
        token = next_page(&mut seen, next, operation)?;
        if token.is_none() {
            return Ok(items);
        }
    }
}

/// The role's credentials, where the call is not made with the operator's own.
fn role_config(credentials: Option<Credentials>) -> aws_sdk_organizations::config::Builder {
    let config = aws_sdk_organizations::config::Builder::default();
    match credentials {
        Some(credentials) => config.credentials_provider(credentials),
        None => config,
    }
}

#[async_trait]
impl Organizations for AwsSsoAdmin {
    async fn accounts_for_parent(&self, principal: &Principal, parent: &str) -> Result<Vec<Account>, SsoError> {
        const OPERATION: &str = "ListAccountsForParent";
        let (client, credentials) = self.organizations_route(principal).await?;
        every_page(OPERATION, |token| {
            let request = client.list_accounts_for_parent().parent_id(parent).max_results(PAGE_SIZE);
            let request = request.set_next_token(token).customize().config_override(role_config(credentials.clone()));
            async move {
                let page = request.send().await.map_err(|e| sdk_error(OPERATION, e))?;
                let accounts = page.accounts().iter().filter_map(|account| {
                    Some(Account {
                        id: account.id()?.to_string(),
                        name: account.name().unwrap_or_default().to_string(),
                        state: AccountState::parse(account.state().map_or("", |s| s.as_str())),
                    })
                });
                Ok((accounts.collect(), page.next_token().map(str::to_string)))
            }
        })
        .await
    }

    async fn units_for_parent(&self, principal: &Principal, parent: &str) -> Result<Vec<String>, SsoError> {
        const OPERATION: &str = "ListOrganizationalUnitsForParent";
        let (client, credentials) = self.organizations_route(principal).await?;
        every_page(OPERATION, |token| {
            let request = client.list_organizational_units_for_parent().parent_id(parent).max_results(PAGE_SIZE);
            let request = request.set_next_token(token).customize().config_override(role_config(credentials.clone()));
            async move {
                let page = request.send().await.map_err(|e| sdk_error(OPERATION, e))?;
                let units = page.organizational_units().iter().filter_map(|unit| unit.id().map(str::to_string));
                Ok((units.collect(), page.next_token().map(str::to_string)))
            }
        })
        .await
    }
}
