//! Prometheus metrics: request count and latency by route and status, and
//! each subscription's lag.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::Mutex;
use std::time::Instant;

use axum::extract::{MatchedPath, Request, State};
use axum::http::header;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::state::AppState;

/// Upper bounds of the latency histogram, in seconds.
const BUCKETS: [f64; 12] = [
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0,
];

#[derive(Default)]
struct Histogram {
    counts: [u64; BUCKETS.len()],
    count: u64,
    sum: f64,
}

/// Request metrics, keyed by (method, route, status).
#[derive(Default)]
pub struct Metrics {
    requests: Mutex<BTreeMap<(String, String, u16), Histogram>>,
}

impl Metrics {
    /// Records one request.
    pub fn observe(&self, method: &str, route: &str, status: u16, seconds: f64) {
        let mut requests = self.requests.lock().expect("metrics lock poisoned");
        let h = requests
            .entry((method.to_string(), route.to_string(), status))
            .or_default();
        h.count += 1;
        h.sum += seconds;
        for (i, bound) in BUCKETS.iter().enumerate() {
            if seconds <= *bound {
                h.counts[i] += 1;
            }
        }
    }

    /// The request metrics in Prometheus text format.
    pub fn render_requests(&self, out: &mut String) {
        let requests = self.requests.lock().expect("metrics lock poisoned");
        out.push_str("# HELP ifinsure_http_requests_total HTTP requests handled.\n");
        out.push_str("# TYPE ifinsure_http_requests_total counter\n");
        for ((method, route, status), h) in requests.iter() {
            let _ = writeln!(
                out,
                "ifinsure_http_requests_total{{method=\"{method}\",route=\"{route}\",status=\"{status}\"}} {}",
                h.count
            );
        }
        out.push_str("# HELP ifinsure_http_request_duration_seconds HTTP request latency.\n");
        out.push_str("# TYPE ifinsure_http_request_duration_seconds histogram\n");
        for ((method, route, status), h) in requests.iter() {
            let labels = format!("method=\"{method}\",route=\"{route}\",status=\"{status}\"");
            for (i, bound) in BUCKETS.iter().enumerate() {
                let _ = writeln!(
                    out,
                    "ifinsure_http_request_duration_seconds_bucket{{{labels},le=\"{bound}\"}} {}",
                    h.counts[i]
                );
            }
            let _ = writeln!(
                out,
                "ifinsure_http_request_duration_seconds_bucket{{{labels},le=\"+Inf\"}} {}",
                h.count
            );
            let _ = writeln!(
                out,
                "ifinsure_http_request_duration_seconds_sum{{{labels}}} {}",
                h.sum
            );
            let _ = writeln!(
                out,
                "ifinsure_http_request_duration_seconds_count{{{labels}}} {}",
                h.count
            );
        }
    }
}

/// Times every request under its matched route (unmatched: `unmatched`, so
/// random paths cannot blow up the label set).
pub async fn middleware(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "unmatched".to_string(), |p| p.as_str().to_string());
    let method = method_label(request.method()).to_string();
    let started = Instant::now();
    let response = next.run(request).await;
    state.metrics.observe(
        &method,
        &route,
        response.status().as_u16(),
        started.elapsed().as_secs_f64(),
    );
    response
}

/// A method's label: the standard ones by name, anything else `other`, so
/// made-up methods cannot add series without bound.
fn method_label(method: &axum::http::Method) -> &'static str {
    use axum::http::Method;
    match *method {
        Method::GET => "GET",
        Method::POST => "POST",
        Method::PUT => "PUT",
        Method::PATCH => "PATCH",
        Method::DELETE => "DELETE",
        Method::HEAD => "HEAD",
        Method::OPTIONS => "OPTIONS",
        _ => "other",
    }
}

/// `GET /metrics`.
pub async fn render(State(state): State<AppState>) -> Response {
    let mut out = String::new();
    state.metrics.render_requests(&mut out);
    match projections::subscription::checkpoint::status(&state.pool, &state.subscriptions).await {
        Ok(statuses) => {
            out.push_str(
                "# HELP ifinsure_subscription_lag_events Events appended but not yet handled.\n",
            );
            out.push_str("# TYPE ifinsure_subscription_lag_events gauge\n");
            for s in &statuses {
                let _ = writeln!(
                    out,
                    "ifinsure_subscription_lag_events{{subscription=\"{}\"}} {}",
                    s.name, s.lag_events
                );
            }
            out.push_str("# HELP ifinsure_subscription_lag_seconds Age of the oldest event not yet handled.\n");
            out.push_str("# TYPE ifinsure_subscription_lag_seconds gauge\n");
            for s in &statuses {
                let _ = writeln!(
                    out,
                    "ifinsure_subscription_lag_seconds{{subscription=\"{}\"}} {}",
                    s.name, s.lag_seconds
                );
            }
        }
        Err(error) => tracing::warn!(%error, "subscription lag unavailable for /metrics"),
    }
    (
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        out,
    )
        .into_response()
}
