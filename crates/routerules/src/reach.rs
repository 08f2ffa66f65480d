//! Which routes a granted route's IAM pattern reaches besides its own. IAM's `*` spans `/`, so
//! the pattern of `GET /items/{id}` (`items/*`) also matches a request that API Gateway sends
//! to `GET /items/{id}/secret`: a policy that allows the first must deny the second explicitly
//! when the token may not call it. Worked out once, when the rules are parsed.

use crate::{METHODS, Route, Rules, Segment, wildcard_match};

/// For each rule (by position), the rules whose patterns match some request that API Gateway
/// sends to it, each with the method of those requests.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Reach {
    reached_by: Vec<Vec<(usize, &'static str)>>,
}

impl Reach {
    /// The reach of every rule of `rules`.
    pub fn of(rules: &Rules) -> Self {
        let routes: Vec<&Route> = rules.iter().map(|r| &r.route).collect();
        // Different literal first segments never meet: the pattern's first characters are that
        // literal and a `/` (most pairs of an API's routes end here, without trying any path).
        let heads: Vec<Option<&str>> = rules.iter().map(|r| r.head.as_deref()).collect();
        let may_meet = |a: usize, b: usize| match (heads[a], heads[b]) {
            (Some(x), Some(y)) => x == y,
            _ => true,
        };
        let reached_by = (0..routes.len())
            .map(|d| {
                let denied = routes[d];
                (0..routes.len())
                    .filter(|&g| g != d && may_meet(g, d))
                    .flat_map(|g| {
                        reaching_methods(rules, routes[g], denied)
                            .into_iter()
                            .map(move |m| (g, m))
                    })
                    .collect()
            })
            .collect();
        Self { reached_by }
    }

    /// The methods (verbs) on which the rule at `index`, not granted, must be denied
    /// explicitly, because a rule that `granted` (by position) says is granted reaches it.
    pub fn deny_verbs(&self, index: usize, granted: impl Fn(usize) -> bool) -> Vec<&'static str> {
        let by = self.reached_by.get(index).map_or(&[][..], Vec::as_slice);
        if by.is_empty() {
            return Vec::new();
        }
        let mut verbs: Vec<&'static str> = by
            .iter()
            .filter(|(g, _)| granted(*g))
            .map(|(_, m)| *m)
            .collect();
        verbs.sort_unstable();
        verbs.dedup();
        verbs
    }

    /// Whether the rule at `index`, not granted, must be denied explicitly at all.
    pub fn needs_deny(&self, index: usize, granted: impl Fn(usize) -> bool) -> bool {
        !self.deny_verbs(index, granted).is_empty()
    }
}

/// The methods of requests that `rules` send to `denied` and the pattern of `granted` matches:
/// tried on requests to `denied` whose parameters take a plain value or one of `granted`'s
/// literals.
fn reaching_methods(rules: &Rules, granted: &Route, denied: &Route) -> Vec<&'static str> {
    let concrete = || METHODS.iter().copied().filter(|m| *m != "ANY");
    let methods: Vec<&'static str> = match (granted.method.as_str(), denied.method.as_str()) {
        ("ANY", "ANY") => concrete().collect(),
        ("ANY", m) | (m, "ANY") => concrete().filter(|c| *c == m).collect(),
        (g, d) if g == d => concrete().filter(|c| *c == g).collect(),
        _ => Vec::new(),
    };
    if methods.is_empty() {
        return methods;
    }
    let mut values: Vec<&str> = vec!["x"];
    values.extend(granted.segments().filter_map(|s| match s {
        Segment::Literal(l) => Some(l),
        _ => None,
    }));
    // Each verb is named in the ARNs (never `*`): matching the path is enough.
    let pattern = granted.pattern();
    values.sort_unstable();
    values.dedup();
    // A greedy parameter as deep as the granted pattern reaches, and one more.
    let depth = granted.segments().count() + 1;
    // Routes with many parameters would make too many requests to try: such a route is
    // denied explicitly on its methods, which can only refuse more, never allow more.
    if instance_count(denied, values.len(), depth) > MAX_INSTANCES {
        return methods;
    }
    let paths = instances(denied, &values, depth);
    methods
        .into_iter()
        .filter(|m| {
            paths.iter().any(|path| {
                rules.route_of(m, path) == Some(denied) && wildcard_match(&pattern, path)
            })
        })
        .collect()
}

