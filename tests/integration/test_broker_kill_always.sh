# SIGKILL the broker mid-run with --fsync always and restart it on the
# same journal and endpoints: of 3000 jobs (1500 in a sanitizer build) sent
# by four submitters at once, every one acknowledged comes to exactly one
# final state (succeeded) and none is lost; a result from before the kill
# is still answerable and ids stay unique across the restart.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/audit.sh"
source "$(dirname "$0")/broker_faults.sh"

jobs=${ZJOB_KILL_JOBS:-3000}
[ "${ZJOB_SANITIZE_BUILD:-0}" != 1 ] || jobs=${ZJOB_KILL_JOBS:-1500}
kill_scenario always "$jobs"
pass "$KILL_FIGURES"
