//! Who may call which route. The API owner writes one rule per protected route, as the
//! template declares the route (method and path, with `{param}` and a greedy `{proxy+}`), in
//! check-token's `ROUTE_RULES`:
//!
//! ```text
//! GET /hello *; GET /admin admin; DELETE /items/{id} admin,support
//! ```
//!
//! Entries are separated by `;` or new lines; each is `METHOD /path WHO`, where `WHO` is `*`
//! (anyone signed in) or roles separated by commas (any one of them suffices). `ANY` stands for
//! every method. A route no rule names is refused to everyone. Parsing refuses anything else,
//! naming the entry, so that a typo stops start-up instead of opening or closing a route.

mod reach;
mod wildcard;

use std::collections::BTreeSet;
use std::fmt;

pub use reach::Reach;
pub use wildcard::wildcard_match;

/// The methods a rule may name; `ANY` is every method.
pub const METHODS: [&str; 8] = [
    "GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS", "ANY",
];

/// Every method `ANY` stands for.
const CONCRETE: &[&str] = &["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"];

/// Why a rule cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RuleError {
    /// An entry is not `METHOD /path WHO`.
    #[error(
        "rule {entry:?}: {why}; write METHOD /path WHO, such as `GET /admin admin` or `GET /hello *`"
    )]
    Malformed {
        /// The entry as written.
        entry: String,
        /// What is wrong with it.
        why: String,
    },
    /// Two entries name the same route.
    #[error(
        "rule {0:?}: the route has a rule already; give each route one rule, listing every role"
    )]
    Duplicate(String),
}

/// A route as the template declares it: a method (or `ANY`) and a path template.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Route {
    /// Upper case: `GET`, ..., or `ANY`.
    pub method: String,
    /// `/`, `/hello`, `/items/{id}`, `/files/{proxy+}`.
    pub path: String,
}

impl Route {
    /// The route `method path`, checked: a known method, a path of non-empty segments, each a
    /// literal or a whole `{name}`, and `{name+}` only last.
    pub fn new(method: &str, path: &str) -> Result<Self, String> {
        let method = method.to_ascii_uppercase();
        if !METHODS.contains(&method.as_str()) {
            return Err(format!("{method} is not a method ({})", METHODS.join(", ")));
        }
        check_path(path)?;
        Ok(Self {
            method,
            path: path.to_owned(),
        })
    }

    /// The verbs of its ARNs: its method, or every method for `ANY`, each named (a `*` verb
    /// would span into the path: IAM's `*` matches `/`).
    pub fn verbs(&self) -> &'static [&'static str] {
        match CONCRETE.iter().position(|m| *m == self.method) {
            Some(i) => &CONCRETE[i..=i],
            None => CONCRETE,
        }
    }

    /// The path as it stands in an IAM resource: no leading slash, `?*` (one character or
    /// more) where a parameter stands, as a path parameter is never empty. IAM's `*` spans `/`,
    /// so it covers a greedy parameter too, and more (see [`Reach`]).
    pub fn pattern(&self) -> String {
        let parts: Vec<&str> = self
            .segments()
            .map(|s| match s {
                Segment::Literal(l) => l,
                Segment::Param(_) | Segment::Greedy(_) => "?*",
            })
            .collect();
        parts.join("/")
    }

    /// Whether the route takes the concrete path of segments `got`.
    fn matches(&self, got: &[&str]) -> bool {
        let mut rest = got.iter();
        for segment in self.segments() {
            match (segment, rest.next()) {
                (_, None) => return false,
                (Segment::Literal(l), Some(value)) if l != *value => return false,
                (Segment::Greedy(_), Some(_)) => return true,
                _ => {}
            }
        }
        rest.next().is_none()
    }

    /// How specific the route is, one number a segment ([`Segment::specificity`]): of two
    /// routes that take a path, API Gateway sends it to the greater.
    fn specificity(&self) -> impl Iterator<Item = u8> + '_ {
        self.segments().map(Segment::specificity)
    }

    /// The path's segments (none for `/`).
    pub fn segments(&self) -> impl Iterator<Item = Segment<'_>> {
        self.path
            .split('/')
            .filter(|s| !s.is_empty())
            .map(Segment::of)
    }
}

