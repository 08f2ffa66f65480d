//! IAM's ARN wildcards, as API Gateway applies an authorizer's policy.

/// `*` matches any run of characters, `?` any one: IAM's ARN wildcards.
pub fn wildcard_match(pattern: &str, text: &str) -> bool {
    let (p, t): (Vec<char>, Vec<char>) = (pattern.chars().collect(), text.chars().collect());
    let (mut pi, mut ti) = (0, 0);
    let (mut star, mut mark) = (None, 0);
    while ti < t.len() {
        if pi < p.len() && (p[pi] == '?' || p[pi] == t[ti]) {
            pi += 1;
            ti += 1;
        } else if pi < p.len() && p[pi] == '*' {
            star = Some(pi);
            mark = ti;
            pi += 1;
        } else if let Some(s) = star {
            pi = s + 1;
            mark += 1;
            ti = mark;
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|&c| c == '*')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_star_spans_slashes() {
        assert!(wildcard_match("items/*", "items/7/secret"));
    }

    #[test]
    fn a_question_mark_is_one_character() {
        assert!(wildcard_match("a?c", "abc"));
        assert!(!wildcard_match("a?c", "ac"));
    }

    #[test]
    fn literals_match_whole() {
        assert!(wildcard_match("items/*/secret", "items/7/secret"));
        assert!(!wildcard_match("items/*/secret", "items/7/secret/x"));
        assert!(!wildcard_match("items", "items/7"));
    }
}
