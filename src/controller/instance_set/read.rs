//! Reading the set's OUs from AWS Organizations: the accounts directly under
//! each OU, and (recursive) the OUs under it, a few OUs at a time.

use std::collections::BTreeMap;

use futures::stream::{FuturesUnordered, StreamExt};

use crate::api::OrganizationSource;
use crate::controller::tenancy::organization::UnitsOfAccounts;
use crate::sso::{Account, ErrorKind, Organizations, Principal, SsoError};

/// How many OUs are read at once: Organizations allows a few requests a
/// second per account, and the SDK retries TooManyRequestsException.
const UNITS_AT_ONCE: usize = 4;

/// An account the read found, and the OUs above it, from the OU the set
/// names down to the account's own.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FoundAccount {
    pub account: Account,
    pub units: Vec<String>,
}

/// Every account under the set's OUs, by ID.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct OrganizationRead {
    pub accounts: BTreeMap<String, FoundAccount>,
}

impl OrganizationRead {
    /// The OUs of each account, for the operator's view of the organization.
    pub fn units_of_accounts(&self) -> UnitsOfAccounts {
        self.accounts.iter().map(|(id, found)| (id.clone(), found.units.clone())).collect()
    }
}

/// A listing, sent again when the operator's own rate limit put it off:
/// a read is one walk, and its pages wait their turn instead of failing it.
async fn paced<T, F, Fut>(mut listing: F) -> Result<T, SsoError>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, SsoError>>,
{
    loop {
        match listing().await {
            Err(SsoError { kind: ErrorKind::RateLimited(wait), .. }) => tokio::time::sleep(wait).await,
            result => return result,
        }
    }
}

