//! Validation and compilation of the catalogue's files. Every problem is collected (never the
//! first one only), each with its file, line and field, so a clinician can fix them in one go.

use super::file::{IntentFile, LexiconFile, Text, TriggerFile};
use super::intent_set::IntentSet;
use super::lexicon::{alternation, pattern_parser, prepare_pattern, Lexicon};
use super::pattern::Pattern;
use super::source::{CatalogueSource, SourceFile};
use super::{
    Catalogue, Group, Intent, Lasting, LastingOutcome, Origin, Raise, ReadingThresholds, ScreenOutcome, ScreenQuestion,
    REQUIRED_INTENTS,
};
use crate::problem::{LineIndex, Problem};
use crate::triage::disposition::Disposition;
use crate::triage::matcher::classify;
use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicUsize, Ordering};

/// The shared lexicon's file name inside the intents folder.
pub const LEXICON_FILE: &str = "_lexicon.toml";
/// How many examples and counter-examples each intent must carry.
const MIN_EXAMPLES: usize = 8;
const MIN_COUNTER_EXAMPLES: usize = 4;
/// The largest automaton one pattern, or the intent set, may compile to. The defaults of the
/// `regex` crate are too small for a catalogue of hundreds of alternatives.
const PATTERN_SIZE_LIMIT: usize = 64 << 20;

/// Reports problems against one file.
struct FileReport<'a> {
    path: &'a str,
    lines: LineIndex,
    problems: &'a mut Vec<Problem>,
}

impl FileReport<'_> {
    fn at(&mut self, text: &Text, field: impl Into<String>, reason: impl Into<String>) {
        let line = self.lines.line_of(text.span().start);
        self.problems.push(Problem::new(self.path, line, field, reason));
    }

    fn top(&mut self, field: impl Into<String>, reason: impl Into<String>) {
        self.problems.push(Problem::new(self.path, 1, field, reason));
    }

    fn line(&self, text: &Text) -> usize {
        self.lines.line_of(text.span().start)
    }
}

/// Compiles every file it can; returns the catalogue when the lexicon and at least the
/// structure of the intents could be built, and every problem found.
pub fn compile(source: &CatalogueSource) -> (Option<Catalogue>, Vec<Problem>) {
    let mut problems = Vec::new();
    let (lexicon_files, intent_files): (Vec<&SourceFile>, Vec<&SourceFile>) =
        source.files.iter().partition(|f| f.path.ends_with(LEXICON_FILE));

    let lexicon_and_macros = match lexicon_files.as_slice() {
        [file] => compile_lexicon(file, &mut problems),
        [] => {
            problems.push(Problem::new(LEXICON_FILE, 1, "file", "the lexicon file is missing"));
            None
        }
        [_, extra @ ..] => {
            for file in extra {
                problems.push(Problem::new(&file.path, 1, "file", "more than one lexicon file"));
            }
            None
        }
    };
    let empty = HashMap::new();
    let macros = lexicon_and_macros.as_ref().map(|(_, m)| m).unwrap_or(&empty);

    let mut drafts = compile_intents(&intent_files, macros, &mut problems);
    check_ids(&drafts, &mut problems);

    if intent_files_missing(source) {
        problems.push(Problem::new("intents", 1, "files", "no intent files found"));
    }
    let Some((lexicon, _)) = lexicon_and_macros else {
        return (None, problems);
    };
    drafts.sort_by(|a, b| a.intent.id.cmp(&b.intent.id));
    let any_pattern =
        IntentSet::new(&drafts.iter().map(|d| d.pattern.as_str()).collect::<Vec<_>>(), PATTERN_SIZE_LIMIT);
    let intents: Vec<Intent> = drafts.into_iter().map(|d| d.intent).collect();
    let mut by_id = HashMap::new();
    for (i, intent) in intents.iter().enumerate() {
        by_id.entry(intent.id.clone()).or_insert(i);
    }
    match any_pattern {
        Ok(any_pattern) => (Some(Catalogue { intents, by_id, any_pattern, lexicon }), problems),
        Err(e) => {
            problems.push(Problem::new("intents", 1, "patterns", format!("the whole catalogue does not compile: {e}")));
            (None, problems)
        }
    }
}

