# The first make on a machine without the libraries.

test_build_names_missing_packages() {
    RC=0
    PKG_CONFIG_LIBDIR=/nonexistent PKG_CONFIG_PATH= make -C "$ROOT" -n all > out.txt 2> err.txt || RC=$?
    assert_rc 2
    assert_eq 1 "$(wc -l < err.txt | tr -d ' ')" "lines of make's error"
    assert_contains err.txt "missing packages: libyaml-dev libsqlite3-dev zlib1g-dev libssl-dev libxxhash-dev libsnappy-dev libzstd-dev libcurl4-openssl-dev libpq-dev libmicrohttpd-dev; run \"make deps\" to install them"
    # the goals that install them first do not stop
    RC=0
    PKG_CONFIG_LIBDIR=/nonexistent PKG_CONFIG_PATH= make -C "$ROOT" -n deps > out.txt 2> err.txt || RC=$?
    assert_rc 0
}
