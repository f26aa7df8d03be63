//! Every failure, classified once: the condition reason a user sees, what
//! they should do about it, and whether and how fast the operator retries.

use std::time::Duration;

use super::reasons::Reason;
use crate::sso::{ErrorKind, SsoError};

/// How the operator retries after a failure.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Retry {
    /// Terminal: Stalled=True, no retry until the spec changes.
    Never,
    /// Exponential backoff with jitter, from `base` up to `cap`.
    Backoff { base: Duration, cap: Duration },
}

const FAST: Retry = Retry::Backoff { base: Duration::from_secs(2), cap: Duration::from_secs(120) };
const THROTTLED: Retry = Retry::Backoff { base: Duration::from_secs(5), cap: Duration::from_secs(300) };
/// The fix is outside the operator (IAM policies, trust relationships): retry, but rarely.
const SLOW: Retry = Retry::Backoff { base: Duration::from_secs(30), cap: Duration::from_secs(600) };

/// A failure as the user sees it in the conditions.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Classified {
    pub reason: Reason,
    pub retry: Retry,
    pub message: String,
}

/// AWS's answer to CreateInstance in an organization's management account.
const MANAGEMENT_ACCOUNT_TEXT: &str = "management account";

/// Whether a ConflictException says that the account already has an instance.
pub fn is_instance_exists(err: &SsoError) -> bool {
    let message = err.message.to_ascii_lowercase();
    err.operation == "CreateInstance"
        && err.kind == ErrorKind::Conflict
        && message.contains("instance")
        && message.contains("exist")
}

/// Whether AWS's answer proves the call changed nothing. A 5xx, a dropped
/// connection or an unknown error may hide a request that took effect.
pub fn created_nothing(err: &SsoError) -> bool {
    use ErrorKind::*;
    matches!(
        err.kind,
        Validation
            | Conflict
            | ServiceQuotaExceeded
            | AccessDenied
            | Credentials
            | Throttling
            | ResourceNotFound
            | NotLeader
            | NotPermitted
            | RateLimited(_)
    )
}

/// What stands in a status for an AWS principal named in an AWS message.
const PRINCIPAL: &str = "<an AWS principal, named in the operator's log>";

/// `text` with the ARNs of AWS principals (users, role sessions) taken out.
/// AWS names the caller in AccessDenied messages; the status of a tenant's
/// object must not show the operator's identity. The log keeps the original.
pub fn without_principals(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(start) = rest.find("arn:aws") {
        out.push_str(&rest[..start]);
        let arn = &rest[start..];
        let end = arn.find(|c: char| c.is_whitespace() || "\",;()'".contains(c)).unwrap_or(arn.len());
        let principal =
            [":user/", ":assumed-role/", ":federated-user/", ":root"].iter().any(|p| arn[..end].contains(p));
        out.push_str(if principal { PRINCIPAL } else { &arn[..end] });
        rest = &arn[end..];
    }
    out.push_str(rest);
    out
}

/// What a failed call means for the reconcile that made it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Handling {
    /// AWS answered: reported in the conditions, retried as the policy says.
    Report(Classified),
    /// This replica's lease fence stopped the call: it may write nothing more, its status included.
    Fenced,
    /// The operator's own call rate had no token for this long; nothing was sent.
    Deferred(Duration),
    /// A grant stopped admitting the write while it was on its way; nothing was sent.
    Refused(String),
}