/// Compiles the intent files on every core (building their regexes is most of a startup), and
/// reports their problems in file order, as one thread would have.
fn compile_intents(files: &[&SourceFile], macros: &HashMap<String, String>, problems: &mut Vec<Problem>) -> Vec<Draft> {
    let next = AtomicUsize::new(0);
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get()).min(files.len()).max(1);
    let mut compiled: Vec<(usize, Option<Draft>, Vec<Problem>)> = std::thread::scope(|scope| {
        let workers: Vec<_> = (0..threads)
            .map(|_| {
                scope.spawn(|| {
                    let mut done = Vec::new();
                    loop {
                        let index = next.fetch_add(1, Ordering::Relaxed);
                        let Some(file) = files.get(index) else { break done };
                        let mut found = Vec::new();
                        let draft = compile_intent(file, macros, &mut found);
                        done.push((index, draft, found));
                    }
                })
            })
            .collect();
        workers.into_iter().flat_map(|w| w.join().unwrap_or_else(|panic| std::panic::resume_unwind(panic))).collect()
    });
    compiled.sort_by_key(|(index, ..)| *index);
    let mut drafts = Vec::new();
    for (_, draft, found) in compiled {
        problems.extend(found);
        drafts.extend(draft);
    }
    drafts
}

fn intent_files_missing(source: &CatalogueSource) -> bool {
    !source.files.iter().any(|f| !f.path.ends_with(LEXICON_FILE))
}

/// Runs every intent's examples and counter-examples through the matcher, each intent's on a
/// copy of the catalogue: a copied regex has match caches of its own, freed with it, and one
/// intent's examples fill far less of them than all of the examples together.
pub fn check_examples(catalogue: &Catalogue) -> Vec<Problem> {
    let mut problems = Vec::new();
    for intent in catalogue.intents() {
        let catalogue = &catalogue.clone();
        for (i, example) in intent.examples.iter().enumerate() {
            let found = classify(catalogue, example);
            if !found.asserts(&intent.id) {
                problems.push(Problem::new(
                    &intent.origin.path,
                    intent.origin.example_lines[i],
                    format!("examples[{i}]"),
                    format!("does not match `{}`: {:?} (found: {})", intent.id, example, found.summary()),
                ));
            }
        }
        for (i, counter) in intent.counter_examples.iter().enumerate() {
            let found = classify(catalogue, counter);
            if found.asserts(&intent.id) {
                problems.push(Problem::new(
                    &intent.origin.path,
                    intent.origin.counter_example_lines[i],
                    format!("counter_examples[{i}]"),
                    format!("matches `{}` but must not: {:?}", intent.id, counter),
                ));
            }
        }
    }
    problems
}

fn compile_lexicon(file: &SourceFile, problems: &mut Vec<Problem>) -> Option<(Lexicon, HashMap<String, String>)> {
    let mut report = FileReport { path: &file.path, lines: LineIndex::new(&file.contents), problems };
    let raw: LexiconFile = match toml::from_str(&file.contents) {
        Ok(raw) => raw,
        Err(e) => {
            report_toml_error(&mut report, &e);
            return None;
        }
    };
    let mut macros = HashMap::new();
    for (name, value) in &raw.macros {
        match value.as_str() {
            Some(text) => {
                macros.insert(name.clone(), text.to_string());
            }
            None => report.top(format!("macros.{name}"), "a macro must be a string"),
        }
    }
    let mut words = HashMap::new();
    for (word, value) in &raw.words {
        let valid =
            |w: &str| !w.is_empty() && w.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_');
        match value.as_str() {
            Some(text) if valid(word) && text.split(' ').all(valid) => {
                words.insert(word.clone(), text.to_string());
            }
            _ => report.top(
                format!("words.{word}"),
                "a word and its spelling must be lower-case letters, digits or `_` (the spelling may have spaces)",
            ),
        }
    }
    let before = report.problems.len();
    let negation_before = trigger_pattern(&mut report, &raw.negation, "negation", &macros, true);
    let negation_after = trigger_pattern(&mut report, &raw.negation, "negation", &macros, false);
    let hypothetical_before = trigger_pattern(&mut report, &raw.hypothetical, "hypothetical", &macros, true);
    let hypothetical_after = trigger_pattern(&mut report, &raw.hypothetical, "hypothetical", &macros, false);
    let pseudo_list: Vec<Text> = raw.negation.pseudo.iter().chain(&raw.hypothetical.pseudo).cloned().collect();
    let pseudo = pattern_list(&mut report, &pseudo_list, "pseudo", &macros);
    let break_words: Vec<String> = raw
        .scope
        .breaks
        .iter()
        .enumerate()
        .filter_map(|(i, t)| checked_pattern(&mut report, t, &format!("scope.breaks[{i}]"), &macros))
        .collect();
    let breaks = format!(r"[.,;:!?()\n]|\s-+\s|{}", alternation(break_words.iter().map(String::as_str)));
    let breaks = build_pattern(&mut report, &raw.scope.breaks.first().cloned(), "scope.breaks", &breaks);
    if raw.negation.before.is_empty() {
        report.top("negation.before", "needs at least one trigger");
    }
    if raw.hypothetical.before.is_empty() {
        report.top("hypothetical.before", "needs at least one trigger");
    }
    if report.problems.len() > before {
        return None;
    }
    let lexicon = Lexicon {
        negation_before: negation_before.flatten()?,
        negation_after: negation_after?,
        hypothetical_before: hypothetical_before.flatten()?,
        hypothetical_after: hypothetical_after?,
        pseudo: pseudo?,
        breaks: breaks?,
        max_words_after_trigger: *raw.scope.max_words_after_trigger.get_ref() as usize,
        max_words_before_trigger: *raw.scope.max_words_before_trigger.get_ref() as usize,
        words,
    };
    Some((lexicon, macros))
}

