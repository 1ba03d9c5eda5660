//! The one retry policy of the SDK: which requests are repeated, when, and how often.
//!
//! Every request of both generated clients passes through one retry loop (from the
//! progenitor `exec` hooks), so the policy lives here and nowhere else:
//!
//! - **What is retried.** Idempotent requests (GET, HEAD, a COQL query, which reads with a
//!   POST, token refresh, revoke, serverinfo) on HTTP 429, 500, 502, 503, 504 and on
//!   connection failures.
//!   A success whose body breaks off before its end counts as a connection failure.
//!   Writes (POST, PUT, PATCH: insert, update, upsert, actions; and DELETE, whose repeat after
//!   Zoho deleted answers the ids as invalid) are retried only on HTTP 429 (Zoho did nothing)
//!   or when the request certainly never left (the connection could not be opened), unless
//!   the caller opts in with [`RetryPolicy::retry_writes`]. The authorization-code exchange is never
//!   retried: codes are single-use.
//! - **When.** Exponential back-off with full jitter (a random wait between zero and
//!   `initial_backoff × 2^attempt`, capped at `max_backoff`), or the server's `Retry-After`
//!   (seconds or an HTTP date) when it sends one. A `Retry-After` longer than
//!   [`RetryPolicy::max_retry_after`], or a wait that would pass [`RetryPolicy::max_total`], ends
//!   the retries: the caller gets the typed error ([`crate::Error::RateLimited`] with the wait).
//!   A retry's own time is bounded by what is left of `max_total` too (the first attempt by
//!   its own timeout only).
//! - **How often.** At most [`RetryPolicy::max_attempts`] attempts (default 3), and a retry
//!   budget shared by every request of one [`crate::Zoho`] (a token bucket, as in the AWS
//!   SDKs' standard mode): each retry spends 5 tokens (10 after a timeout), each success
//!   refunds 1, and an empty bucket means no retries, so an outage does not triple the load.
//!
//! Each retry is traced (`attempt`, `wait_ms`, `reason`) inside the request's span; no URL,
//! header or body is logged.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant, SystemTime};

/// How the SDK repeats failed requests. See the [module documentation](self).
///
/// ```
/// use std::time::Duration;
/// use zohocrm::retry::RetryPolicy;
/// let patient = RetryPolicy::default().with_max_attempts(5).with_max_total(Duration::from_secs(60));
/// let never = RetryPolicy::disabled();
/// assert_eq!(never.max_attempts, 1);
/// # let _ = patient;
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[must_use]
pub struct RetryPolicy {
    /// Attempts in all, the first one included (1: never retry). Default 3.
    pub max_attempts: u32,
    /// The back-off before the first retry doubles from this. Default 200 ms.
    pub initial_backoff: Duration,
    /// The longest back-off between two attempts. Default 10 s.
    pub max_backoff: Duration,
    /// No retry starts after this much time since the first attempt, and a retry is cut at
    /// it (as a timeout). Default 30 s.
    pub max_total: Duration,
    /// The longest `Retry-After` the SDK waits for itself; a longer one goes to the caller.
    /// Default 20 s.
    pub max_retry_after: Duration,
    /// Also retry writes that may have reached Zoho (POST, PUT, PATCH, DELETE) on the same
    /// conditions as reads. Off by default: a repeated insert can create a duplicate record,
    /// and a repeated delete reports the records it deleted the first time as invalid ids.
    pub retry_writes: bool,
    /// Size of the retry budget (tokens). Default 500: 100 retries in a row with no success.
    pub budget: u32,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            max_attempts: 3,
            initial_backoff: Duration::from_millis(200),
            max_backoff: Duration::from_secs(10),
            max_total: Duration::from_secs(30),
            max_retry_after: Duration::from_secs(20),
            retry_writes: false,
            budget: 500,
        }
    }
}

impl RetryPolicy {
    /// No retries at all.
    pub fn disabled() -> Self {
        Self { max_attempts: 1, ..Self::default() }
    }

    /// Sets [`RetryPolicy::max_attempts`] (at least 1).
    pub fn with_max_attempts(mut self, attempts: u32) -> Self {
        self.max_attempts = attempts.max(1);
        self
    }

    /// Sets [`RetryPolicy::initial_backoff`] and [`RetryPolicy::max_backoff`].
    pub fn with_backoff(mut self, initial: Duration, max: Duration) -> Self {
        self.initial_backoff = initial;
        self.max_backoff = max.max(initial);
        self
    }

    /// Sets [`RetryPolicy::max_total`].
    pub fn with_max_total(mut self, total: Duration) -> Self {
        self.max_total = total;
        self
    }

    /// Sets [`RetryPolicy::max_retry_after`].
    pub fn with_max_retry_after(mut self, wait: Duration) -> Self {
        self.max_retry_after = wait;
        self
    }