pub fn classify(err: &SsoError) -> Handling {
    let reason = err.reason.as_deref().map(|r| format!(" ({r})")).unwrap_or_default();
    let message = without_principals(&err.message);
    let detail = format!("{} answered {}{reason}: {message}", err.operation, err.kind);
    let (reason, retry, advice) = match &err.kind {
        // Sent nowhere: the reconcile handles these itself, with no reason to report.
        ErrorKind::NotLeader => return Handling::Fenced,
        ErrorKind::RateLimited(wait) => return Handling::Deferred(*wait),
        ErrorKind::NotPermitted => return Handling::Refused(err.message.clone()),
        _ if err.kms_reason().is_some() => (
            Reason::KmsKeyUnusable,
            SLOW,
            "AWS cannot use the KMS key in spec.encryption: check that it exists, is enabled, is a symmetric \
             encryption key in the instance's account and Region, and that its key policy lets IAM Identity Center \
             and the operator's role use it. Retrying slowly.",
        ),
        ErrorKind::Conflict
            if err.operation == "CreateInstance"
                && err.message.to_ascii_lowercase().contains(MANAGEMENT_ACCOUNT_TEXT) =>
        {
            (
                Reason::ManagementAccount,
                Retry::Never,
                "The target account is its organization's management account, where AWS does not allow an account \
             instance. Point spec.credentials.roleArn at a member account, or adopt the organization instance \
             with spec.instanceArn.",
            )
        }
        ErrorKind::Conflict if is_instance_exists(err) => (
            Reason::InstanceAlreadyExists,
            Retry::Never,
            "The account already has an instance; AWS allows one per account. Adopt it with spec.instanceArn.",
        ),
        ErrorKind::Conflict => (
            Reason::Conflict,
            FAST,
            "Another change to the instance is under way (AWS runs one key or Region workflow at a time); \
             retrying with backoff.",
        ),
        ErrorKind::Validation => (
            Reason::ValidationFailed,
            Retry::Never,
            "AWS refused the request as invalid; correct the spec. Nothing is retried until the spec changes.",
        ),
        ErrorKind::ServiceQuotaExceeded => (
            Reason::ServiceQuotaExceeded,
            Retry::Never,
            "An AWS service quota is exhausted; request an increase, then change the spec to retry.",
        ),
        ErrorKind::AccessDenied => (
            Reason::AccessDenied,
            SLOW,
            "The operator's AWS identity may not perform this call; grant the permission AWS names (sso:*, and \
             to create or delete an instance identitystore:CreateIdentityStore, identitystore:DeleteIdentityStore \
             and iam:CreateServiceLinkedRole; deploy/iam/ holds the policies), and the role trust for \
             spec.credentials. Retrying slowly.",
        ),
        ErrorKind::Credentials => (
            Reason::CredentialsUnavailable,
            SLOW,
            "No usable AWS credentials: check the operator's credential source (IRSA, Pod Identity, keys) and, \
             for spec.credentials, that the role can be assumed. Retrying slowly.",
        ),
        ErrorKind::Throttling => (Reason::Throttled, THROTTLED, "AWS is throttling requests; retrying with backoff."),
        ErrorKind::InternalServer => {
            (Reason::AwsInternalError, FAST, "AWS had an internal error; retrying with backoff.")
        }
        ErrorKind::Transport => (Reason::AwsUnreachable, FAST, "AWS could not be reached; retrying with backoff."),
        ErrorKind::ResourceNotFound => {
            (Reason::ResourceNotFound, FAST, "AWS did not find the resource; the operator re-checks the instance.")
        }
        ErrorKind::Unknown(_) => (Reason::AwsError, FAST, "An unexpected AWS error; retrying with backoff."),
    };
    Handling::Report(Classified { reason, retry, message: format!("{advice} ({detail})") })
}

