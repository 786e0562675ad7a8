#!/usr/bin/env bash
# Fills fuzz/corpus/<target>/ with starting inputs taken from the repository: the labelled
# messages, the intent files, the documented config, and typical answers. Safe to run again
# (existing corpus files are kept). Usage, from the repository root: bash fuzz/seed.sh
set -euo pipefail
cd "$(dirname "$0")/.."
corpus=fuzz/corpus
mkdir -p "$corpus"/{fuzz_classify,fuzz_answers,fuzz_config,fuzz_intent_file,fuzz_dialogue}

# fuzz_classify: byte 0 is the hours since treatment (0: unknown), the rest the message.
n=0
for file in tests/data/dev.jsonl tests/data/holdout.jsonl; do
  sed -n 's/.*"text": *"\([^"\\]*\)".*/\1/p' "$file" | while IFS= read -r text; do
    n=$((n + 1))
    { printf "\\x$(printf %02x $((n % 50)))"; printf '%s' "$text"; } > "$corpus/fuzz_classify/seed-$(basename "$file" .jsonl)-$n"
  done
done

# fuzz_answers: byte 0 picks the time zone, bytes 1-4 the clock (little-endian seconds after
# 1990-01-01), the rest is the answer.
i=0
while IFS= read -r answer; do
  i=$((i + 1))
  { printf "\\x$(printf %02x $((i % 10)))\\x00\\x5e\\x3a\\x5b"; printf '%s' "$answer"; } > "$corpus/fuzz_answers/seed-$i"
done <<'ANSWERS'
yes
nope, not really
I'm not sure
7
about a 4/10
really bad
getting worse
about the same
IV infusion
the nasal spray
2 hours ago
half an hour ago
this morning
yesterday at 3pm
at 14:30
at 11pm
just now
day before yesterday
I had my infusion today at 2pm
back from my session an hour ago
bp 182 over 121, pulse 128
watch says 138 bpm
5 hours since the infusion, day 3
since mondays session and its friday now
infusion at 10am, its now about 3pm
fine thanks
ANSWERS

# fuzz_config: the documented file, its example roster switched on, and a webhook set-up.
cp config/aftercare.toml "$corpus/fuzz_config/seed-documented"
sed -E 's/^# (\[\[roster\.|[a-z_]+ = )/\1/' config/aftercare.toml > "$corpus/fuzz_config/seed-roster"
sed -E 's/^mode = "polling"/mode = "webhook"/; s/^public_url = ""/public_url = "https:\/\/bot.example.org\/telegram"/' \
  config/aftercare.toml > "$corpus/fuzz_config/seed-webhook"

# fuzz_intent_file: every intent file.
for file in intents/*.toml; do
  [ "$(basename "$file")" = _lexicon.toml ] || cp "$file" "$corpus/fuzz_intent_file/seed-$(basename "$file")"
done

# fuzz_dialogue takes structured input (`arbitrary`); it starts from nothing and builds its own.
echo "seeded: $(for t in "$corpus"/*; do printf '%s=%s ' "$(basename "$t")" "$(ls "$t" | wc -l)"; done)"
