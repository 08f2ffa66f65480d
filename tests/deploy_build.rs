//! What `sam deploy` ships: `make build` (`sam build`, arm64, cargo-lambda and zig) leaves
//! each function's `bootstrap` in `.aws-sam/build`, an aarch64 Linux executable. `make test`
//! runs `make build` first.

use std::path::Path;

/// The ELF machine number of AArch64 (`EM_AARCH64`).
const EM_AARCH64: u16 = 183;

#[test]
fn every_function_is_built_for_arm64() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    for function in [
        "CheckTokenFunction",
        "AuthenticateFunction",
        "HelloFunction",
    ] {
        let path = root.join(".aws-sam/build").join(function).join("bootstrap");
        let bytes = std::fs::read(&path)
            .unwrap_or_else(|e| panic!("{}: {e}: run `make build` first", path.display()));
        assert!(bytes.len() > 64, "{function}: too short for an ELF file");
        assert_eq!(&bytes[..4], b"\x7fELF", "{function}: not an ELF file");
        assert_eq!(bytes[4], 2, "{function}: not a 64-bit ELF file");
        assert_eq!(bytes[5], 1, "{function}: not little-endian");
        let machine = u16::from_le_bytes([bytes[18], bytes[19]]);
        assert_eq!(
            machine, EM_AARCH64,
            "{function}: built for machine {machine}, not arm64"
        );
        let kind = u16::from_le_bytes([bytes[16], bytes[17]]);
        assert!(
            kind == 2 || kind == 3,
            "{function}: not an executable (type {kind})"
        );
    }
}