/// The pattern of a trigger list's `before` or `after` phrases; `Some(None)` when the list is empty.
fn trigger_pattern(
    report: &mut FileReport<'_>,
    triggers: &TriggerFile,
    section: &str,
    macros: &HashMap<String, String>,
    before: bool,
) -> Option<Option<Pattern>> {
    let (list, side) = if before { (&triggers.before, "before") } else { (&triggers.after, "after") };
    pattern_list(report, list, &format!("{section}.{side}"), macros)
}

/// One pattern from a list of patterns; `Some(None)` for an empty list, `None` on a problem.
fn pattern_list(
    report: &mut FileReport<'_>,
    list: &[Text],
    field: &str,
    macros: &HashMap<String, String>,
) -> Option<Option<Pattern>> {
    let prepared: Vec<String> = list
        .iter()
        .enumerate()
        .filter_map(|(i, t)| checked_pattern(report, t, &format!("{field}[{i}]"), macros))
        .collect();
    if prepared.len() < list.len() {
        return None;
    }
    if prepared.is_empty() {
        return Some(None);
    }
    let joined = alternation(prepared.iter().map(String::as_str));
    build_pattern(report, &list.first().cloned(), field, &joined).map(Some)
}

/// Compiles one prepared pattern; a problem is reported at `at` (or at the top of the file).
fn build_pattern(report: &mut FileReport<'_>, at: &Option<Text>, field: &str, pattern: &str) -> Option<Pattern> {
    match Pattern::new(pattern, PATTERN_SIZE_LIMIT) {
        Ok(compiled) => Some(compiled),
        Err(e) => {
            let reason = format!("does not compile: {}", one_line(&e));
            match at {
                Some(text) => report.at(text, field, reason),
                None => report.top(field, reason),
            }
            None
        }
    }
}

/// Expands macros and checks the syntax of one pattern; returns it prepared for compiling.
fn checked_pattern(
    report: &mut FileReport<'_>,
    text: &Text,
    field: &str,
    macros: &HashMap<String, String>,
) -> Option<String> {
    let raw = text.get_ref();
    if raw.trim().is_empty() {
        report.at(text, field, "empty pattern");
        return None;
    }
    let expanded = match expand_macros(raw, macros) {
        Ok(expanded) => expanded,
        Err(unknown) => {
            report.at(text, field, format!("unknown macro `{{{unknown}}}`"));
            return None;
        }
    };
    let prepared = prepare_pattern(&expanded);
    match pattern_parser().parse(&prepared) {
        Err(e) => {
            report.at(text, field, format!("bad regex {raw:?}: {}", one_line(&e.to_string())));
            return None;
        }
        // The word boundaries around a pattern match empty text only when it can be empty.
        Ok(hir) if hir.properties().minimum_len() == Some(0) => {
            report.at(text, field, format!("pattern {raw:?} can match empty text"));
            return None;
        }
        Ok(_) => {}
    }
    Some(prepared)
}

