//! The fence on the Kubernetes client: a request that changes something is
//! refused in this process, never sent, unless this replica's lease is
//! current. Reads (GET, which includes list and watch) always pass: a
//! standby keeps its caches warm.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use http::{Method, Request};
use tower::{BoxError, Layer, Service};

use super::Leadership;

#[derive(Clone, Debug)]
pub struct FenceLayer(pub Leadership);

impl<S> Layer<S> for FenceLayer {
    type Service = Fenced<S>;

    fn layer(&self, inner: S) -> Fenced<S> {
        Fenced { inner, leadership: self.0.clone() }
    }
}

pub struct Fenced<S> {
    inner: S,
    leadership: Leadership,
}

fn writes(method: &Method) -> bool {
    !matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS)
}

impl<S, B> Service<Request<B>> for Fenced<S>
where
    S: Service<Request<B>>,
    S::Response: Send + 'static,
    S::Error: Into<BoxError>,
    S::Future: Send + 'static,
{
    type Response = S::Response;
    type Error = BoxError;
    type Future = Pin<Box<dyn Future<Output = Result<S::Response, BoxError>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), BoxError>> {
        self.inner.poll_ready(cx).map_err(Into::into)
    }

    fn call(&mut self, request: Request<B>) -> Self::Future {
        if writes(request.method())
            && let Err(not_leader) = self.leadership.check()
        {
            return Box::pin(std::future::ready(Err(not_leader.into())));
        }
        let answer = self.inner.call(request);
        Box::pin(async move { answer.await.map_err(Into::into) })
    }
}

#[cfg(test)]
mod tests {
    use std::convert::Infallible;

    use super::*;

    async fn send(leadership: &Leadership, method: Method) -> Result<&'static str, BoxError> {
        let inner = tower::service_fn(|_: Request<()>| async { Ok::<_, Infallible>("sent") });
        let mut fenced = FenceLayer(leadership.clone()).layer(inner);
        fenced.call(Request::builder().method(method).body(()).unwrap()).await
    }

    #[tokio::test]
    async fn writes_pass_only_while_the_lease_is_current_and_reads_always() {
        let lost = Leadership::elected();
        for method in [Method::POST, Method::PUT, Method::PATCH, Method::DELETE] {
            let refused = send(&lost, method.clone()).await.expect_err("a write without the lease");
            assert!(refused.is::<super::super::NotLeader>(), "{method}: {refused}");
            assert_eq!(send(&Leadership::unconditional(), method).await.unwrap(), "sent");
        }
        assert_eq!(send(&lost, Method::GET).await.unwrap(), "sent", "a standby still reads");
    }
}
