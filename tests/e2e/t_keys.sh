# sluice keys: the API keys of `sluice serve`, in the state store (SQLite
# and PostgreSQL): shown once, stored as a hash and found nowhere else,
# listed, revoked; usage and store errors.

KEY_RE='^slk_[a-z2-7]{12}_[a-z2-7]{32}$'

# new_key NAME SCOPE...: creates a key (it must work) and sets KEY to the
# printed key, ID to its id, SECRET to its secret part.
new_key() {
    _name=$1
    shift
    _n=$#
    for _s in "$@"; do
        set -- "$@" --scope "$_s"
    done
    shift "$_n"
    sl keys create --name "$_name" "$@" $STATE_ARGS
    assert_rc 0
    KEY=$(cat "$T/out.txt")
    ID=$(printf %s "$KEY" | cut -c5-16)
    SECRET=$(printf %s "$KEY" | cut -c18-)
}

sha256() {
    printf %s "$1" | sha256sum | cut -d' ' -f1
}

# The secret appears in no file under DIR (binary files too).
assert_not_in_files() { # DIR TEXT
    _hits=$(grep -rlaF -- "$2" "$1" || true)
    assert_eq "" "$_hits" "files holding the key"
}

test_keys_create_shows_the_key_once_and_stores_only_its_hash() {
    sl keys create --name ingest --scope "route:*" --scope read
    assert_rc 0
    # stdout is the key, one line; stderr one line that says so
    assert_eq 1 "$(wc -l < out.txt | tr -d ' ')" "lines on stdout"
    key=$(cat out.txt)
    printf '%s\n' "$key" | grep -Eq "$KEY_RE" || fail "not a key: '$key'"
    assert_eq 1 "$(wc -l < err.txt | tr -d ' ')" "lines on stderr"
    assert_contains err.txt "will not be shown again"
    id=$(printf %s "$key" | cut -c5-16)
    secret=$(printf %s "$key" | cut -c18-)
    assert_contains err.txt "created API key $id ('ingest', scopes: route:* read)"
    assert_not_contains err.txt "$secret"
    # the row: id, name, scopes, the SHA-256 of the key text, times
    assert_eq "$id|ingest|route:* read|$(sha256 "$key")" \
        "$(q .sluice/state.db 'SELECT id, name, scopes, hash FROM api_keys')"
    assert_eq "1|1|1" "$(q .sluice/state.db "SELECT created_us > 1700000000000000,
        revoked_us IS NULL, last_used_us IS NULL FROM api_keys")"
    # the key is nowhere in the store: not in its dump, not in any file
    assert_eq 0 "$(sqlite3 .sluice/state.db .dump | grep -c "$secret")" "dump lines with the key"
    assert_eq 1 "$(sqlite3 .sluice/state.db .dump | grep -c "$id")" "dump lines with the id"
    assert_not_in_files .sluice "$secret"
    # another key is another key; debug and JSON logs never show either
    sl keys create --name ops --scope admin --log-level debug --log-format json
    assert_rc 0
    key2=$(cat out.txt)
    printf '%s\n' "$key2" | grep -Eq "$KEY_RE" || fail "not a key: '$key2'"
    [ "$key2" != "$key" ] || fail "the same key twice"
    assert_not_contains err.txt "$(printf %s "$key2" | cut -c18-)"
    assert_eq 2 "$(q .sluice/state.db 'SELECT count(DISTINCT hash) FROM api_keys')"
    assert_not_in_files .sluice "$(printf %s "$key2" | cut -c18-)"
    # scopes given several to an option and repeated are stored once each
    sl keys create --name both --scope "write route:/fetch*" --scope write --scope read
    assert_rc 0
    assert_eq "write route:/fetch* read" \
        "$(q .sluice/state.db "SELECT scopes FROM api_keys WHERE name = 'both'")"
}

