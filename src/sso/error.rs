//! SSO Admin and STS failures, reduced to the kinds the controller reasons about.

use std::fmt;

/// The kind of a failed call. The controller maps each kind, once, to a
/// condition reason and a retry policy (`controller::errors`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ErrorKind {
    AccessDenied,
    Validation,
    Conflict,
    Throttling,
    ServiceQuotaExceeded,
    InternalServer,
    ResourceNotFound,
    /// The request never got an answer: connection refused or dropped, timeout.
    Transport,
    /// Credentials could not be obtained (AssumeRole refused, no credentials found).
    Credentials,
    /// Not sent: this replica's leader lease is not current (`leader::Leadership`).
    NotLeader,
    /// Not sent: the target's write guard refused it at the moment of sending.
    NotPermitted,
    /// Not sent: the account's (or the operator's) call rate leaves no token
    /// for this long; look again then rather than wait.
    RateLimited(std::time::Duration),
    /// An error code this operator does not know.
    Unknown(String),
}

impl ErrorKind {
    /// The kind for an AWS error code, as SSO Admin and STS spell them.
    pub fn from_code(code: &str) -> Self {
        match code {
            "AccessDeniedException" | "AccessDenied" | "UnrecognizedClientException" => Self::AccessDenied,
            "ValidationException" | "ValidationError" | "InvalidParameterValue" => Self::Validation,
            "ConflictException" => Self::Conflict,
            "ThrottlingException" | "Throttling" | "TooManyRequestsException" => Self::Throttling,
            "ServiceQuotaExceededException" => Self::ServiceQuotaExceeded,
            "InternalServerException" | "InternalFailure" | "ServiceUnavailable" | "InternalError" => {
                Self::InternalServer
            }
            "ResourceNotFoundException" | "ParentNotFoundException" | "AccountNotFoundException" => {
                Self::ResourceNotFound
            }
            "ExpiredToken" | "ExpiredTokenException" | "RegionDisabledException" | "InvalidClientTokenId" => {
                Self::Credentials
            }
            other => Self::Unknown(other.to_string()),
        }
    }
}

impl fmt::Display for ErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Unknown(code) => f.write_str(code),
            Self::RateLimited(_) => f.write_str("RateLimited"),
            other => write!(f, "{other:?}"),
        }
    }
}

/// A failed SSO Admin or STS call.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{operation} failed ({kind}{}): {message}", reason.as_deref().map(|r| format!(", {r}")).unwrap_or_default())]
pub struct SsoError {
    pub operation: &'static str,
    pub kind: ErrorKind,
    pub message: String,
    /// The exception's Reason member, where AWS gives one: which KMS call
    /// refused the key (KMS_DisabledException, KMS_AccessDeniedException, ...).
    pub reason: Option<String>,
}

impl SsoError {
    pub fn new(operation: &'static str, kind: ErrorKind, message: impl Into<String>) -> Self {
        Self { operation, kind, message: message.into(), reason: None }
    }

    pub fn with_reason(mut self, reason: Option<String>) -> Self {
        self.reason = reason;
        self
    }

    /// AWS refused the KMS key (the Reason is KMS_*).
    pub fn kms_reason(&self) -> Option<&str> {
        self.reason.as_deref().filter(|r| r.starts_with("KMS_"))
    }
}

#[cfg(test)]
mod tests {
    use super::ErrorKind::{self, *};

    #[test]
    fn every_modeled_error_code_has_a_kind() {
        let cases = [
            ("AccessDeniedException", AccessDenied),
            ("ValidationException", Validation),
            ("ConflictException", Conflict),
            ("ThrottlingException", Throttling),
            ("ServiceQuotaExceededException", ServiceQuotaExceeded),
            ("InternalServerException", InternalServer),
            ("ResourceNotFoundException", ResourceNotFound),
            ("ParentNotFoundException", ResourceNotFound),
            ("TooManyRequestsException", Throttling),
            ("AWSOrganizationsNotInUseException", Unknown("AWSOrganizationsNotInUseException".into())),
            ("AccessDenied", AccessDenied),
            ("ExpiredToken", Credentials),
            ("RegionDisabledException", Credentials),
            ("SomethingNew", Unknown("SomethingNew".into())),
        ];
        for (code, want) in cases {
            assert_eq!(ErrorKind::from_code(code), want, "{code}");
        }
    }
}