/// The most requests tried for one pair of routes.
const MAX_INSTANCES: usize = 4096;

/// How many paths [`instances`] would make, saturating.
fn instance_count(route: &Route, values: usize, depth: usize) -> usize {
    let greedy: usize = (1..=depth)
        .map(|k| values.saturating_pow(u32::try_from(k).unwrap_or(u32::MAX)))
        .fold(0, usize::saturating_add);
    route
        .segments()
        .map(|s| match s {
            Segment::Literal(_) => 1,
            Segment::Param(_) => values,
            Segment::Greedy(_) => greedy,
        })
        .fold(1, usize::saturating_mul)
}

/// The concrete paths of `route` (no leading slash) with each parameter one of `values`, and a
/// greedy parameter one to `depth` segments of them.
fn instances(route: &Route, values: &[&str], depth: usize) -> Vec<String> {
    let mut paths = vec![String::new()];
    for segment in route.segments() {
        let choices: Vec<String> = match segment {
            Segment::Literal(l) => vec![l.to_owned()],
            Segment::Param(_) => values.iter().map(|v| (*v).to_owned()).collect(),
            Segment::Greedy(_) => {
                let mut all: Vec<String> = values.iter().map(|v| (*v).to_owned()).collect();
                let mut last = all.clone();
                for _ in 1..depth {
                    last = last
                        .iter()
                        .flat_map(|p| values.iter().map(move |v| format!("{p}/{v}")))
                        .collect();
                    all.extend(last.iter().cloned());
                }
                all
            }
        };
        paths = paths
            .iter()
            .flat_map(|p| {
                choices.iter().map(move |c| match p.is_empty() {
                    true => c.clone(),
                    false => format!("{p}/{c}"),
                })
            })
            .collect();
    }
    paths
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reach(text: &str) -> (Rules, Reach) {
        let rules = Rules::parse(text).unwrap();
        let reach = Reach::of(&rules);
        (rules, reach)
    }

    #[test]
    fn a_parameter_route_reaches_the_routes_nested_under_it() {
        let (_, r) = reach("GET /items/{id} *; GET /items/{id}/secret admin");
        assert!(r.needs_deny(1, |g| g == 0));
        assert!(
            !r.needs_deny(0, |g| g == 1),
            "items/*/secret reaches no request to /items/{{id}}"
        );
    }

    #[test]
    fn a_literal_sibling_is_not_reached_by_its_parameter_route() {
        // GET /items/special wins its own requests; items/* reaches them, so it must be denied.
        let (_, r) = reach("GET /items/{id} *; GET /items/special admin");
        assert!(r.needs_deny(1, |g| g == 0));
        // And items/special reaches no request to /items/{id}.
        assert!(!r.needs_deny(0, |g| g == 1));
    }

    #[test]
    fn other_methods_are_not_reached() {
        let (_, r) = reach("GET /items/{id} *; POST /items/{id}/secret admin");
        assert!(!r.needs_deny(1, |g| g == 0));
    }

    #[test]
    fn an_any_route_reaches_every_method() {
        let (_, r) = reach("ANY /items/{proxy+} *; DELETE /items/{id} admin");
        assert!(r.needs_deny(1, |g| g == 0));
    }

    #[test]
    fn a_route_with_too_many_requests_to_try_is_denied_at_once() {
        // 13 values and 12 parameters: 13^12 requests, never enumerated.
        let (_, r) = reach(
            "GET /a/b/c/d/e/f/g/h/i/j/k/l *; \
             GET /{p1}/{p2}/{p3}/{p4}/{p5}/{p6}/{p7}/{p8}/{p9}/{p10}/{p11}/{p12} admin",
        );
        assert!(r.needs_deny(1, |g| g == 0));
    }

    #[test]
    fn nothing_is_denied_when_the_reaching_route_is_not_granted() {
        let (_, r) = reach("GET /items/{id} reader; GET /items/{id}/secret admin");
        assert!(!r.needs_deny(1, |_| false));
    }
}