    /// Sets [`RetryPolicy::retry_writes`]: opt in for writes that are safe to repeat (an
    /// upsert on a unique field, an update to fixed values).
    pub fn with_retry_writes(mut self, retry: bool) -> Self {
        self.retry_writes = retry;
        self
    }

    /// Sets [`RetryPolicy::budget`].
    pub fn with_budget(mut self, tokens: u32) -> Self {
        self.budget = tokens;
        self
    }
}

/// What kind of request is being sent, for the retry decision.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Kind {
    /// Safe to repeat (GET, HEAD, a COQL query, refresh, revoke, serverinfo).
    Idempotent,
    /// May create or change data twice (POST, PUT, PATCH), or answers differently when
    /// repeated (DELETE: a repeat after Zoho deleted finds the ids invalid, which reads as a
    /// failure of records that were deleted).
    Write,
    /// Never repeated once it may have been sent (the authorization-code exchange).
    Once,
}

/// CRM operations that read with a POST (a COQL query): retried as reads.
const READS_BY_POST: &[&str] = &["coql", "coql_get_records"];

/// Whether a CRM request reads with a POST (a COQL query).
pub(crate) fn reads_by_post(method: &reqwest::Method, operation: &str) -> bool {
    *method == reqwest::Method::POST && READS_BY_POST.contains(&operation)
}

impl Kind {
    /// The kind of a CRM request: by method, except for the operations that read with a POST.
    pub(crate) fn of_crm(method: &reqwest::Method, operation: &str) -> Self {
        if reads_by_post(method, operation) {
            return Self::Idempotent;
        }
        Self::of_method(method)
    }

    /// The kind of a CRM request, by method.
    pub(crate) fn of_method(method: &reqwest::Method) -> Self {
        match *method {
            reqwest::Method::GET | reqwest::Method::HEAD | reqwest::Method::OPTIONS => Self::Idempotent,
            _ => Self::Write,
        }
    }
}

/// The shared retry budget (a token bucket) and the policy in force.
#[derive(Debug)]
pub(crate) struct Budget {
    tokens: AtomicU64,
    capacity: u64,
}

const RETRY_COST: u64 = 5;
const TIMEOUT_COST: u64 = 10;
const SUCCESS_REFUND: u64 = 1;

impl Budget {
    pub(crate) fn new(capacity: u32) -> Self {
        Self { tokens: AtomicU64::new(u64::from(capacity)), capacity: u64::from(capacity) }
    }

    fn take(&self, cost: u64) -> bool {
        self.tokens.fetch_update(Ordering::AcqRel, Ordering::Acquire, |t| t.checked_sub(cost)).is_ok()
    }

    fn refund(&self, amount: u64) {
        let _ =
            self.tokens.fetch_update(Ordering::AcqRel, Ordering::Acquire, |t| Some((t + amount).min(self.capacity)));
    }

    /// Tokens left.
    #[cfg(test)]
    pub(crate) fn available(&self) -> u64 {
        self.tokens.load(Ordering::Acquire)
    }
}

/// Sends requests under a [`RetryPolicy`] with a shared [`Budget`]. Cheap to clone.
#[derive(Clone, Debug)]
pub(crate) struct Retrier {
    policy: RetryPolicy,
    budget: Arc<Budget>,
}

impl Default for Retrier {
    fn default() -> Self {
        Self::new(RetryPolicy::disabled())
    }
}

/// Why an attempt is being repeated.
#[derive(Clone, Copy, Debug)]
enum Reason {
    Status(u16),
    Connect,
    Timeout,
    Broken,
}

impl std::fmt::Display for Reason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Status(s) => write!(f, "HTTP {s}"),
            Self::Connect => f.write_str("connection not opened"),
            Self::Timeout => f.write_str("timed out"),
            Self::Broken => f.write_str("connection broken"),
        }
    }
}

impl Retrier {
    pub(crate) fn new(policy: RetryPolicy) -> Self {
        Self { budget: Arc::new(Budget::new(policy.budget)), policy }
    }

    /// The same budget under another policy (per-call settings).
    pub(crate) fn with_policy(&self, policy: RetryPolicy) -> Self {
        Self { policy, budget: self.budget.clone() }
    }

    pub(crate) fn policy(&self) -> &RetryPolicy {
        &self.policy
    }

