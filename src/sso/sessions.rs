//! Credentials for the roles that objects act through (`spec.credentials`):
//! one AssumeRole per role per session lifetime, refreshed ahead of expiry,
//! kept only while the role is in use. With thousands of roles, neither the
//! memory nor the STS calls grow with the number of reconciles.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};

use aws_credential_types::Credentials;

use super::{ErrorKind, RoleRef, SsoError};
use crate::tables::LruTable;

/// Credentials are renewed this long before they expire, so no call is sent
/// with credentials that lapse on the way.
const REFRESH_AHEAD: Duration = Duration::from_secs(300);
/// How often idle sessions are looked for.
const SWEEP_EVERY: Duration = Duration::from_secs(60);

/// Whether credentials expiring at `expiry` must be renewed at `now`.
pub fn needs_refresh(expiry: Option<SystemTime>, now: SystemTime) -> bool {
    expiry.is_some_and(|expiry| expiry.duration_since(now).map_or(true, |left| left < REFRESH_AHEAD))
}

/// How sessions are kept.
#[derive(Clone, Copy, Debug)]
pub struct SessionLimits {
    /// A session unused this long is dropped.
    pub idle: Duration,
    /// At most this many roles are kept; the least recently used goes first.
    pub capacity: usize,
}

impl Default for SessionLimits {
    fn default() -> Self {
        // Longer than the default resync interval, so settled objects keep their session.
        Self { idle: Duration::from_secs(30 * 60), capacity: 10_000 }
    }
}

struct Session {
    /// Held while AssumeRole runs, so concurrent reconciles of one role make one call.
    credentials: tokio::sync::Mutex<Option<Credentials>>,
}

struct Table {
    sessions: LruTable<RoleRef, Arc<Session>>,
    swept: Instant,
}

/// The sessions of every role in use. `assume` performs the STS call.
pub struct RoleSessions {
    limits: SessionLimits,
    table: Mutex<Table>,
}

impl RoleSessions {
    pub fn new(limits: SessionLimits) -> Self {
        let table = Table { sessions: LruTable::new(limits.capacity), swept: Instant::now() };
        Self { limits, table: Mutex::new(table) }
    }

    fn session(&self, role: &RoleRef) -> Arc<Session> {
        let now = Instant::now();
        let mut table = self.table.lock().expect("never poisoned");
        if now.duration_since(table.swept) >= SWEEP_EVERY {
            table.swept = now;
            table.sessions.remove_idle(self.limits.idle, now);
        }
        if let Some(session) = table.sessions.get(role, now) {
            return session.clone();
        }
        let session = Arc::new(Session { credentials: Default::default() });
        table.sessions.insert(role.clone(), session.clone(), now);
        session
    }

    /// Valid credentials for `role`, from `assume` only when none are held or
    /// they are about to expire.
    pub async fn credentials<F, Fut>(&self, role: &RoleRef, assume: F) -> Result<Credentials, SsoError>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<Credentials, SsoError>>,
    {
        let session = self.session(role);
        let mut held = session.credentials.lock().await;
        if let Some(credentials) = held.as_ref().filter(|c| !needs_refresh(c.expiry(), SystemTime::now())) {
            return Ok(credentials.clone());
        }
        let credentials = assume().await?;
        if credentials.expiry().is_some_and(|expiry| expiry <= SystemTime::now()) {
            let message = format!("AssumeRole for {} returned credentials that already expired", role.role_arn);
            return Err(SsoError::new("AssumeRole", ErrorKind::Credentials, message));
        }
        *held = Some(credentials.clone());
        Ok(credentials)
    }

    /// Drops the session of a role that no object uses any more.
    pub fn forget(&self, role: &RoleRef) {
        self.table.lock().expect("never poisoned").sessions.remove(role);
    }

    #[cfg(test)]
    fn len(&self) -> usize {
        self.table.lock().expect("never poisoned").sessions.count()
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use super::*;

    fn role(name: &str) -> RoleRef {
        RoleRef::new(format!("arn:aws:iam::111122223333:role/{name}"), None)
    }

    fn credentials(lifetime: Duration) -> Credentials {
        Credentials::new(
            "ASIA111122223333TEST",
            "secret",
            Some("token".into()),
            Some(SystemTime::now() + lifetime),
            "t",
        )
    }

    #[test]
    fn credentials_are_renewed_only_close_to_expiry() {
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_000_000);
        let cases = [
            ("no expiry", None, false),
            ("an hour left", Some(now + Duration::from_secs(3600)), false),
            ("just over the margin", Some(now + REFRESH_AHEAD + Duration::from_secs(1)), false),
            ("inside the margin", Some(now + REFRESH_AHEAD - Duration::from_secs(1)), true),
            ("expired", Some(now - Duration::from_secs(1)), true),
        ];
        for (name, expiry, want) in cases {
            assert_eq!(needs_refresh(expiry, now), want, "{name}");
        }
    }

    #[tokio::test]
    async fn concurrent_reconciles_of_one_role_assume_it_once() {
        let sessions = Arc::new(RoleSessions::new(SessionLimits::default()));
        let calls = Arc::new(AtomicUsize::new(0));
        let tasks = (0..8).map(|_| {
            let (sessions, calls) = (sessions.clone(), calls.clone());
            tokio::spawn(async move {
                sessions
                    .credentials(&role("a"), || async {
                        calls.fetch_add(1, Ordering::SeqCst);
                        tokio::time::sleep(Duration::from_millis(20)).await;
                        Ok(credentials(Duration::from_secs(3600)))
                    })
                    .await
                    .unwrap()
            })
        });
        futures::future::join_all(tasks).await;
        assert_eq!(calls.load(Ordering::SeqCst), 1);
    }

    #[tokio::test]
    async fn credentials_close_to_expiry_are_renewed_and_failures_are_not_kept() {
        let sessions = RoleSessions::new(SessionLimits::default());
        let short = || async { Ok(credentials(REFRESH_AHEAD / 2)) };
        sessions.credentials(&role("a"), short).await.unwrap();
        let calls = AtomicUsize::new(0);
        let counted = || async {
            calls.fetch_add(1, Ordering::SeqCst);
            Ok(credentials(Duration::from_secs(3600)))
        };
        sessions.credentials(&role("a"), counted).await.unwrap();
        assert_eq!(calls.load(Ordering::SeqCst), 1, "renewed inside the margin");

        let refused = || async { Err(SsoError::new("AssumeRole", ErrorKind::Credentials, "denied")) };
        assert!(sessions.credentials(&role("b"), refused).await.is_err());
        let counted = || async {
            calls.fetch_add(1, Ordering::SeqCst);
            Ok(credentials(Duration::from_secs(3600)))
        };
        sessions.credentials(&role("b"), counted).await.unwrap();
        assert_eq!(calls.load(Ordering::SeqCst), 2, "a refusal is asked again next time");
    }

    #[tokio::test]
    async fn the_table_is_bounded_and_forgets_roles_no_object_uses() {
        let sessions = RoleSessions::new(SessionLimits { idle: Duration::from_secs(600), capacity: 2 });
        let fresh = || async { Ok(credentials(Duration::from_secs(3600))) };
        for name in ["a", "b", "c"] {
            sessions.credentials(&role(name), fresh).await.unwrap();
        }
        assert_eq!(sessions.len(), 2, "capacity holds");
        sessions.forget(&role("c"));
        assert_eq!(sessions.len(), 1);
    }
}
