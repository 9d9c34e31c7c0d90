//! Running a step around every call of a generated gRPC server.

use std::convert::Infallible;
use std::task::{Context, Poll};

use futures::future::BoxFuture;
use tonic::body::Body;
use tonic::server::NamedService;

/// The rest of the call chain, handed to a [`CallStep`].
#[derive(Debug)]
pub struct Next<S> {
    inner: S,
}

impl<S> Next<S>
where
    S: tower::Service<http::Request<Body>, Response = http::Response<Body>, Error = Infallible>,
{
    /// Passes `request` on and returns the answer.
    pub async fn run(mut self, request: http::Request<Body>) -> http::Response<Body> {
        match self.inner.call(request).await {
            Ok(response) => response,
            Err(never) => match never {},
        }
    }
}

/// Something done around each call before any message is decoded: it may answer the call itself
/// (refuse it, say) or pass it on and look at the answer.
pub trait CallStep: Clone + Send + Sync + 'static {
    /// Handles `request`, calling `next` to pass it on.
    fn around<S>(
        &self,
        request: http::Request<Body>,
        next: Next<S>,
    ) -> impl Future<Output = http::Response<Body>> + Send
    where
        S: tower::Service<http::Request<Body>, Response = http::Response<Body>, Error = Infallible>
            + Send
            + 'static,
        S::Future: Send + 'static;
}

/// A generated server (or another `Layered`) with a [`CallStep`] around each call. Keeps the
/// server's gRPC name, so it can be routed like the server itself.
#[derive(Debug, Clone)]
pub struct Layered<S, Step> {
    inner: S,
    step: Step,
}

impl<S, Step> Layered<S, Step> {
    /// Wraps `inner` with `step`.
    pub fn new(inner: S, step: Step) -> Self {
        Layered { inner, step }
    }
}

impl<S: NamedService, Step> NamedService for Layered<S, Step> {
    const NAME: &'static str = S::NAME;
}

impl<S, Step> tower::Service<http::Request<Body>> for Layered<S, Step>
where
    S: tower::Service<http::Request<Body>, Response = http::Response<Body>, Error = Infallible>
        + Clone
        + Send
        + 'static,
    S::Future: Send + 'static,
    Step: CallStep,
{
    type Response = http::Response<Body>;
    type Error = Infallible;
    type Future = BoxFuture<'static, Result<Self::Response, Self::Error>>;

    fn poll_ready(&mut self, context: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(context)
    }

    fn call(&mut self, request: http::Request<Body>) -> Self::Future {
        // The clone is not ready; the ready one handles this call (tower's standard pattern).
        let clone = self.inner.clone();
        let inner = std::mem::replace(&mut self.inner, clone);
        let step = self.step.clone();
        Box::pin(async move { Ok(step.around(request, Next { inner }).await) })
    }
}
