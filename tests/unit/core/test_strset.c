/* sl_strset_t: membership, duplicates, insertion order, growth. */
#include <stdio.h>
#include <string.h>

#include "sluice/strset.h"
#include "../test.h"

SL_TEST(strset_keeps_order_and_finds_members)
{
    sl_strset_t s = {0};
    CHECK(!sl_strset_has(&s, "a", 1));
    char k[16];
    for (int i = 0; i < 1000; i++) {
        int n = snprintf(k, sizeof k, "key%d", i);
        CHECK_INT(sl_strset_add(&s, k, (size_t)n), 0);
        CHECK_INT(sl_strset_add(&s, k, (size_t)n), 0); /* again: no change */
    }
    CHECK_INT((int)s.n, 1000);
    CHECK_STR(s.items[0], "key0");
    CHECK_STR(s.items[999], "key999");
    CHECK(sl_strset_has(&s, "key500", 6));
    CHECK(!sl_strset_has(&s, "key", 3)); /* a prefix of members */
    CHECK(!sl_strset_has(&s, "key1000", 7));
    /* bytes, not C strings: an embedded NUL counts */
    CHECK_INT(sl_strset_add(&s, "x\0y", 3), 0);
    CHECK(sl_strset_has(&s, "x\0y", 3));
    CHECK(!sl_strset_has(&s, "x", 1));
    CHECK_INT((int)s.lens[1000], 3);
    sl_strset_free(&s);
    CHECK_INT((int)s.n, 0);
    CHECK(!sl_strset_has(&s, "key1", 4));
}