impl fmt::Display for Route {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.method, self.path)
    }
}

/// One segment of a path template.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Segment<'a> {
    /// Text that must match exactly.
    Literal(&'a str),
    /// `{name}`: one segment, any value.
    Param(&'a str),
    /// `{name+}`: the rest of the path, one segment or more.
    Greedy(&'a str),
}

impl<'a> Segment<'a> {
    /// How specifically it matches a request's segment: a literal before a parameter before a
    /// greedy rest, as API Gateway chooses among routes.
    fn specificity(self) -> u8 {
        match self {
            Self::Literal(_) => 2,
            Self::Param(_) => 1,
            Self::Greedy(_) => 0,
        }
    }

    fn of(text: &'a str) -> Self {
        match text.strip_prefix('{').and_then(|t| t.strip_suffix('}')) {
            Some(name) => match name.strip_suffix('+') {
                Some(greedy) => Self::Greedy(greedy),
                None => Self::Param(name),
            },
            None => Self::Literal(text),
        }
    }
}

fn check_path(path: &str) -> Result<(), String> {
    if !path.starts_with('/') {
        return Err(format!("the path {path:?} does not start with /"));
    }
    if path == "/" {
        return Ok(());
    }
    let parts: Vec<&str> = path[1..].split('/').collect();
    for (i, part) in parts.iter().enumerate() {
        let bad = |why: &str| Err(format!("the path {path:?} {why}"));
        if part.is_empty() {
            return bad("has an empty segment");
        }
        if part.contains(|c: char| c.is_whitespace() || c == '*' || c == '?') {
            return bad("holds a space, * or ?");
        }
        let braces = part.contains('{') || part.contains('}');
        match Segment::of(part) {
            Segment::Literal(_) if braces => return bad("has a brace outside a whole {param}"),
            Segment::Param(n) | Segment::Greedy(n) if !valid_name(n) => {
                return bad("has a parameter without a plain name");
            }
            Segment::Greedy(_) if i + 1 != parts.len() => {
                return bad("has a greedy {param+} before its end");
            }
            _ => {}
        }
    }
    Ok(())
}

fn valid_name(name: &str) -> bool {
    !name.is_empty() && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// Who may call a route.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Who {
    /// Anyone signed in (`*`).
    AnySignedIn,
    /// Holders of any one of these roles.
    Roles(BTreeSet<String>),
}

impl Who {
    fn parse(text: &str) -> Result<Self, String> {
        if text == "*" {
            return Ok(Self::AnySignedIn);
        }
        let roles: BTreeSet<String> = text.split(',').map(str::to_owned).collect();
        match roles.iter().find(|r| !valid_role(r)) {
            Some(r) => Err(format!(
                "{r:?} is not a role (letters, digits, - _ . :), and * stands alone"
            )),
            None => Ok(Self::Roles(roles)),
        }
    }

    /// Whether a token with `roles` may call.
    pub fn admits(&self, roles: &[String]) -> bool {
        match self {
            Self::AnySignedIn => true,
            Self::Roles(allowed) => roles.iter().any(|r| allowed.contains(r)),
        }
    }
}

fn valid_role(role: &str) -> bool {
    !role.is_empty()
        && role
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_.:".contains(c))
}

/// One rule: a route and who may call it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rule {
    /// The route.
    pub route: Route,
    /// Who may call it.
    pub who: Who,
    /// The route's path in an IAM resource ([`Route::pattern`]), worked out once.
    pub pattern: String,
    /// The path's first segment when it is a literal: a request whose path starts otherwise
    /// never goes to the route, which is told without reading the rest.
    head: Option<String>,
}

impl Rule {
    /// Whether the route takes the concrete path of segments `got`.
    fn takes(&self, got: &[&str]) -> bool {
        let head_fits = match (&self.head, got.first()) {
            (Some(head), Some(first)) => head == first,
            (Some(_), None) => false,
            (None, _) => true,
        };
        head_fits && self.route.matches(got)
    }
}

/// Every rule of an API, parsed once.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Rules {
    rules: Vec<Rule>,
    reach: Reach,
}

