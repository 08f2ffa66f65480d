//! Where a sign-in comes from.

use std::net::IpAddr;

/// Where a sign-in comes from: the client address API Gateway saw (an IPv6 address by its /64,
/// which one subscriber usually holds whole). Never `X-Forwarded-For`, which any client writes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Source(String);

impl Source {
    /// The source for `address` (`requestContext.identity.sourceIp` on REST APIs,
    /// `requestContext.http.sourceIp` on HTTP APIs); `unknown` without one (a direct invoke).
    pub fn from_address(address: Option<&str>) -> Self {
        match address.and_then(|a| a.trim().parse::<IpAddr>().ok()) {
            Some(IpAddr::V4(v4)) => Self(v4.to_string()),
            Some(IpAddr::V6(v6)) => match v6.to_ipv4_mapped() {
                Some(v4) => Self(v4.to_string()),
                None => {
                    let s = v6.segments();
                    Self(format!("{:x}:{:x}:{:x}:{:x}::/64", s[0], s[1], s[2], s[3]))
                }
            },
            None => Self("unknown".to_owned()),
        }
    }

    /// As counted.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sources_are_addresses_and_ipv6_counts_by_its_64() {
        assert_eq!(
            Source::from_address(Some("198.51.100.7")).as_str(),
            "198.51.100.7"
        );
        assert_eq!(
            Source::from_address(Some("2001:db8:1:2:aaaa::1")),
            Source::from_address(Some("2001:db8:1:2:ffff:ffff:ffff:ffff"))
        );
        assert_eq!(
            Source::from_address(Some("2001:db8:1:2::1")).as_str(),
            "2001:db8:1:2::/64"
        );
        assert_ne!(
            Source::from_address(Some("2001:db8:1:2::1")),
            Source::from_address(Some("2001:db8:1:3::1"))
        );
        assert_eq!(
            Source::from_address(Some("::ffff:198.51.100.7")).as_str(),
            "198.51.100.7"
        );
        for junk in [
            None,
            Some(""),
            Some("not an address"),
            Some("1.2.3.4, 5.6.7.8"),
        ] {
            assert_eq!(Source::from_address(junk).as_str(), "unknown", "{junk:?}");
        }
    }
}
