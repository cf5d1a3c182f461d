#!/usr/bin/env bash
# The one test command (npm test, and .ci/run). Node 20's `tsx --test` finds no files on its own and
# exits 0 when given none, so the files are listed here, a guard checks that every *.test.ts is
# listed, and the run fails when the runner reports zero tests.
set -euo pipefail
cd "$(dirname "$0")/.."

# Real servers, never mocks: Dovecot for IMAP and Chromium for the browser tests come from Debian.
need=()
[[ -x /usr/sbin/dovecot && -x /usr/lib/dovecot/imap ]] || need+=(dovecot-imapd)
[[ -x /usr/bin/chromium ]] || need+=(chromium)
command -v openssl >/dev/null || need+=(openssl)
if (( ${#need[@]} )); then
  if [[ $(id -u) -eq 0 ]] && command -v apt-get >/dev/null; then
    echo "== installing ${need[*]} (apt)"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
  else
    echo "test/run.sh: missing ${need[*]}. Install them with:" >&2
    echo "  sudo apt-get install -y --no-install-recommends ${need[*]}" >&2
    exit 1
  fi
fi

FILES=(
  test/unit/config.test.ts
  test/unit/secret-box.test.ts
  test/unit/database.test.ts
  test/unit/detection.test.ts
  test/unit/migration-states.test.ts
  test/unit/migration-service.test.ts
  test/unit/import.test.ts
  test/unit/derived-batch.test.ts
  test/unit/import-stream.test.ts
  test/unit/rotate-key.test.ts
  test/unit/logging.test.ts
  test/unit/mail-errors.test.ts
  test/unit/v3-templates.test.ts
  test/unit/contract-copy.test.ts
  test/unit/maintenance.test.ts
  test/unit/password.test.ts
  test/unit/i18n.test.ts
  test/unit/error-codes.test.ts
  test/unit/layout.test.ts
  test/unit/layers.test.ts
  test/unit/slots.test.ts
  test/unit/views.test.ts
  test/unit/mail-render.test.ts
  test/unit/catalog-strings.test.ts
  test/unit/demo-mail-route.test.ts
  test/unit/account-counts.test.ts
  test/unit/account-list-plans.test.ts
  test/unit/seller-words.test.ts
  test/unit/budget.test.ts
  test/unit/watch-schedule.test.ts
  test/unit/audit-events.test.ts
  test/security/routes.test.ts
  test/security/fuzz.test.ts
  test/security/headers.test.ts
  test/security/staff-findings.test.ts
  test/security/mail-servers.test.ts
  test/security/hardening-3.test.ts
  test/integration/mail-check.test.ts
  test/integration/app-password.test.ts
  test/integration/fair-attempts.test.ts
  test/integration/allegro-client.test.ts
  test/integration/v3-switch.test.ts
  test/integration/staff-jobs.test.ts
  test/integration/staff-jobs-restart.test.ts
  test/integration/resilience.test.ts
  test/integration/app-password-restart.test.ts
  test/integration/google-simulator.test.ts
  test/integration/watch.test.ts
  test/integration/ops.test.ts
  test/integration/watch-restart.test.ts
  test/integration/watch-siblings.test.ts
  test/integration/check-budget.test.ts
  test/integration/one-verdict.test.ts
  test/integration/outbox.test.ts
  test/routes/app.test.ts
  test/routes/seller-auth.test.ts
  test/routes/one-language.test.ts
  test/routes/staff.test.ts
  test/routes/demo-sign-in.test.ts
  test/routes/staff-list-total.test.ts
  test/routes/staff-say.test.ts
  test/routes/staff-figures.test.ts
  test/routes/staff-console.test.ts
  test/cli/cli.test.ts
  test/cli/demo-start.test.ts
  test/cli/backup.test.ts
  test/cli/shutdown.test.ts
  test/cli/import-kill.test.ts
  test/cli/built-start.test.ts
  test/browser/seller-app-password.test.ts
  test/browser/seller-v3.test.ts
  test/browser/seller-stuck.test.ts
  test/browser/seller-last-mile.test.ts
  test/browser/staff-bulk.test.ts
  test/browser/staff-todo.test.ts
  test/browser/staff-say.test.ts
  test/browser/staff-users.test.ts
  test/browser/demo-google.test.ts
  test/browser/staff-console.test.ts
  test/browser/watch.test.ts
)

# Every test file on disk must be in the list above, and every listed file must exist.
mapfile -t on_disk < <(find test -name '*.test.ts' | sort)
mapfile -t listed < <(printf '%s\n' "${FILES[@]}" | sort)
if [[ "${on_disk[*]}" != "${listed[*]}" ]]; then
  echo "test/run.sh: the FILES list and the *.test.ts files on disk differ:" >&2
  diff <(printf '%s\n' "${listed[@]}") <(printf '%s\n' "${on_disk[@]}") >&2 || true
  exit 1
fi

mkdir -p test-output
# What the app logs, renders and exports during the run, and the secrets the tests give it (see
# test/helpers/transcript.ts); scanned after the last test.
rm -rf test-output/transcripts
echo "== typecheck"
npx --no-install tsc --noEmit

echo "== tests (${#FILES[@]} files)"
status=0
npx --no-install tsx --test --test-concurrency=2 \
  --test-reporter=spec --test-reporter-destination=stdout \
  --test-reporter=tap --test-reporter-destination=test-output/results.tap \
  "${FILES[@]}" || status=$?

tests=$(grep -E '^# tests [0-9]+' test-output/results.tap | awk '{print $3}' | tail -n 1)
passed=$(grep -E '^# pass [0-9]+' test-output/results.tap | awk '{print $3}' | tail -n 1)
if [[ -z "${tests}" || "${tests}" -eq 0 || -z "${passed}" || "${passed}" -eq 0 ]]; then
  echo "test/run.sh: no test ran (tests=${tests:-none}); failing" >&2
  exit 1
fi
# Node 20 reports a file that defines no test as one top-level "test" named by its path.
if empty=$(grep -E '^(ok|not ok) [0-9]+ - .*\.test\.ts$' test-output/results.tap); then
  echo "test/run.sh: these files ran no test of their own:" >&2
  echo "${empty}" >&2
  exit 1
fi
echo "== secrets in logs, pages and exports"
npx --no-install tsx test/secret-scan.ts || status=1
exit "${status}"