test_keys_list_and_revoke() {
    new_key ingest "route:*" read
    k1=$KEY id1=$ID s1=$SECRET
    new_key ops admin
    id2=$ID
    sl keys list
    assert_rc 0
    assert_eq 3 "$(wc -l < out.txt | tr -d ' ')" "lines listed"
    head -n 1 out.txt | grep -Eq '^id +name +created +last used +revoked +scopes$' ||
        fail "header: $(head -n 1 out.txt)"
    # id, name, created, last used (never), revoked (not), scopes
    ts='[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}Z'
    grep -Eq "^$id1 +ingest +$ts +- +- +route:\* read$" out.txt || fail "row: $(cat out.txt)"
    grep -Eq "^$id2 +ops +$ts +- +- +admin$" out.txt || fail "row: $(cat out.txt)"
    # never the hash, never the key
    assert_not_contains out.txt "$(sha256 "$k1")"
    assert_not_contains out.txt "$s1"

    # by name
    sl keys revoke ingest
    assert_rc 0
    assert_contains out.txt "revoked API key $id1 ('ingest')"
    assert_eq 1 "$(q .sluice/state.db "SELECT revoked_us > created_us - 1 FROM api_keys
        WHERE id = '$id1'")"
    sl keys list
    grep -Eq "^$id1 +ingest +$ts +- +$ts +route:\* read$" out.txt || fail "row: $(cat out.txt)"
    grep -Eq "^$id2 +ops +$ts +- +- +admin$" out.txt || fail "row: $(cat out.txt)"
    # again: kept as it was
    first=$(q .sluice/state.db "SELECT revoked_us FROM api_keys WHERE id = '$id1'")
    sl keys revoke "$id1"
    assert_rc 0
    assert_contains out.txt "API key $id1 ('ingest') was already revoked at"
    assert_eq "$first" "$(q .sluice/state.db "SELECT revoked_us FROM api_keys WHERE id = '$id1'")"
    # by id
    sl keys revoke "$id2"
    assert_rc 0
    assert_contains out.txt "revoked API key $id2 ('ops')"
    # by the key itself, which is never echoed
    new_key ci read
    sl keys revoke "$KEY"
    assert_rc 0
    assert_contains out.txt "revoked API key $ID ('ci')"
    assert_not_contains out.txt "$SECRET"
    assert_not_contains err.txt "$SECRET"
    assert_eq 0 "$(q .sluice/state.db 'SELECT count(*) FROM api_keys WHERE revoked_us IS NULL')"
    # unknown keys, none, a broken key (not echoed either)
    sl keys revoke nobody
    assert_rc 2
    assert_contains err.txt "no API key with id or name 'nobody'"
    sl keys revoke
    assert_rc 2
    assert_contains err.txt "keys revoke needs a key's id or name"
    sl keys revoke slk_brokenkeytext
    assert_rc 2
    assert_contains err.txt "starts like a key but is not one"
    assert_not_contains err.txt "brokenkeytext"
}

test_keys_duplicate_name() {
    new_key ingest read
    sl keys create --name ingest --scope admin
    assert_rc 2
    assert_contains err.txt "an API key named 'ingest' already exists"
    assert_eq "" "$(cat out.txt)" "stdout"
    assert_eq "ingest|read" "$(q .sluice/state.db 'SELECT name, scopes FROM api_keys')"
    # a revoked key's name is not reused either
    sl keys revoke ingest
    sl keys create --name ingest --scope read
    assert_rc 2
    assert_contains err.txt "names are never reused"
    assert_eq 1 "$(q .sluice/state.db 'SELECT count(*) FROM api_keys')"
}