/// Reads every OU that `source` names (and, recursive, those under them).
pub async fn read_organization(
    organizations: &dyn Organizations,
    principal: &Principal,
    source: &OrganizationSource,
) -> Result<OrganizationRead, SsoError> {
    let mut read = OrganizationRead::default();
    let mut waiting: Vec<Vec<String>> = source.organizational_units.iter().map(|unit| vec![unit.clone()]).collect();
    let mut reading = FuturesUnordered::new();
    let visit = |path: Vec<String>| async move {
        let unit = path.last().expect("a path names at least its own OU").clone();
        let accounts = paced(|| organizations.accounts_for_parent(principal, &unit));
        let units = async {
            match source.recursive {
                true => paced(|| organizations.units_for_parent(principal, &unit)).await,
                false => Ok(Vec::new()),
            }
        };
        let (accounts, units) = futures::join!(accounts, units);
        Ok::<_, SsoError>((path, accounts?, units?))
    };
    loop {
        while reading.len() < UNITS_AT_ONCE
            && let Some(path) = waiting.pop()
        {
            reading.push(visit(path));
        }
        let Some(result) = reading.next().await else { return Ok(read) };
        let (path, accounts, units) = result?;
        for account in accounts {
            let found = read
                .accounts
                .entry(account.id.clone())
                .or_insert_with(|| FoundAccount { account: account.clone(), units: Vec::new() });
            for unit in &path {
                if !found.units.contains(unit) {
                    found.units.push(unit.clone());
                }
            }
        }
        for unit in units {
            // An OU named by the set and also nested under another is read once.
            if !path.contains(&unit) && !source.organizational_units.contains(&unit) {
                waiting.push([path.clone(), vec![unit]].concat());
            }
        }
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use std::collections::HashMap;
    use std::sync::Mutex;

    use async_trait::async_trait;

    use super::*;
    use crate::sso::AccountState;

    /// An organization in memory: parent -> (accounts, child OUs); records the parents asked.
    #[derive(Default)]
    pub struct FakeOrganization {
        pub children: HashMap<String, (Vec<Account>, Vec<String>)>,
        pub asked: Mutex<Vec<String>>,
        pub refuse: Option<ErrorKind>,
        /// How many answers the operator's rate limit puts off first.
        pub deferred: Mutex<u32>,
    }

    pub fn account(id: &str, state: AccountState) -> Account {
        Account { id: id.into(), name: format!("account {id}"), state }
    }

    impl FakeOrganization {
        pub fn with(mut self, parent: &str, accounts: &[&str], units: &[&str]) -> Self {
            let accounts = accounts.iter().map(|id| account(id, AccountState::Active)).collect();
            self.children.insert(parent.into(), (accounts, units.iter().map(|u| u.to_string()).collect()));
            self
        }

        fn answer<T>(&self, parent: &str, pick: impl Fn(&(Vec<Account>, Vec<String>)) -> T) -> Result<T, SsoError> {
            let mut deferred = self.deferred.lock().unwrap();
            if *deferred > 0 {
                *deferred -= 1;
                let wait = ErrorKind::RateLimited(std::time::Duration::from_millis(1));
                return Err(SsoError::new("RateLimit", wait, "at its call rate"));
            }
            drop(deferred);
            self.asked.lock().unwrap().push(parent.to_string());
            if let Some(kind) = &self.refuse {
                return Err(SsoError::new("ListAccountsForParent", kind.clone(), "refused"));
            }
            let children = self.children.get(parent).ok_or_else(|| {
                SsoError::new("ListAccountsForParent", ErrorKind::ResourceNotFound, "parent not found")
            })?;
            Ok(pick(children))
        }
    }

    #[async_trait]
    impl Organizations for FakeOrganization {
        async fn accounts_for_parent(&self, _: &Principal, parent: &str) -> Result<Vec<Account>, SsoError> {
            self.answer(parent, |(accounts, _)| accounts.clone())
        }

        async fn units_for_parent(&self, _: &Principal, parent: &str) -> Result<Vec<String>, SsoError> {
            self.answer(parent, |(_, units)| units.clone())
        }
    }

    fn source(units: &[&str], recursive: bool) -> OrganizationSource {
        OrganizationSource {
            credentials: None,
            organizational_units: units.iter().map(|u| u.to_string()).collect(),
            recursive,
            include_accounts: vec![],
            exclude_accounts: vec![],
        }
    }

    fn tree() -> FakeOrganization {
        FakeOrganization::default()
            .with("ou-top", &["111111111111"], &["ou-mid", "ou-side"])
            .with("ou-mid", &["222222222222"], &["ou-leaf"])
            .with("ou-leaf", &["333333333333", "444444444444"], &[])
            .with("ou-side", &[], &[])
    }

    #[tokio::test]
    async fn a_recursive_read_finds_every_account_with_the_units_above_it() {
        let organization = tree();
        let read = read_organization(&organization, &Principal::Operator, &source(&["ou-top"], true)).await.unwrap();
        let got: Vec<(&str, Vec<&str>)> = read
            .accounts
            .iter()
            .map(|(id, found)| (id.as_str(), found.units.iter().map(String::as_str).collect()))
            .collect();
        assert_eq!(
            got,
            [
                ("111111111111", vec!["ou-top"]),
                ("222222222222", vec!["ou-top", "ou-mid"]),
                ("333333333333", vec!["ou-top", "ou-mid", "ou-leaf"]),
                ("444444444444", vec!["ou-top", "ou-mid", "ou-leaf"]),
            ]
        );
        let mut asked = organization.asked.lock().unwrap().clone();
        asked.sort();
        let each_twice = ["ou-leaf", "ou-leaf", "ou-mid", "ou-mid", "ou-side", "ou-side", "ou-top", "ou-top"];
        assert_eq!(asked, each_twice, "accounts and child OUs, once per OU");
    }

    #[tokio::test]
    async fn without_recursion_only_the_named_units_accounts_count() {
        let organization = tree();
        let read = read_organization(&organization, &Principal::Operator, &source(&["ou-top", "ou-leaf"], false))
            .await
            .unwrap();
        let ids: Vec<&str> = read.accounts.keys().map(String::as_str).collect();
        assert_eq!(ids, ["111111111111", "333333333333", "444444444444"]);
        assert_eq!(organization.asked.lock().unwrap().len(), 2, "no child OUs asked for");
    }

    #[tokio::test]
    async fn a_unit_named_twice_is_read_once_and_a_refusal_fails_the_read() {
        let organization = tree();
        let read =
            read_organization(&organization, &Principal::Operator, &source(&["ou-top", "ou-mid"], true)).await.unwrap();
        assert_eq!(read.accounts.len(), 4);
        assert_eq!(organization.asked.lock().unwrap().iter().filter(|p| *p == "ou-mid").count(), 2);
        let deferred = FakeOrganization { deferred: Mutex::new(3), ..tree() };
        let read = read_organization(&deferred, &Principal::Operator, &source(&["ou-top"], true)).await.unwrap();
        assert_eq!(read.accounts.len(), 4, "listings put off by the rate limit wait their turn");
        let refused = FakeOrganization { refuse: Some(ErrorKind::AccessDenied), ..tree() };
        let error = read_organization(&refused, &Principal::Operator, &source(&["ou-top"], true)).await.unwrap_err();
        assert_eq!(error.kind, ErrorKind::AccessDenied);
    }
}
