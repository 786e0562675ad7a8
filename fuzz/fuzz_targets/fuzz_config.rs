//! The configuration loader on arbitrary text: never panics; a file is either valid or every
//! problem names the file, a line inside it, a field and a reason.
#![no_main]

use aftercare::config::Config;
use libfuzzer_sys::fuzz_target;

const PATH: &str = "fuzz/aftercare.toml";

fuzz_target!(|data: &[u8]| {
    let contents = String::from_utf8_lossy(data);
    match Config::parse(PATH, &contents) {
        Ok(config) => {
            assert!(!config.clinic.name.is_empty());
            assert!(!config.question_expiry.is_zero());
        }
        Err(problems) => {
            assert!(!problems.0.is_empty(), "Err without problems");
            let lines = contents.lines().count().max(1);
            for problem in &problems.0 {
                assert_eq!(problem.path, PATH);
                assert!(!problem.reason.trim().is_empty(), "empty reason: {problem}");
                assert!(!problem.field.trim().is_empty(), "empty field: {problem}");
                assert!(problem.line >= 1 && problem.line <= lines + 1, "line {} of {lines}: {problem}", problem.line);
            }
        }
    }
});
