//! The simulator's request log: the most recent requests (a bounded ring, so a simulator that
//! serves millions of requests does not keep every one of them) and exact counts of all of
//! them since the start or the last clear.

use std::collections::{HashMap, VecDeque};

use super::types::{LoggedRequest, Route};

/// The most recent requests and the counts of every request.
#[derive(Debug)]
pub(crate) struct RequestLog {
    recent: VecDeque<LoggedRequest>,
    capacity: usize,
    total: usize,
    by_route: HashMap<Route, usize>,
    /// Token requests by `grant_type`.
    by_grant: HashMap<String, usize>,
}

impl RequestLog {
    /// An empty log keeping the last `capacity` requests.
    pub(crate) fn new(capacity: usize) -> Self {
        RequestLog { recent: VecDeque::new(), capacity, total: 0, by_route: HashMap::new(), by_grant: HashMap::new() }
    }

    /// Counts `entry` and keeps it, dropping the oldest kept request when full.
    pub(crate) fn push(&mut self, entry: LoggedRequest) {
        self.total += 1;
        *self.by_route.entry(entry.route).or_default() += 1;
        if entry.route == Route::Token
            && let Some(grant) = &entry.grant_type
        {
            match self.by_grant.get_mut(grant) {
                Some(n) => *n += 1,
                None => {
                    self.by_grant.insert(grant.clone(), 1);
                }
            }
        }
        if self.capacity == 0 {
            return;
        }
        if self.recent.len() == self.capacity {
            self.recent.pop_front();
        }
        self.recent.push_back(entry);
    }

    /// The kept requests, oldest first.
    pub(crate) fn recent(&self) -> Vec<LoggedRequest> {
        self.recent.iter().cloned().collect()
    }

    /// Requests to `route` ([`Route::Any`]: all), kept or not.
    pub(crate) fn count(&self, route: Route) -> usize {
        if route == Route::Any { self.total } else { self.by_route.get(&route).copied().unwrap_or(0) }
    }

    /// Token requests with this `grant_type`, kept or not.
    pub(crate) fn count_grant(&self, grant_type: &str) -> usize {
        self.by_grant.get(grant_type).copied().unwrap_or(0)
    }

    /// Forgets every request and count.
    pub(crate) fn clear(&mut self) {
        *self = RequestLog::new(self.capacity);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dc::DataCenter;

    fn request(route: Route, grant: Option<&str>, n: usize) -> LoggedRequest {
        LoggedRequest {
            route,
            dc: DataCenter::Us,
            environment: None,
            method: "POST".into(),
            path: format!("/accounts/us/oauth/v2/token/{n}"),
            query: String::new(),
            grant_type: grant.map(str::to_owned),
            status: 200,
            user: None,
        }
    }

    #[test]
    fn keeps_the_most_recent_and_counts_them_all() {
        let mut log = RequestLog::new(3);
        for n in 0..5 {
            log.push(request(Route::Token, Some(if n % 2 == 0 { "refresh_token" } else { "authorization_code" }), n));
        }
        log.push(request(Route::Records, None, 5));
        let kept: Vec<String> = log.recent().into_iter().map(|r| r.path).collect();
        assert_eq!(
            kept,
            ["/accounts/us/oauth/v2/token/3", "/accounts/us/oauth/v2/token/4", "/accounts/us/oauth/v2/token/5"]
        );
        assert_eq!(log.count(Route::Any), 6);
        assert_eq!(log.count(Route::Token), 5);
        assert_eq!(log.count(Route::Records), 1);
        assert_eq!(log.count(Route::Revoke), 0);
        assert_eq!(log.count_grant("refresh_token"), 3);
        assert_eq!(log.count_grant("authorization_code"), 2);
        log.clear();
        assert!(log.recent().is_empty());
        assert_eq!((log.count(Route::Any), log.count_grant("refresh_token")), (0, 0));
        log.push(request(Route::Records, None, 6));
        assert_eq!(log.recent().len(), 1, "the capacity survives a clear");
    }

    #[test]
    fn a_log_of_capacity_zero_only_counts() {
        let mut log = RequestLog::new(0);
        log.push(request(Route::Token, Some("refresh_token"), 0));
        assert!(log.recent().is_empty());
        assert_eq!((log.count(Route::Any), log.count_grant("refresh_token")), (1, 1));
    }
}
