//! Which account and region a call acts in, and who may still write there.

use std::fmt;
use std::sync::Arc;

/// A role to assume before calling SSO Admin.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct RoleRef {
    pub role_arn: String,
    pub external_id: Option<String>,
    /// The object the session acts for; each object gets a session of its own.
    pub on_behalf_of: Option<Requester>,
}

impl RoleRef {
    pub fn new(role_arn: impl Into<String>, external_id: Option<String>) -> Self {
        Self { role_arn: role_arn.into(), external_id, on_behalf_of: None }
    }
}

/// The Kubernetes object a role session acts for. AssumeRole names it in the
/// session name and in session tags, so that a role's trust policy can admit
/// the operator for one namespace only (the second line of defence behind the
/// grants), and CloudTrail shows which object acted.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Requester {
    pub namespace: String,
    pub name: String,
}

/// Session tag keys; a trust policy reads them as `aws:RequestTag/<key>`.
pub const NAMESPACE_TAG: &str = "kubernetes-namespace";
pub const NAME_TAG: &str = "kubernetes-name";

impl Requester {
    /// `ico-<namespace>-<name>`, within STS's 64 characters of [\w+=,.@-]
    /// (Kubernetes names use a subset of those).
    pub fn session_name(&self) -> String {
        let mut name = format!("ico-{}-{}", self.namespace, self.name);
        name.truncate(64);
        name
    }

    pub fn session_tags(&self) -> [(&'static str, &str); 2] {
        [(NAMESPACE_TAG, self.namespace.as_str()), (NAME_TAG, self.name.as_str())]
    }
}

/// Whose credentials sign a call.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub enum Principal {
    /// The operator's own: its pod's role, or what the environment provides.
    #[default]
    Operator,
    /// A role assumed for the call, in a session of its own.
    Role(RoleRef),
}

impl Principal {
    /// The account the principal's role names; None for the operator's own
    /// credentials, whose account only GetCallerIdentity tells.
    pub fn role_account(&self) -> Option<&str> {
        match self {
            Self::Operator => None,
            Self::Role(role) => account_of_role(&role.role_arn),
        }
    }
}

/// The region and identity of a call.
#[derive(Clone, Debug, Default)]
pub struct Target {
    pub region: String,
    pub principal: Principal,
    /// Asked right before each write to AWS goes on the wire.
    pub guard: WriteGuard,
}

impl Target {
    pub fn new(region: impl Into<String>, principal: Principal) -> Self {
        Self { region: region.into(), principal, guard: WriteGuard::default() }
    }
}

type Authorize = dyn Fn() -> Result<(), String> + Send + Sync;

/// Whether a write may still be sent, decided at the moment it is sent:
/// between the decision to write and the request, the caller may wait for a
/// rate limit, AssumeRole and retries, and the answer may have changed
/// meanwhile (a grant narrowed). The port asks it; the caller says what it
/// means. Err carries the refusal, in words for the object's status.
#[derive(Clone, Default)]
pub struct WriteGuard(Option<Arc<Authorize>>);

impl WriteGuard {
    pub fn new(authorize: impl Fn() -> Result<(), String> + Send + Sync + 'static) -> Self {
        Self(Some(Arc::new(authorize)))
    }

    /// Ok when no guard is set or the guard allows the write now.
    pub fn check(&self) -> Result<(), WriteRefused> {
        match &self.0 {
            Some(authorize) => authorize().map_err(WriteRefused),
            None => Ok(()),
        }
    }
}

impl fmt::Debug for WriteGuard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(if self.0.is_some() { "WriteGuard(set)" } else { "WriteGuard(none)" })
    }
}

/// A write the guard refused; it was not sent.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct WriteRefused(pub String);

/// The account of an IAM role ARN (`arn:aws:iam::111122223333:role/x`).
pub fn account_of_role(role_arn: &str) -> Option<&str> {
    let mut parts = role_arn.splitn(6, ':');
    let (arn, _partition, service, _region, account) =
        (parts.next()?, parts.next()?, parts.next()?, parts.next()?, parts.next()?);
    let valid = arn == "arn" && service == "iam" && account.len() == 12 && account.bytes().all(|b| b.is_ascii_digit());
    valid.then_some(account)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_guard_decides_at_each_check_and_no_guard_allows() {
        let allowed = Arc::new(std::sync::atomic::AtomicBool::new(true));
        let flag = allowed.clone();
        let guard = WriteGuard::new(move || match flag.load(std::sync::atomic::Ordering::SeqCst) {
            true => Ok(()),
            false => Err("the grant was narrowed".into()),
        });
        assert_eq!(guard.check(), Ok(()));
        allowed.store(false, std::sync::atomic::Ordering::SeqCst);
        assert_eq!(guard.check(), Err(WriteRefused("the grant was narrowed".into())));
        assert_eq!(WriteGuard::default().check(), Ok(()));
    }

    #[test]
    fn a_session_names_its_object_within_stss_limits() {
        let short = Requester { namespace: "team-a".into(), name: "platform".into() };
        assert_eq!(short.session_name(), "ico-team-a-platform");
        assert_eq!(short.session_tags(), [(NAMESPACE_TAG, "team-a"), (NAME_TAG, "platform")]);
        let long = Requester { namespace: "n".repeat(63), name: "x".repeat(253) };
        assert_eq!(long.session_name().len(), 64);
        assert_eq!(long.session_name(), format!("ico-{}", "n".repeat(60)), "cut at 64, the namespace first");
    }

    #[test]
    fn account_comes_from_the_fifth_field_of_a_role_arn() {
        let cases = [
            ("arn:aws:iam::111122223333:role/identity-center-admin", Some("111122223333")),
            ("arn:aws-cn:iam::444455556666:role/path/to/r", Some("444455556666")),
            ("arn:aws:iam::1111:role/short-account", None),
            ("arn:aws:sts::111122223333:assumed-role/r/s", None),
            ("not-an-arn", None),
        ];
        for (arn, want) in cases {
            assert_eq!(account_of_role(arn), want, "{arn}");
        }
    }
}