fn one_line(text: &str) -> String {
    text.lines().map(str::trim).filter(|l| !l.is_empty()).collect::<Vec<_>>().join(" ")
}

/// Replaces `{name}` with the macro's text; a name made of letters, digits and `_` that is not a
/// macro is an error (regex repetitions like `{2,3}` are left alone).
fn expand_macros(pattern: &str, macros: &HashMap<String, String>) -> Result<String, String> {
    let mut out = String::with_capacity(pattern.len());
    let mut rest = pattern;
    while let Some(open) = rest.find('{') {
        out.push_str(&rest[..open]);
        let after = &rest[open + 1..];
        let close = after.find('}');
        let name = close.map(|c| &after[..c]);
        match name {
            Some(name) if name.starts_with(|c: char| c.is_ascii_alphabetic()) => {
                if !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
                    return Err(name.to_string());
                }
                let value = macros.get(name).ok_or_else(|| name.to_string())?;
                out.push_str(&format!("(?:{value})"));
                rest = &after[name.len() + 1..];
            }
            _ => {
                out.push('{');
                rest = after;
            }
        }
    }
    out.push_str(rest);
    Ok(out)
}

fn report_toml_error(report: &mut FileReport<'_>, error: &toml::de::Error) {
    let line = error.span().map(|s| report.lines.line_of(s.start)).unwrap_or(1);
    let message = one_line(error.message());
    let problem = Problem::new(report.path, line, "toml", message);
    report.problems.push(problem);
}

/// An intent compiled from one file, with what is needed to check it against the others.
struct Draft {
    intent: Intent,
    /// The intent's patterns as one prepared pattern, for the intent set.
    pattern: String,
    path: String,
    id_line: usize,
    references: Vec<Reference>,
}

/// A field that names another intent, checked once every file is read.
struct Reference {
    line: usize,
    field: String,
    target: String,
}

fn parse_disposition(report: &mut FileReport<'_>, text: &Text, field: &str) -> Option<Disposition> {
    match text.get_ref().parse::<Disposition>() {
        Ok(d) => Some(d),
        Err(e) => {
            report.at(text, field, e.to_string());
            None
        }
    }
}

