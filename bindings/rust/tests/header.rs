//! The hand-written declarations in src/sys.rs against retort.h: every
//! function the header declares is declared, and every constant has the
//! header's value.  Run inside the retort source tree (the crate's usual
//! home); elsewhere, where there is no header to compare with, the test says
//! so and checks nothing.

use std::collections::BTreeMap;
use std::fs;
use std::path::Path;

fn header() -> Option<String> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../include/retort/retort.h");
    match fs::read_to_string(&path) {
        Ok(text) => Some(text),
        Err(e) => {
            println!("SKIP: no retort.h to compare with at {}: {}", path.display(), e);
            None
        }
    }
}

fn sys_rs() -> String {
    fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("src/sys.rs")).unwrap()
}

/// Names of the functions declared with RETORT_API (not the macro itself).
fn header_functions(h: &str) -> Vec<String> {
    let mut names = Vec::new();
    for decl in h.split("RETORT_API").skip(1) {
        let decl = decl.trim_start();
        if decl.starts_with('\n') || decl.starts_with("__attribute__") || !decl.contains('(') {
            continue;
        }
        let before_paren = &decl[..decl.find('(').unwrap()];
        let name = before_paren
            .rsplit(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
            .next()
            .unwrap_or("");
        if name.starts_with("retort_") {
            names.push(name.to_string());
        }
    }
    names
}

/// `NAME = VALUE` pairs of the header's enums.
fn header_constants(h: &str) -> BTreeMap<String, i64> {
    let mut consts = BTreeMap::new();
    for line in h.lines() {
        let line = line.trim();
        if !line.starts_with("RETORT_") {
            continue;
        }
        let mut parts = line.splitn(2, '=');
        let (name, rest) = match (parts.next(), parts.next()) {
            (Some(n), Some(r)) => (n.trim(), r.trim()),
            _ => continue,
        };
        let value: String = rest.chars().take_while(|c| c.is_ascii_digit() || *c == '-').collect();
        if let Ok(v) = value.parse() {
            consts.insert(name.to_string(), v);
        }
    }
    consts
}

#[test]
fn sys_declares_every_function_of_the_header() {
    let h = match header() {
        Some(h) => h,
        None => return,
    };
    let sys = sys_rs();
    let functions = header_functions(&h);
    assert!(functions.len() > 50, "the header parser found only {:?}", functions);
    let missing: Vec<&String> = functions
        .iter()
        .filter(|f| !sys.contains(&format!("pub fn {}(", f)))
        .collect();
    assert!(missing.is_empty(), "retort.h declares functions src/sys.rs does not: {:?}", missing);
}

#[test]
fn sys_constants_have_the_header_values() {
    let h = match header() {
        Some(h) => h,
        None => return,
    };
    let sys = sys_rs();
    let consts = header_constants(&h);
    assert!(consts.contains_key("RETORT_EDRIFT") && consts.contains_key("RETORT_LOG_DEBUG"),
            "the header parser found only {:?}", consts);
    let wrong: Vec<String> = consts
        .iter()
        .filter(|(name, value)| !sys.contains(&format!("pub const {}: c_int = {};", name, value)))
        .map(|(name, value)| format!("{} = {}", name, value))
        .collect();
    assert!(wrong.is_empty(), "src/sys.rs lacks or misstates: {:?}", wrong);
}
