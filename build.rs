//! Embeds the `intents/` folder in the binary, so the bot runs on its default catalogue with
//! no files beside it. Each file is pulled in with `include_str!`, which makes the compiler
//! rebuild when a file changes; `rerun-if-changed` on the folder catches added or removed files.

use std::env;
use std::fs;
use std::path::Path;

fn main() {
    let manifest = env::var("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR");
    let intents = Path::new(&manifest).join("intents");
    println!("cargo:rerun-if-changed=intents");

    let mut names: Vec<String> = fs::read_dir(&intents)
        .map(|entries| {
            entries
                .filter_map(Result::ok)
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .filter(|name| name.ends_with(".toml"))
                .collect()
        })
        .unwrap_or_default();
    names.sort();

    let mut code = String::from("&[\n");
    for name in names {
        let full = intents.join(&name);
        code.push_str(&format!("    (\"intents/{name}\", include_str!({:?})),\n", full.display().to_string()));
    }
    code.push_str("]\n");
    let out = Path::new(&env::var("OUT_DIR").expect("cargo sets OUT_DIR")).join("embedded_intents.rs");
    fs::write(out, code).expect("OUT_DIR is writable");
}