/// The routes one token's policy names: those it may call, and those it may not call that an
/// allowed pattern would reach.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Policy<'a> {
    /// Allowed.
    pub allow: Vec<&'a Rule>,
    /// Denied explicitly, each on one verb.
    pub deny: Vec<Denied<'a>>,
}

/// A route denied explicitly on one verb.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Denied<'a> {
    /// The verb of the denied requests (a method, never `*`).
    pub verb: &'static str,
    /// The route's rule.
    pub rule: &'a Rule,
}

impl Rules {
    /// Parses the rules' text (see the crate's documentation).
    pub fn parse(text: &str) -> Result<Self, RuleError> {
        let mut rules: Vec<Rule> = Vec::new();
        for entry in text
            .split([';', '\n'])
            .map(str::trim)
            .filter(|e| !e.is_empty())
        {
            let malformed = |why: String| RuleError::Malformed {
                entry: entry.to_owned(),
                why,
            };
            let words: Vec<&str> = entry.split_whitespace().collect();
            let [method, path, who] = words[..] else {
                return Err(malformed(format!("{} words instead of 3", words.len())));
            };
            let route = Route::new(method, path).map_err(malformed)?;
            let who = Who::parse(who).map_err(malformed)?;
            if rules.iter().any(|r| r.route == route) {
                return Err(RuleError::Duplicate(entry.to_owned()));
            }
            let pattern = route.pattern();
            let head = match route.segments().next() {
                Some(Segment::Literal(l)) => Some(l.to_owned()),
                _ => None,
            };
            rules.push(Rule {
                route,
                who,
                pattern,
                head,
            });
        }
        let mut parsed = Self {
            rules,
            reach: Reach::default(),
        };
        parsed.reach = Reach::of(&parsed);
        Ok(parsed)
    }