test_keys_usage_errors() {
    sl keys create --name x --scope read --scope delete
    assert_rc 2
    assert_contains err.txt "unknown scope 'delete' (scopes: read, write, admin, route:GLOB"
    sl keys create --name x --scope route:
    assert_rc 2
    assert_contains err.txt "scope 'route:': a route scope is route: and a path glob"
    sl keys create --name x --scope route:fetch
    assert_rc 2
    assert_contains err.txt "scope 'route:fetch'"
    sl keys create --scope read
    assert_rc 2
    assert_contains err.txt "keys create needs --name NAME"
    sl keys create --name x
    assert_rc 2
    assert_contains err.txt "keys create needs at least one --scope"
    sl keys create --name x --scope " "
    assert_rc 2
    assert_contains err.txt "needs at least one scope"
    sl keys create --name "a b" --scope read
    assert_rc 2
    assert_contains err.txt "API key name 'a b' is not valid"
    sl keys create ingest --scope read
    assert_rc 2
    assert_contains err.txt "keys create takes its name as an option: --name ingest"
    sl keys create --name x --scope
    assert_rc 2
    assert_contains err.txt "option --scope needs a value"
    sl keys rotate
    assert_rc 2
    assert_contains err.txt "unknown keys subcommand 'rotate' (create, list, revoke)"
    sl keys
    assert_rc 2
    assert_contains err.txt "keys needs a subcommand"
    # nothing was made: the store is opened only once the arguments are right
    [ ! -e .sluice ] || fail "a state store was created: $(ls -R .sluice)"
    sl help
    assert_contains out.txt "keys create --name NAME --scope S [--scope S]..."
    assert_contains out.txt "keys revoke ID|NAME"
}

test_keys_store_errors() {
    touch notadir
    sl keys create --name x --scope read --state notadir/state.db
    assert_rc 1
    assert_contains err.txt "state store notadir/state.db"
    assert_eq "" "$(cat out.txt)" "stdout"
    sl keys list --state notadir/state.db
    assert_rc 1
    assert_contains err.txt "state store notadir/state.db"
    sl keys revoke x --state notadir/state.db
    assert_rc 1
    assert_contains err.txt "state store notadir/state.db"
    # a store newer than this sluice: refused, nothing shown
    mkdir new
    sqlite3 new/state.db "PRAGMA user_version = 99"
    sl keys create --name x --scope read --state new/state.db
    assert_rc 1
    assert_contains err.txt "schema version 99 is newer than this sluice supports"
    assert_eq "" "$(cat out.txt)" "stdout"
}

test_keys_on_postgresql() {
    pg_start
    STATE_ARGS="--state $PG_URL"
    new_key ingest "route:/fetch*" read
    printf '%s\n' "$KEY" | grep -Eq "$KEY_RE" || fail "not a key: '$KEY'"
    assert_eq "$ID|ingest|route:/fetch* read|$(sha256 "$KEY")" \
        "$(psql_q 'SELECT id, name, scopes, hash FROM sluice_api_keys')"
    assert_eq 0 "$(pg_dump --data-only "$PG_URL" | grep -c "$SECRET")" "dump lines with the key"
    assert_eq 1 "$(pg_dump --data-only "$PG_URL" | grep -c "$ID")" "dump lines with the id"
    id1=$ID
    new_key ops admin
    sl keys list --state "$PG_URL"
    assert_rc 0
    grep -Eq "^$id1 +ingest .* route:/fetch\* read$" out.txt || fail "row: $(cat out.txt)"
    grep -Eq "^$ID +ops .* admin$" out.txt || fail "row: $(cat out.txt)"
    sl keys create --name ingest --scope read --state "$PG_URL"
    assert_rc 2
    assert_contains err.txt "an API key named 'ingest' already exists"
    sl keys revoke ingest --state "$PG_URL"
    assert_rc 0
    assert_contains out.txt "revoked API key $id1 ('ingest')"
    assert_eq "ingest|t
ops|f" "$(psql_q 'SELECT name, revoked_us IS NOT NULL FROM sluice_api_keys ORDER BY name')"
    sl keys revoke nobody --state "$PG_URL"
    assert_rc 2
    assert_contains err.txt "no API key with id or name 'nobody'"
    # nothing local: the keys live in the database
    [ ! -e .sluice ] || fail "a local state store was created"
}