    /// Sends `request`, repeating it as the policy allows. The last response or error is
    /// returned as it came: the caller's error mapping turns it into the typed error.
    ///
    /// With `keep_copy`, an unsent copy of the request (as the last attempt sent it) comes
    /// back too, for a replay after the answer (refresh-and-replay on a rejected token): the
    /// copy made for a retry that was not needed is handed over instead of a second one.
    pub(crate) async fn send(
        &self,
        client: &reqwest::Client,
        request: reqwest::Request,
        kind: Kind,
        keep_copy: bool,
    ) -> (reqwest::Result<reqwest::Response>, Option<reqwest::Request>) {
        let started = Instant::now();
        let mut request = request;
        let mut attempt: u32 = 1;
        loop {
            let retry_left = attempt < self.policy.max_attempts;
            let spare = if retry_left || keep_copy { request.try_clone() } else { None };
            let result = match client.execute(request).await {
                // A success whose body breaks off (a reset, a truncated body) is a broken
                // exchange like any other: read the body here while a retry is still possible.
                Ok(mut response)
                    if retry_left
                        && spare.is_some()
                        && response.status().is_success()
                        && self.may_retry_broken(kind) =>
                {
                    // Headers are moved, not copied, and the URL kept (so nothing is parsed
                    // again). The read is boxed: its state would otherwise make this future,
                    // and every future awaiting it, larger by its size, copied on each call.
                    let head = crate::transport::Head::take(&mut response);
                    Box::pin(response.bytes()).await.map(|body| head.with_body(body))
                }
                other => other,
            };
            let next = match spare {
                Some(next) if retry_left => next,
                spare => {
                    self.settle(&result, attempt);
                    return (result, spare);
                }
            };
            let decision = match &result {
                Ok(response) => self.on_response(response, kind),
                Err(error) => self.on_error(error, kind),
            };
            let Some((reason, server_wait)) = decision else {
                self.settle(&result, attempt);
                return (result, Some(next));
            };
            let wait = match server_wait {
                Some(wait) if wait > self.policy.max_retry_after => {
                    tracing::debug!(attempt, wait_ms = wait.as_millis() as u64, %reason, "not retrying: Retry-After is too long");
                    return (result, Some(next));
                }
                Some(wait) => wait,
                None => self.backoff(attempt),
            };
            if started.elapsed() + wait > self.policy.max_total {
                tracing::debug!(attempt, %reason, "not retrying: the retry time limit would be passed");
                return (result, Some(next));
            }
            let cost = if matches!(reason, Reason::Timeout) { TIMEOUT_COST } else { RETRY_COST };
            if !self.budget.take(cost) {
                tracing::warn!(attempt, %reason, "not retrying: the retry budget is spent (many failures in a row)");
                return (result, Some(next));
            }
            tracing::info!(attempt, wait_ms = wait.as_millis() as u64, %reason, "retrying");
            drop(result);
            tokio::time::sleep(wait).await;
            request = next;
            // A retry gets what is left of `max_total` (the first attempt, its own timeout).
            let left = self.policy.max_total.saturating_sub(started.elapsed()).max(Duration::from_millis(1));
            let limit = request.timeout().map_or(left, |own| (*own).min(left));
            *request.timeout_mut() = Some(limit);
            attempt += 1;
        }
    }

    /// Refunds the budget after a success.
    fn settle(&self, result: &reqwest::Result<reqwest::Response>, attempt: u32) {
        if let Ok(response) = result
            && !retryable_status(response.status().as_u16())
        {
            let refund = if attempt > 1 { RETRY_COST } else { SUCCESS_REFUND };
            self.budget.refund(refund);
        }
    }

    fn on_response(&self, response: &reqwest::Response, kind: Kind) -> Option<(Reason, Option<Duration>)> {
        let status = response.status().as_u16();
        if !retryable_status(status) {
            return None;
        }
        let may_retry = match kind {
            Kind::Idempotent => true,
            Kind::Write => self.policy.retry_writes || status == 429,
            Kind::Once => false,
        };
        // A 429 means Zoho did not perform the request: repeating a write is safe.
        if !may_retry {
            return None;
        }
        Some((Reason::Status(status), crate::transport::retry_after_at(response.headers(), SystemTime::now())))
    }

    fn on_error(&self, error: &reqwest::Error, kind: Kind) -> Option<(Reason, Option<Duration>)> {
        if error.is_builder() {
            // The request cannot be built (a URL too long for HTTP): the same input fails again.
            return None;
        }
        if error.is_connect() {
            // Nothing was sent: safe for every kind but a code exchange (it is not retried at all).
            return (kind != Kind::Once).then_some((Reason::Connect, None));
        }
        let reason = if error.is_timeout() { Reason::Timeout } else { Reason::Broken };
        self.may_retry_broken(kind).then_some((reason, None))
    }

    /// Whether a request of `kind` may be repeated after an exchange that may have reached
    /// Zoho (a timeout, a reset, a body that broke off).
    fn may_retry_broken(&self, kind: Kind) -> bool {
        match kind {
            Kind::Idempotent => true,
            Kind::Write => self.policy.retry_writes,
            Kind::Once => false,
        }
    }