    /// The routes the policy of a token with `roles` allows, and those it must deny.
    pub fn policy(&self, roles: &[String]) -> Policy<'_> {
        let granted: Vec<bool> = self.rules.iter().map(|r| r.who.admits(roles)).collect();
        let mut policy = Policy {
            allow: Vec::with_capacity(self.rules.len()),
            deny: Vec::new(),
        };
        for (i, rule) in self.rules.iter().enumerate() {
            if granted[i] {
                policy.allow.push(rule);
            } else {
                let verbs = self.reach.deny_verbs(i, |g| granted[g]);
                policy
                    .deny
                    .extend(verbs.into_iter().map(|verb| Denied { verb, rule }));
            }
        }
        policy
    }

    /// Every role some rule names: the scopes a token may carry that some route asks for.
    pub fn roles(&self) -> BTreeSet<&str> {
        self.iter()
            .filter_map(|rule| match &rule.who {
                Who::Roles(roles) => Some(roles.iter().map(String::as_str)),
                Who::AnySignedIn => None,
            })
            .flatten()
            .collect()
    }

    /// Every rule, in the order written.
    pub fn iter(&self) -> impl Iterator<Item = &Rule> {
        self.rules.iter()
    }

    /// The rule of `route`, if any.
    pub fn rule(&self, route: &Route) -> Option<&Rule> {
        self.rules.iter().find(|r| &r.route == route)
    }

    /// The route API Gateway sends a request for `method` on the concrete `path` to, among the
    /// ruled ones: the most specific path (literal before parameter before greedy, segment by
    /// segment), then the exact method before `ANY`.
    pub fn route_of(&self, method: &str, path: &str) -> Option<&Route> {
        self.rule_of(method, path).map(|r| &r.route)
    }

    /// The rule of [`Rules::route_of`]'s route. `path` may go without its leading slash.
    pub fn rule_of(&self, method: &str, path: &str) -> Option<&Rule> {
        // The path is split once; most rules differ from it at their first literal.
        let got: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
        self.rules
            .iter()
            .filter(|r| r.route.method == "ANY" || r.route.method.eq_ignore_ascii_case(method))
            .filter(|r| r.takes(&got))
            .max_by(|a, b| {
                let exact = |r: &Rule| r.route.method != "ANY";
                (a.route.specificity().cmp(b.route.specificity())).then(exact(a).cmp(&exact(b)))
            })
    }

    /// The rule of the route the template declares as `method path` (an HTTP API route key),
    /// else of `ANY path`; nothing is allocated.
    pub fn rule_for_key(&self, method: &str, path: &str) -> Option<&Rule> {
        [method, "ANY"].into_iter().find_map(|m| {
            self.rules
                .iter()
                .find(|r| r.route.path == path && r.route.method.eq_ignore_ascii_case(m))
        })
    }

    /// Whether a token with `roles` may call `route` (as the template declares it).
    pub fn allows(&self, route: &Route, roles: &[String]) -> bool {
        self.rule(route).is_some_and(|r| r.who.admits(roles))
    }

    /// The routes a token with `roles` may call.
    pub fn granted<'a>(&'a self, roles: &'a [String]) -> impl Iterator<Item = &'a Route> {
        self.rules
            .iter()
            .filter(|r| r.who.admits(roles))
            .map(|r| &r.route)
    }

    /// Checks the rules against the routes an API has behind the authorizer: every rule names
    /// one of them, and every one of them has a rule. Returns what is wrong, one line each.
    pub fn check_against<'a>(&self, protected: impl IntoIterator<Item = &'a Route>) -> Vec<String> {
        let protected: Vec<&Route> = protected.into_iter().collect();
        let unknown = self
            .rules
            .iter()
            .filter(|r| !protected.contains(&&r.route))
            .map(|r| {
                format!(
                    "the rule for {} names a route the API does not have",
                    r.route
                )
            });
        let uncovered = protected
            .iter()
            .filter(|p| self.rule(p).is_none())
            .map(|p| format!("{p} is behind the authorizer but no rule names it"));
        unknown.chain(uncovered).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_roles_named_are_every_rules_roles() {
        let rules =
            Rules::parse("GET /hello *; GET /admin admin; DELETE /x/{id} admin,support").unwrap();
        assert_eq!(
            rules.roles().into_iter().collect::<Vec<_>>(),
            ["admin", "support"]
        );
    }

    fn roles(r: &[&str]) -> Vec<String> {
        r.iter().map(|s| s.to_string()).collect()
    }

    fn route(method: &str, path: &str) -> Route {
        Route::new(method, path).unwrap()
    }

    #[test]
    fn rules_parse_from_semicolons_or_lines() {
        let a = Rules::parse("GET /hello *; GET /admin admin").unwrap();
        let b = Rules::parse("GET /hello *\n  GET /admin admin\n").unwrap();
        assert_eq!(a, b);
        assert_eq!(a.iter().count(), 2);
    }

    #[test]
    fn anyone_signed_in_may_call_a_star_route() {
        let rules = Rules::parse("GET /hello *").unwrap();
        assert!(rules.allows(&route("GET", "/hello"), &[]));
    }

    #[test]
    fn a_role_route_needs_one_of_its_roles() {
        let rules = Rules::parse("GET /admin admin,support").unwrap();
        let admin = route("GET", "/admin");
        assert!(rules.allows(&admin, &roles(&["reader", "support"])));
        assert!(!rules.allows(&admin, &roles(&["reader"])));
    }

    #[test]
    fn a_route_without_a_rule_is_refused_to_everyone() {
        let rules = Rules::parse("GET /hello *").unwrap();
        assert!(!rules.allows(&route("POST", "/hello"), &roles(&["admin"])));
    }

    #[test]
    fn granted_lists_exactly_the_routes_the_roles_may_call() {
        let rules =
            Rules::parse("GET /hello *; GET /admin admin; DELETE /items/{id} support").unwrap();
        let granted: Vec<String> = rules
            .granted(&roles(&["support"]))
            .map(|r| r.to_string())
            .collect();
        assert_eq!(granted, ["GET /hello", "DELETE /items/{id}"]);
    }

    #[test]
    fn malformed_entries_are_named() {
        for (text, says) in [
            ("GET /hello", "2 words"),
            ("FETCH /hello *", "FETCH is not a method"),
            ("GET hello *", "does not start with /"),
            ("GET /a//b *", "empty segment"),
            ("GET /a/{proxy+}/b *", "greedy"),
            ("GET /a/x{id} *", "brace"),
            ("GET /a/* *", "*"),
            ("GET /a admin,", "is not a role"),
            ("GET /a *,admin", "is not a role"),
        ] {
            let err = Rules::parse(text).unwrap_err().to_string();
            assert!(
                err.contains(says) && err.contains(text.trim()),
                "{text}: {err}"
            );
        }
    }

    #[test]
    fn a_route_named_twice_is_refused() {
        let err = Rules::parse("GET /a *; get /a admin").unwrap_err();
        assert_eq!(err, RuleError::Duplicate("get /a admin".into()));
    }

    #[test]
    fn segments_tell_literals_params_and_greedy_apart() {
        let r = route("ANY", "/files/{owner}/{proxy+}");
        let segs: Vec<Segment> = r.segments().collect();
        assert_eq!(
            segs,
            [
                Segment::Literal("files"),
                Segment::Param("owner"),
                Segment::Greedy("proxy")
            ]
        );
        assert_eq!(route("GET", "/").segments().count(), 0);
    }

    #[test]
    fn requests_go_to_the_most_specific_route() {
        let rules =
            Rules::parse("GET /items/{id} *; GET /items/special *; ANY /items/{proxy+} *; ANY / *")
                .unwrap();
        let of = |m, p| rules.route_of(m, p).map(|r| r.to_string());
        assert_eq!(
            of("GET", "/items/special").as_deref(),
            Some("GET /items/special")
        );
        assert_eq!(of("GET", "/items/7").as_deref(), Some("GET /items/{id}"));
        assert_eq!(
            of("POST", "/items/7").as_deref(),
            Some("ANY /items/{proxy+}")
        );
        assert_eq!(
            of("GET", "/items/7/b").as_deref(),
            Some("ANY /items/{proxy+}")
        );
        assert_eq!(of("GET", "/").as_deref(), Some("ANY /"));
        assert_eq!(of("GET", "/other"), None);
    }

    #[test]
    fn the_exact_method_wins_over_any_and_a_greedy_rest_needs_a_segment() {
        let rules = Rules::parse("ANY /files/{proxy+} *; GET /files/{proxy+} admin").unwrap();
        let of = |m, p| rules.route_of(m, p).map(|r| r.to_string());
        assert_eq!(
            of("GET", "/files/a/b").as_deref(),
            Some("GET /files/{proxy+}")
        );
        assert_eq!(
            of("PUT", "/files/a").as_deref(),
            Some("ANY /files/{proxy+}")
        );
        assert_eq!(of("GET", "/files"), None);
        assert_eq!(of("GET", "/files/"), None);
    }

    #[test]
    fn a_route_key_finds_its_rule_or_the_any_rule_of_its_path() {
        let rules = Rules::parse("GET /a *; ANY /b admin").unwrap();
        let of = |m, p| rules.rule_for_key(m, p).map(|r| r.route.to_string());
        assert_eq!(of("GET", "/a").as_deref(), Some("GET /a"));
        assert_eq!(of("POST", "/b").as_deref(), Some("ANY /b"));
        assert_eq!(of("POST", "/a"), None);
        assert_eq!(of("GET", "/b/c"), None);
    }

    #[test]
    fn patterns_put_one_or_more_characters_where_a_parameter_stands() {
        assert_eq!(
            route("GET", "/items/{id}/secret").pattern(),
            "items/?*/secret"
        );
        assert_eq!(route("ANY", "/files/{proxy+}").pattern(), "files/?*");
        assert_eq!(route("ANY", "/").pattern(), "");
        assert_eq!(route("ANY", "/").verbs().len(), 7);
        assert_eq!(route("GET", "/").verbs(), ["GET"]);
    }

    #[test]
    fn checking_against_the_api_names_unknown_and_uncovered_routes() {
        let rules = Rules::parse("GET /hello *; GET /gone admin").unwrap();
        let api = [route("GET", "/hello"), route("GET", "/admin")];
        let problems = rules.check_against(&api);
        assert_eq!(
            problems,
            [
                "the rule for GET /gone names a route the API does not have",
                "GET /admin is behind the authorizer but no rule names it"
            ]
        );
    }
}
