//! `local-moto`: the tests' moto server for `make dev`, through the same launcher
//! ([`testkit::moto::MotoServer`]: a free loopback port, one request at a time, ready when it
//! answers HTTP). Prints the endpoint on its first line, then runs until standard input closes
//! or the process is stopped; moto stops with it.

use std::io::{Read, Write};

fn main() {
    let moto = testkit::moto::MotoServer::start();
    let mut out = std::io::stdout();
    let _ = writeln!(out, "{}", moto.endpoint());
    let _ = out.flush();
    // Until standard input closes (the caller exits, or stops this process).
    let _ = std::io::stdin().read_to_end(&mut Vec::new());
}