fn compile_intent(file: &SourceFile, macros: &HashMap<String, String>, problems: &mut Vec<Problem>) -> Option<Draft> {
    let mut report = FileReport { path: &file.path, lines: LineIndex::new(&file.contents), problems };
    let raw: IntentFile = match toml::from_str(&file.contents) {
        Ok(raw) => raw,
        Err(e) => {
            report_toml_error(&mut report, &e);
            return None;
        }
    };
    let before = report.problems.len();
    let mut references = Vec::new();

    let id = raw.id.get_ref().clone();
    if id.is_empty() || !id.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_') {
        report.at(&raw.id, "id", "must be lower-case letters, digits and `_`");
    }
    if raw.title.get_ref().trim().is_empty() {
        report.at(&raw.title, "title", "must not be empty");
    }
    let group = Group::parse(raw.group.get_ref());
    if group.is_none() {
        report.at(
            &raw.group,
            "group",
            format!(
                "unknown group `{}` (expected acute, hours_days, long_term, red_flag, question or control)",
                raw.group.get_ref()
            ),
        );
    }
    let disposition = parse_disposition(&mut report, &raw.disposition, "disposition");
    if raw.red_flag && raw.confirm.as_ref().is_none_or(|c| c.get_ref().trim().is_empty()) {
        report.at(&raw.id, "confirm", "a red flag needs a confirming question");
    }
    if raw.red_flag != (group == Some(Group::RedFlag)) {
        report.at(&raw.group, "red_flag", "`red_flag = true` goes with `group = \"red_flag\"`, and only with it");
    }
    match &raw.advice {
        Some(advice) if !advice.get_ref().trim().is_empty() => {}
        Some(advice) => report.at(advice, "advice", "must not be empty"),
        None => report.at(&raw.id, "advice", "missing advice"),
    }

    let mut prepared = Vec::new();
    if raw.patterns.is_empty() {
        report.at(&raw.id, "patterns", "an intent needs at least one pattern");
    }
    for (i, pattern) in raw.patterns.iter().enumerate() {
        if let Some(p) = checked_pattern(&mut report, pattern, &format!("patterns[{i}]"), macros) {
            prepared.push(p);
        }
    }

    let mut raises = Vec::new();
    for (i, raise) in raw.raise.iter().enumerate() {
        let field = format!("raise[{i}]");
        let to = parse_disposition(&mut report, &raise.to, &format!("{field}.to"));
        if raise.when.is_empty() && !raise.with_high_reading {
            report.at(&raise.to, format!("{field}.when"), "needs at least one pattern");
        }
        let mut when = Vec::new();
        for (j, pattern) in raise.when.iter().enumerate() {
            let field = format!("{field}.when[{j}]");
            if let Some(p) = checked_pattern(&mut report, pattern, &field, macros) {
                if let Some(compiled) = build_pattern(&mut report, &Some(pattern.clone()), &field, &p) {
                    when.push(compiled);
                }
            }
        }
        if let (Some(to), true) = (to, when.len() == raise.when.len()) {
            raises.push(Raise {
                when,
                to,
                reason: raise.reason.get_ref().clone(),
                with_high_reading: raise.with_high_reading,
            });
        }
    }

    let mut lasting = Vec::new();
    for (i, rule) in raw.lasting.iter().enumerate() {
        let field = format!("lasting[{i}]");
        let after = match humantime::parse_duration(rule.after.get_ref()) {
            Ok(d) => Some(d),
            Err(e) => {
                report.at(&rule.after, format!("{field}.after"), format!("not a duration like \"4h\" or \"2d\": {e}"));
                None
            }
        };
        let keys = (("to", &rule.to), ("becomes", &rule.becomes));
        let outcome =
            raise_or_intent(&mut report, &mut references, &rule.after, &field, keys).map(|choice| match choice {
                Choice::Raise(to) => LastingOutcome::Raise(to),
                Choice::Intent(target) => LastingOutcome::Becomes(target),
            });
        if let (Some(after), Some(outcome)) = (after, outcome) {
            lasting.push(Lasting { after, outcome, reason: rule.reason.get_ref().clone() });
        }
    }

    let readings = raw.readings.as_ref().and_then(|r| {
        let to = parse_disposition(&mut report, &r.to, "readings.to")?;
        Some(ReadingThresholds {
            systolic_at_least: *r.systolic_at_least.get_ref(),
            diastolic_at_least: *r.diastolic_at_least.get_ref(),
            pulse_at_least: *r.pulse_at_least.get_ref(),
            to,
        })
    });
    if raw.raise.iter().any(|r| r.with_high_reading) && readings.is_none() {
        report.at(&raw.id, "readings", "a raise rule `with_high_reading` needs a `[readings]` table");
    }

    let mut screen = Vec::new();
    let mut screen_ids = HashSet::new();
    for (i, question) in raw.screen.iter().enumerate() {
        let field = format!("screen[{i}]");
        let qid = question.id.get_ref();
        if !screen_ids.insert(qid.clone()) {
            report.at(&question.id, format!("{field}.id"), format!("duplicate question id `{qid}`"));
        }
        if question.ask.get_ref().trim().is_empty() {
            report.at(&question.ask, format!("{field}.ask"), "must not be empty");
        }
        let keys = (("yes", &question.yes), ("yes_intent", &question.yes_intent));
        let on_yes =
            raise_or_intent(&mut report, &mut references, &question.id, &field, keys).map(|choice| match choice {
                Choice::Raise(to) => ScreenOutcome::Raise(to),
                Choice::Intent(target) => ScreenOutcome::Intent(target),
            });
        if let Some(on_yes) = on_yes {
            screen.push(ScreenQuestion { id: qid.clone(), ask: question.ask.get_ref().clone(), on_yes });
        }
    }

    if raw.examples.len() < MIN_EXAMPLES {
        report.at(&raw.id, "examples", format!("has {}, needs at least {MIN_EXAMPLES}", raw.examples.len()));
    }
    if raw.counter_examples.len() < MIN_COUNTER_EXAMPLES {
        report.at(
            &raw.id,
            "counter_examples",
            format!("has {}, needs at least {MIN_COUNTER_EXAMPLES}", raw.counter_examples.len()),
        );
    }

    let exclude = pattern_list(&mut report, &raw.exclude, "exclude", macros);
    let joined = alternation(prepared.iter().map(String::as_str));
    let pattern = build_pattern(&mut report, &raw.patterns.first().cloned(), "patterns", &joined);
    let id_line = report.line(&raw.id);
    if report.problems.len() > before {
        return None;
    }
    let (group, disposition, pattern, exclude) = (group?, disposition?, pattern?, exclude?);
    let intent = Intent {
        id,
        title: raw.title.get_ref().clone(),
        group,
        disposition,
        red_flag: raw.red_flag,
        confirm: raw.confirm.map(|c| c.into_inner()),
        raises,
        lasting,
        readings,
        screen,
        ask_severity: raw.ask_severity,
        advice: raw.advice.map(|a| a.into_inner()).unwrap_or_default(),
        examples: raw.examples.iter().map(|e| e.get_ref().clone()).collect(),
        counter_examples: raw.counter_examples.iter().map(|e| e.get_ref().clone()).collect(),
        pattern,
        exclude,
        origin: Origin {
            path: file.path.clone(),
            example_lines: raw.examples.iter().map(|e| report.line(e)).collect(),
            counter_example_lines: raw.counter_examples.iter().map(|e| report.line(e)).collect(),
        },
    };
    Some(Draft { intent, pattern: joined, path: file.path.clone(), id_line, references })
}