/// The delay before retry number `attempt` (0-based). `jitter` in [0, 1)
/// takes up to half of the delay off, so objects that failed together do not
/// retry together.
pub fn backoff_delay(retry: Retry, attempt: u32, jitter: f64) -> Option<Duration> {
    let Retry::Backoff { base, cap } = retry else { return None };
    let exponential = base.saturating_mul(1u32.checked_shl(attempt.min(16)).unwrap_or(u32::MAX));
    let delay = exponential.min(cap);
    Some(delay.mul_f64(1.0 - 0.5 * jitter.clamp(0.0, 1.0)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn err(kind: ErrorKind, message: &str) -> SsoError {
        SsoError::new("CreateInstance", kind, message)
    }

    #[test]
    fn every_error_kind_has_a_reason_and_a_retry_policy() {
        use ErrorKind::*;
        let terminal = Retry::Never;
        let cases = [
            (err(Validation, "bad name"), "ValidationFailed", terminal),
            (
                err(Conflict, "Organization management account is not allowed to perform the operation."),
                "ManagementAccount",
                terminal,
            ),
            (err(Conflict, "An instance already exists in this account."), "InstanceAlreadyExists", terminal),
            (err(ServiceQuotaExceeded, "quota"), "ServiceQuotaExceeded", terminal),
            (err(Conflict, "concurrent modification"), "Conflict", FAST),
            (SsoError::new("AddRegion", Conflict, "An instance Region workflow already exists"), "Conflict", FAST),
            (
                SsoError::new("UpdateInstance", Validation, "The key is disabled")
                    .with_reason(Some("KMS_DisabledException".into())),
                "KmsKeyUnusable",
                SLOW,
            ),
            (
                SsoError::new("UpdateInstance", AccessDenied, "KMS said no")
                    .with_reason(Some("KMS_AccessDeniedException".into())),
                "KmsKeyUnusable",
                SLOW,
            ),
            (err(Throttling, "Rate exceeded"), "Throttled", THROTTLED),
            (err(InternalServer, "oops"), "AwsInternalError", FAST),
            (err(Transport, "connection refused"), "AwsUnreachable", FAST),
            (err(AccessDenied, "not authorized"), "AccessDenied", SLOW),
            (err(Credentials, "AssumeRole failed"), "CredentialsUnavailable", SLOW),
            (err(ResourceNotFound, "gone"), "ResourceNotFound", FAST),
            (err(Unknown("Weird".into()), "?"), "AwsError", FAST),
        ];
        for (error, reason, retry) in cases {
            let got = reported(&error);
            assert_eq!((got.reason.as_str(), got.retry), (reason, retry), "{error}");
            assert!(got.message.contains(&error.message), "the AWS text reaches the user: {}", got.message);
        }
    }

    #[test]
    fn only_a_definite_refusal_proves_nothing_was_created() {
        use ErrorKind::*;
        for kind in [
            Validation,
            Conflict,
            ServiceQuotaExceeded,
            AccessDenied,
            Credentials,
            Throttling,
            ResourceNotFound,
            NotLeader,
            NotPermitted,
        ] {
            assert!(created_nothing(&err(kind.clone(), "")), "{kind:?}");
        }
        for kind in [InternalServer, Transport, Unknown("X".into())] {
            assert!(!created_nothing(&err(kind.clone(), "")), "{kind:?} may hide a creation");
        }
    }

    #[test]
    fn a_status_never_names_the_principal_aws_named_and_keeps_every_other_arn() {
        let cases = [
            (
                "User: arn:aws:sts::999988887777:assumed-role/identity-center-operator/pod-1 is not authorized to \
                 perform: sso:DeleteInstance on resource: arn:aws:sso:::instance/ssoins-1",
                "User: <an AWS principal, named in the operator's log> is not authorized to perform: \
                 sso:DeleteInstance on resource: arn:aws:sso:::instance/ssoins-1",
            ),
            (
                "by arn:aws:iam::999988887777:user/ci, denied",
                "by <an AWS principal, named in the operator's log>, denied",
            ),
            (
                "role arn:aws:iam::111122223333:role/admin (account)",
                "role arn:aws:iam::111122223333:role/admin (account)",
            ),
            ("no arn here", "no arn here"),
        ];
        for (text, want) in cases {
            assert_eq!(without_principals(text), want);
        }
        let denied = err(ErrorKind::AccessDenied, "User: arn:aws:iam::999988887777:user/operator is not authorized");
        let got = reported(&denied);
        assert!(!got.message.contains("999988887777"), "{}", got.message);
    }

    fn reported(error: &SsoError) -> Classified {
        match classify(error) {
            Handling::Report(classified) => classified,
            other => panic!("{error} is reported, not {other:?}"),
        }
    }

    #[test]
    fn a_call_that_was_never_sent_is_handed_back_not_reported() {
        let wait = Duration::from_millis(700);
        let cases = [
            (err(ErrorKind::NotLeader, "lease lost"), Handling::Fenced),
            (err(ErrorKind::RateLimited(wait), "at its rate"), Handling::Deferred(wait)),
            (err(ErrorKind::NotPermitted, "grant narrowed"), Handling::Refused("grant narrowed".into())),
        ];
        for (error, want) in cases {
            assert_eq!(classify(&error), want, "{error}");
        }
    }

    #[test]
    fn management_account_message_says_what_to_do_instead() {
        let got = reported(&err(
            ErrorKind::Conflict,
            "Organization management account is not allowed to perform the operation.",
        ));
        assert!(got.message.contains("member account") && got.message.contains("spec.instanceArn"));
    }

    #[test]
    fn backoff_doubles_up_to_the_cap_and_jitter_only_shortens() {
        let retry = Retry::Backoff { base: Duration::from_secs(2), cap: Duration::from_secs(60) };
        let cases = [(0, 0.0, 2), (1, 0.0, 4), (4, 0.0, 32), (5, 0.0, 60), (40, 0.0, 60), (1, 0.999, 2)];
        for (attempt, jitter, seconds) in cases {
            let got = backoff_delay(retry, attempt, jitter).unwrap();
            assert_eq!(got.as_secs(), seconds, "attempt {attempt} jitter {jitter}");
        }
        assert_eq!(backoff_delay(Retry::Never, 0, 0.0), None);
    }
}
