//! Errors as AWS sends them: a code, a message and an HTTP status.

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ApiError {
    pub status: u16,
    pub code: &'static str,
    pub message: String,
    /// The exception's Reason member (KMS_DisabledException, ...), where the model has one.
    pub reason: Option<&'static str>,
}

impl ApiError {
    pub fn new(status: u16, code: &'static str, message: impl Into<String>) -> Self {
        Self { status, code, message: message.into(), reason: None }
    }

    pub fn with_reason(mut self, reason: &'static str) -> Self {
        self.reason = Some(reason);
        self
    }

    pub fn validation(message: impl Into<String>) -> Self {
        Self::new(400, "ValidationException", message)
    }

    pub fn serialization(message: impl Into<String>) -> Self {
        Self::new(400, "SerializationException", message)
    }

    pub fn access_denied(message: impl Into<String>) -> Self {
        Self::new(400, "AccessDeniedException", message)
    }

    pub fn conflict(message: impl Into<String>) -> Self {
        Self::new(400, "ConflictException", message)
    }

    pub fn throttling() -> Self {
        Self::new(400, "ThrottlingException", "Rate exceeded")
    }

    pub fn internal() -> Self {
        Self::new(500, "InternalServerException", "An internal error occurred. Try again.")
    }

    pub fn quota(message: impl Into<String>) -> Self {
        Self::new(400, "ServiceQuotaExceededException", message)
    }

    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(400, "ResourceNotFoundException", message)
    }
}