/// A key's name and its value in the file, if set.
type KeyValue<'a> = (&'a str, &'a Option<Text>);

/// Either a disposition to raise to, or another intent to hand over to.
enum Choice {
    Raise(Disposition),
    Intent(String),
}

/// Reads a pair of keys of which exactly one must be set: a disposition (`raise`) or an intent
/// id (`intent`, checked once every file is read). Problems are reported at `anchor`.
fn raise_or_intent(
    report: &mut FileReport<'_>,
    references: &mut Vec<Reference>,
    anchor: &Text,
    field: &str,
    ((raise_key, raise), (intent_key, intent)): (KeyValue<'_>, KeyValue<'_>),
) -> Option<Choice> {
    match (raise, intent) {
        (Some(to), None) => parse_disposition(report, to, &format!("{field}.{raise_key}")).map(Choice::Raise),
        (None, Some(target)) => {
            references.push(Reference {
                line: report.line(target),
                field: format!("{field}.{intent_key}"),
                target: target.get_ref().clone(),
            });
            Some(Choice::Intent(target.get_ref().clone()))
        }
        _ => {
            report.at(anchor, field, format!("needs exactly one of `{raise_key}` and `{intent_key}`"));
            None
        }
    }
}

/// Duplicate ids, references to unknown intents, and intents the engine needs but lacks.
fn check_ids(drafts: &[Draft], problems: &mut Vec<Problem>) {
    let mut seen: HashMap<&str, &str> = HashMap::new();
    for draft in drafts {
        let stem = draft.path.rsplit(['/', '\\']).next().unwrap_or("").trim_end_matches(".toml");
        if stem != draft.intent.id {
            problems.push(Problem::new(
                &draft.path,
                draft.id_line,
                "id",
                format!("`{}` differs from the file name `{stem}.toml`", draft.intent.id),
            ));
        }
        if let Some(first) = seen.insert(&draft.intent.id, &draft.path) {
            problems.push(Problem::new(
                &draft.path,
                draft.id_line,
                "id",
                format!("duplicate id `{}` (also in {first})", draft.intent.id),
            ));
        }
    }
    for draft in drafts {
        for reference in &draft.references {
            if !seen.contains_key(reference.target.as_str()) {
                problems.push(Problem::new(
                    &draft.path,
                    reference.line,
                    &reference.field,
                    format!("unknown intent `{}`", reference.target),
                ));
            }
        }
    }
    for required in REQUIRED_INTENTS {
        if !seen.contains_key(required) {
            problems.push(Problem::new(
                &format!("intents/{required}.toml"),
                1,
                "id",
                format!("the intent `{required}` is required by the engine and missing"),
            ));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn macros_expand_and_repetitions_survive() {
        let macros = HashMap::from([("gap".to_string(), r"\w+ ".to_string())]);
        assert_eq!(expand_macros("a {gap}{0,2}b", &macros).unwrap(), r"a (?:\w+ ){0,2}b");
        assert_eq!(expand_macros("x{2,3}", &macros).unwrap(), "x{2,3}");
        assert_eq!(expand_macros("{nope}", &macros), Err("nope".to_string()));
    }
}