    /// Full jitter: a random wait in `[0, min(max_backoff, initial × 2^(attempt−1))]`.
    fn backoff(&self, attempt: u32) -> Duration {
        let exp = self.policy.initial_backoff.saturating_mul(1u32 << (attempt - 1).min(20));
        let cap = exp.min(self.policy.max_backoff);
        let fraction = getrandom::u64().map(|r| (r >> 11) as f64 / (1u64 << 53) as f64).unwrap_or(0.5);
        cap.mul_f64(fraction)
    }
}

fn retryable_status(status: u16) -> bool {
    matches!(status, 429 | 500 | 502 | 503 | 504)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_request_that_cannot_be_built_is_not_retried() {
        let error = crate::transport::http_client_builder()
            .build()
            .expect("client")
            .get("http://127.0.0.1:9/")
            .header("x", "a\nb")
            .build()
            .expect_err("a newline cannot go in a header");
        assert!(error.is_builder());
        let r = Retrier::new(RetryPolicy::default());
        for kind in [Kind::Idempotent, Kind::Write, Kind::Once] {
            assert!(r.on_error(&error, kind).is_none(), "{kind:?}");
        }
    }

    /// A server on loopback that answers its first request with 503 after `first`, and every
    /// later one with 200 after `later`.
    async fn slow_server(first: Duration, later: Duration) -> String {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let url = format!("http://{}/", listener.local_addr().expect("addr"));
        tokio::spawn(async move {
            let mut n = 0;
            while let Ok((mut socket, _)) = listener.accept().await {
                n += 1;
                let (wait, status) = if n == 1 { (first, "503 Service Unavailable") } else { (later, "200 OK") };
                tokio::spawn(async move {
                    let mut buf = [0u8; 4096];
                    let _ = socket.read(&mut buf).await;
                    tokio::time::sleep(wait).await;
                    let answer = format!("HTTP/1.1 {status}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
                    let _ = socket.write_all(answer.as_bytes()).await;
                });
            }
        });
        url
    }

    /// `max_total` bounds the retries, not only when they start: a retry gets what is left of
    /// it. (A token refresh, whose `max_total` is the token timeout, could otherwise hold the
    /// store's refresh lease for two token timeouts, past `lease_max_hold`.)
    #[tokio::test]
    async fn a_retry_gets_only_what_is_left_of_max_total() {
        let url = slow_server(Duration::from_millis(300), Duration::from_secs(3)).await;
        let client = crate::transport::http_client_builder().build().expect("client");
        let policy = RetryPolicy::default()
            .with_backoff(Duration::from_millis(1), Duration::from_millis(1))
            .with_max_total(Duration::from_millis(700));
        let request = client.get(&url).timeout(Duration::from_secs(10)).build().expect("request");
        let started = Instant::now();
        let (result, _) = Retrier::new(policy).send(&client, request, Kind::Idempotent, false).await;
        let took = started.elapsed();
        assert!(result.as_ref().is_err_and(reqwest::Error::is_timeout), "{result:?}");
        assert!(took < Duration::from_millis(1500), "the retry ran past max_total: {took:?}");
    }

    #[test]
    fn backoff_is_jittered_and_capped() {
        let r =
            Retrier::new(RetryPolicy::default().with_backoff(Duration::from_millis(100), Duration::from_millis(300)));
        for attempt in 1..10 {
            let cap = Duration::from_millis(100 * (1 << (attempt - 1))).min(Duration::from_millis(300));
            let wait = r.backoff(attempt);
            assert!(wait <= cap, "attempt {attempt}: {wait:?} > {cap:?}");
        }
        let waits: std::collections::HashSet<_> = (0..20).map(|_| r.backoff(3)).collect();
        assert!(waits.len() > 1, "jittered");
    }

    #[test]
    fn the_budget_empties_and_refills() {
        let b = Budget::new(12);
        assert!(b.take(5));
        assert!(b.take(5));
        assert!(!b.take(5), "2 tokens left");
        b.refund(100);
        assert_eq!(b.available(), 12, "never above capacity");
    }

    #[test]
    fn kinds_by_method() {
        assert_eq!(Kind::of_method(&reqwest::Method::GET), Kind::Idempotent);
        assert_eq!(Kind::of_method(&reqwest::Method::DELETE), Kind::Write);
        assert_eq!(Kind::of_method(&reqwest::Method::POST), Kind::Write);
        assert_eq!(Kind::of_method(&reqwest::Method::PUT), Kind::Write);
        assert_eq!(Kind::of_crm(&reqwest::Method::POST, "coql"), Kind::Idempotent);
        assert_eq!(Kind::of_crm(&reqwest::Method::POST, "coql_get_records"), Kind::Idempotent);
        assert_eq!(Kind::of_crm(&reqwest::Method::POST, "insert_records"), Kind::Write);
    }
}
