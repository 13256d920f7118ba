#!/usr/bin/env bash
# input_config_files.sh RINGBENCH: files given where a config file is read (--config, a preset, the
# defaults of quick) that are not small regular INI files, or that hold what is not key = value
# lines, are refused at once: exit 2 and one message naming the key, the file (FILE:LINE for a
# line) and what is allowed. Nothing may hang on a FIFO or fill memory from /dev/zero.
set -uo pipefail
ringbench=$1
dir=$(mktemp -d); trap 'rm -rf "$dir"' EXIT
failed=0

# refused NAME REGEX -- ARGS...: exit code 2 within 20 s, one error line, and it matches REGEX.
refused() {
  local name=$1 regex=$2; shift 3
  local out rc
  # the memory bound makes a build that reads /dev/zero fail quickly instead of filling the machine
  out=$(ulimit -v 4000000; timeout 20 "$@" 2>&1); rc=$?
  local errors; errors=$(grep -c 'error: ' <<<"$out")
  if [ "$rc" != 2 ] || [ "$errors" != 1 ] || ! grep -qE -- "$regex" <<<"$out"; then
    echo "FAILED $name: exit $rc (124 = hung), $errors error line(s), wanted exit 2 and one line matching '$regex':"
    echo "$out" | head -5
    failed=1
  else
    echo "ok $name: $(grep 'error: ' <<<"$out" | cut -c1-160)"
  fi
}
run=("$ringbench" run --device cpu --output none)

mkfifo "$dir/fifo.ini"
mkdir "$dir/folder.ini"
{ for _ in $(seq 20000); do echo "# a comment line that is sixty bytes long, padding padding"; done; } >"$dir/big.ini"
printf 'heads = 2\nconfig = other.ini\n' >"$dir/nested.ini"
printf 'heads = 4\nmask = causal\nheads = 8\n' >"$dir/twice.ini"
{ printf 'heads = 2\n\x7fELF\x02\x01\x01\x00'; head -c 300 /dev/zero | tr '\0' '\377'; printf '\n'; } >"$dir/binary.ini"
printf 'heads = 2\njust some words\n' >"$dir/words.ini"

refused fifo "invalid value for 'config': '$dir/fifo.ini' \(allowed: a regular INI file of at most 1 MiB \(this is a FIFO\)\)" -- \
  "${run[@]}" --config "$dir/fifo.ini"
refused dev_zero "invalid value for 'config': '/dev/zero' \(allowed: a regular INI file of at most 1 MiB \(this is a character device\)\)" -- \
  "${run[@]}" --config /dev/zero
refused folder "invalid value for 'config': '$dir/folder.ini' \(allowed: a regular INI file .*\(this is a directory\)\)" -- \
  "${run[@]}" --config "$dir/folder.ini"
refused too_big "invalid value for 'config': '$dir/big.ini' \(allowed: a regular INI file of at most 1 MiB \(this one is larger\)\)" -- \
  "${run[@]}" --config "$dir/big.ini"
refused nested "invalid value for 'config': 'other.ini' \(allowed: .*cannot be nested \($dir/nested.ini:2 names one\)\)" -- \
  "${run[@]}" --config "$dir/nested.ini"
refused twice_in_file "invalid value for 'heads': '4 \($dir/twice.ini:1\) and 8 \($dir/twice.ini:3\)' \(allowed: one occurrence; lists are written as one value: heads = 4 8\)" -- \
  "${run[@]}" --config "$dir/twice.ini"
refused binary_line "invalid value for 'config': '$dir/binary.ini:2' \(allowed: key = value lines; this one reads \"\\\\x7fELF\\\\x02\\\\x01\\\\x01\\\\x00.{0,80}\.\.\.\"\)$" -- \
  "${run[@]}" --config "$dir/binary.ini"
refused words_line "invalid value for 'config': '$dir/words.ini:2' \(allowed: key = value lines; this one reads \"just some words\"\)" -- \
  "${run[@]}" --config "$dir/words.ini"
# the same rule for presets and the defaults files of configs/ (RINGBENCH_CONFIG_DIR)
mkdir "$dir/configs"; mkfifo "$dir/configs/context.ini"; mkdir "$dir/configs/quick.ini"
refused preset_fifo "invalid value for 'preset': '$dir/configs/context.ini' \(allowed: a regular INI file .*\(this is a FIFO\)\)" -- \
  env RINGBENCH_CONFIG_DIR="$dir/configs" "${run[@]}" --preset context
refused quick_defaults "invalid value for 'config': '$dir/configs/quick.ini' \(allowed: a regular INI file .*\(this is a directory\)\)" -- \
  env RINGBENCH_CONFIG_DIR="$dir/configs" "$ringbench" quick --device cpu --output none

# no message may carry raw control bytes (the binary line is escaped)
out=$(timeout 20 "${run[@]}" --config "$dir/binary.ini" 2>&1)
if LC_ALL=C grep -q '[[:cntrl:]]' <<<"$out"; then echo "FAILED binary_escaped: raw control bytes in: $out"; failed=1; fi

[ "$failed" = 0 ] && echo "input_config_files: ok"
exit "$failed"
