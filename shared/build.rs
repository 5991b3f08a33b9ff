//! Turns `data/common-passwords.txt` into a sorted static array, so that checking a password
//! against it is a binary search with nothing to build at run time (not even on first use).

use std::fmt::Write as _;

fn main() {
    let source = "data/common-passwords.txt";
    println!("cargo::rerun-if-changed={source}");
    let text = std::fs::read_to_string(source).expect("the common-password list");
    let mut words: Vec<&str> = text.lines().filter(|l| !l.is_empty() && !l.starts_with('#')).collect();
    words.sort_unstable();
    words.dedup();
    let mut out =
        format!("/// The common passwords, sorted.\npub static COMMON_PASSWORDS: [&str; {}] = [\n", words.len());
    for word in words {
        writeln!(out, "    {word:?},").expect("writing to a string");
    }
    out.push_str("];\n");
    let path = std::path::Path::new(&std::env::var("OUT_DIR").expect("OUT_DIR")).join("common_passwords.rs");
    std::fs::write(path, out).expect("writing the generated list");
}
