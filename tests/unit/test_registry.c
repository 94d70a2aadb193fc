/*
 * test_registry.c — registration (lib/registry.c): id rules, reserved names,
 * duplicates, parents lists, string ownership, and that a rejected
 * registration leaves the registry as it was.
 */
#include "unit_util.h"

/* Registers and returns the status, leaving the reason in w->err. */
static int try_add(world *w, const char *id, const char *parents)
{
    rt_buf_reset(&w->err);
    return rt_registry_add(&w->reg, id, parents, NULL, noop_step, noop_step, NULL, NULL, NULL,
                           &w->err);
}

static void assert_rejected(world *w, const char *id, const char *parents, int code,
                            const char *named)
{
    int before = w->reg.n;
    int rc = try_add(w, id, parents);
    if (rc != code)
        fail_msg("registering \"%s\" (parents \"%s\") returned %d, expected %d; err: %s",
                 id ? id : "(NULL)", parents ? parents : "(NULL)", rc, code,
                 rt_buf_str(&w->err));
    assert_int_equal(w->reg.n, before);
    assert_true(w->err.len > 0);
    if (named)
        assert_contains(rt_buf_str(&w->err), named);
}

static void test_id_of_1_to_128_allowed_characters_is_valid(void **state)
{
    (void)state;
    char id[129];
    memset(id, 'a', 128);
    id[128] = '\0';
    assert_true(rt_id_valid(id, 128));
    assert_true(rt_id_valid("x", 1));
    assert_true(rt_id_valid("AZaz09_.-", 9));
    assert_true(rt_id_valid("20240101_add-users.v2", strlen("20240101_add-users.v2")));
}

static void test_id_validity_ignores_bytes_past_the_given_length(void **state)
{
    (void)state;
    assert_true(rt_id_valid("abc def", 3));
    assert_false(rt_id_valid("abc def", 4));
}

static void test_empty_id_is_rejected(void **state)
{
    world *w = *state;
    assert_false(rt_id_valid("", 0));
    assert_rejected(w, "", NULL, RETORT_EINVAL, NULL);
}

static void test_null_id_is_rejected(void **state)
{
    world *w = *state;
    assert_rejected(w, NULL, NULL, RETORT_EINVAL, NULL);
}

static void test_id_of_129_characters_is_rejected(void **state)
{
    world *w = *state;
    char id[130];
    memset(id, 'b', 129);
    id[129] = '\0';
    assert_false(rt_id_valid(id, 129));
    assert_rejected(w, id, NULL, RETORT_EINVAL, NULL);
    id[128] = '\0';
    assert_int_equal(try_add(w, id, NULL), RETORT_OK);
}

static void test_id_with_a_character_outside_the_set_is_rejected(void **state)
{
    world *w = *state;
    static const char *const bad[] = {"a b", "a/b", "a;b", "a'b", "a\"b", "a,b", "a\tb",
                                      "a\nb", "caf\xc3\xa9", "a+b", "a:b", "a*b", "$1"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        assert_false(rt_id_valid(bad[i], strlen(bad[i])));
        assert_rejected(w, bad[i], NULL, RETORT_EINVAL, NULL);
    }
    assert_int_equal(w->reg.n, 0);
}

static void test_invalid_id_error_quotes_the_id(void **state)
{
    world *w = *state;
    assert_rejected(w, "bad/id", NULL, RETORT_EINVAL, "bad/id");
}

static void test_reserved_target_names_are_rejected_as_ids(void **state)
{
    world *w = *state;
    assert_true(rt_id_reserved("base", 4));
    assert_true(rt_id_reserved("head", 4));
    assert_true(rt_id_reserved("heads", 5));
    assert_false(rt_id_reserved("header", 6));
    assert_false(rt_id_reserved("bas", 3));
    assert_rejected(w, "base", NULL, RETORT_EINVAL, "base");
    assert_rejected(w, "head", NULL, RETORT_EINVAL, "head");
    assert_rejected(w, "heads", NULL, RETORT_EINVAL, "heads");
    /* Names that merely start like them are ordinary ids. */
    assert_int_equal(try_add(w, "headers", NULL), RETORT_OK);
    assert_int_equal(try_add(w, "baseline", NULL), RETORT_OK);
}

static void test_duplicate_id_is_eexist_and_keeps_the_first(void **state)
{
    world *w = *state;
    rt_buf_reset(&w->err);
    assert_int_equal(rt_registry_add(&w->reg, "dup", NULL, "first", noop_step, noop_step, NULL,
                                     NULL, NULL, &w->err),
                     RETORT_OK);
    rt_buf_reset(&w->err);
    assert_int_equal(rt_registry_add(&w->reg, "dup", NULL, "second", noop_step, noop_step, NULL,
                                     NULL, NULL, &w->err),
                     RETORT_EEXIST);
    assert_contains(rt_buf_str(&w->err), "dup");
    assert_int_equal(w->reg.n, 1);
    assert_string_equal(w->reg.revs[0].message, "first");
}

static void test_null_or_empty_parents_make_a_root(void **state)
{
    world *w = *state;
    assert_int_equal(try_add(w, "r1", NULL), RETORT_OK);
    assert_int_equal(try_add(w, "r2", ""), RETORT_OK);
    for (int i = 0; i < 2; i++) {
        assert_int_equal(w->reg.revs[i].nparents, 0);
        assert_string_equal(w->reg.revs[i].parents, "");
    }
}

static void test_parents_separated_by_spaces_and_commas_are_normalised(void **state)
{
    world *w = *state;
    assert_int_equal(try_add(w, "m", "a, b  c,d\t e"), RETORT_OK);
    const rt_rev *rev = &w->reg.revs[0];
    assert_int_equal(rev->nparents, 5);
    assert_string_equal(rev->parents, "a b c d e");
    assert_string_equal(rev->parent_ids[0], "a");
    assert_string_equal(rev->parent_ids[4], "e");
}

static void test_parent_listed_twice_is_rejected(void **state)
{
    world *w = *state;
    assert_rejected(w, "m", "a b a", RETORT_EINVAL, "twice");
    assert_rejected(w, "m", "a,a", RETORT_EINVAL, "twice");
}

static void test_revision_listing_itself_as_parent_is_rejected(void **state)
{
    world *w = *state;
    assert_rejected(w, "selfish", "selfish", RETORT_EINVAL, "selfish");
    assert_rejected(w, "selfish", "other selfish", RETORT_EINVAL, "selfish");
    assert_int_equal(rt_registry_find(&w->reg, "selfish", 7), -1);
}

static void test_invalid_parent_id_is_rejected_naming_it(void **state)
{
    world *w = *state;
    assert_rejected(w, "child", "ok bad/parent", RETORT_EINVAL, "bad/parent");
    char longp[200];
    memset(longp, 'p', 129);
    longp[129] = '\0';
    assert_rejected(w, "child", longp, RETORT_EINVAL, NULL);
}

static void test_parents_need_not_be_registered_yet(void **state)
{
    world *w = *state;
    assert_int_equal(try_add(w, "child", "not_yet"), RETORT_OK);
    assert_int_equal(w->reg.n, 1);
}

static void test_registration_copies_every_string(void **state)
{
    world *w = *state;
    char id[] = "copied", parents[] = "p1 p2", message[] = "hello", up[] = "CREATE TABLE t(x)",
         down[] = "DROP TABLE t";
    rt_buf_reset(&w->err);
    assert_int_equal(rt_registry_add(&w->reg, id, parents, message, NULL, NULL, NULL, up, down,
                                     &w->err),
                     RETORT_OK);
    memset(id, 'X', sizeof id - 1);
    memset(parents, 'X', sizeof parents - 1);
    memset(message, 'X', sizeof message - 1);
    memset(up, 'X', sizeof up - 1);
    memset(down, 'X', sizeof down - 1);
    const rt_rev *rev = &w->reg.revs[0];
    assert_string_equal(rev->id, "copied");
    assert_string_equal(rev->parents, "p1 p2");
    assert_string_equal(rev->message, "hello");
    assert_string_equal(rev->up_sql, "CREATE TABLE t(x)");
    assert_string_equal(rev->down_sql, "DROP TABLE t");
    assert_int_equal(rt_registry_find(&w->reg, "copied", 6), 0);
}

static void test_null_message_is_stored_as_empty(void **state)
{
    world *w = *state;
    assert_int_equal(try_add(w, "a", NULL), RETORT_OK);
    assert_non_null(w->reg.revs[0].message);
    assert_string_equal(w->reg.revs[0].message, "");
}

static void test_callback_revision_without_down_is_irreversible(void **state)
{
    world *w = *state;
    rt_buf_reset(&w->err);
    assert_int_equal(rt_registry_add(&w->reg, "oneway", NULL, NULL, noop_step, NULL, NULL, NULL,
                                     NULL, &w->err),
                     RETORT_OK);
    assert_int_equal(try_add(w, "twoway", NULL), RETORT_OK);
    assert_true(w->reg.revs[0].flags & RETORT_REV_IRREVERSIBLE);
    assert_false(w->reg.revs[1].flags & RETORT_REV_IRREVERSIBLE);
    assert_false(w->reg.revs[0].flags & RETORT_REV_SQL);
    assert_string_equal(w->reg.revs[0].checksum, "");
}

static int is_hex64(const char *s)
{
    if (strlen(s) != 64)
        return 0;
    for (; *s; s++)
        if (!((*s >= '0' && *s <= '9') || (*s >= 'a' && *s <= 'f')))
            return 0;
    return 1;
}

static void test_sql_revision_records_a_sha256_of_its_text(void **state)
{
    world *w = *state;
    rt_buf_reset(&w->err);
    assert_int_equal(rt_registry_add(&w->reg, "s1", NULL, NULL, NULL, NULL, NULL,
                                     "CREATE TABLE t (x INTEGER)", "DROP TABLE t", &w->err),
                     RETORT_OK);
    assert_int_equal(rt_registry_add(&w->reg, "s2", NULL, NULL, NULL, NULL, NULL,
                                     "CREATE TABLE t (x INTEGER, y INTEGER)", "DROP TABLE t",
                                     &w->err),
                     RETORT_OK);
    assert_int_equal(rt_registry_add(&w->reg, "s3", NULL, NULL, NULL, NULL, NULL,
                                     "CREATE TABLE t (x INTEGER)", NULL, &w->err),
                     RETORT_OK);
    assert_int_equal(rt_registry_add(&w->reg, "s4", NULL, NULL, NULL, NULL, NULL,
                                     "CREATE TABLE t (x INTEGER)", "DROP TABLE t", &w->err),
                     RETORT_OK);
    const rt_rev *r = w->reg.revs;
    for (int i = 0; i < 4; i++) {
        assert_true(r[i].flags & RETORT_REV_SQL);
        if (!is_hex64(r[i].checksum))
            fail_msg("checksum of %s is \"%s\", not 64 lower-case hex digits", r[i].id,
                     r[i].checksum);
    }
    assert_string_not_equal(r[0].checksum, r[1].checksum); /* up text differs */
    assert_string_not_equal(r[0].checksum, r[2].checksum); /* down text differs */
    assert_string_equal(r[0].checksum, r[3].checksum);     /* same text, same sum */
    assert_true(r[2].flags & RETORT_REV_IRREVERSIBLE);
    assert_false(r[0].flags & RETORT_REV_IRREVERSIBLE);
}

static void test_find_matches_whole_ids_only(void **state)
{
    world *w = *state;
    assert_int_equal(try_add(w, "abc", NULL), RETORT_OK);
    assert_int_equal(try_add(w, "ab", NULL), RETORT_OK);
    assert_int_equal(rt_registry_find(&w->reg, "abc", 3), 0);
    assert_int_equal(rt_registry_find(&w->reg, "ab", 2), 1);
    assert_int_equal(rt_registry_find(&w->reg, "abcd", 3), 0); /* length bounds the key */
    assert_int_equal(rt_registry_find(&w->reg, "a", 1), -1);
    assert_int_equal(rt_registry_find(&w->reg, "abcd", 4), -1);
}

static void test_find_on_an_empty_registry_finds_nothing(void **state)
{
    world *w = *state;
    assert_int_equal(rt_registry_find(&w->reg, "x", 1), -1);
}

static void test_ten_thousand_revisions_are_all_findable(void **state)
{
    world *w = *state;
    char id[32];
    for (int i = 0; i < 10000; i++) {
        snprintf(id, sizeof id, "rev%d", i);
        if (try_add(w, id, NULL) != RETORT_OK)
            fail_msg("registering %s: %s", id, rt_buf_str(&w->err));
    }
    for (int i = 0; i < 10000; i++) {
        snprintf(id, sizeof id, "rev%d", i);
        assert_int_equal(rt_registry_find(&w->reg, id, strlen(id)), i);
    }
    assert_int_equal(try_add(w, "rev4242", NULL), RETORT_EEXIST);
}

static void test_parse_id_list_splits_and_validates(void **state)
{
    world *w = *state;
    char **ids = NULL;
    int n = -1;
    rt_buf_reset(&w->err);
    assert_int_equal(rt_parse_id_list(",a,,b c ,", &ids, &n, "list", &w->err), RETORT_OK);
    assert_int_equal(n, 3);
    assert_string_equal(ids[0], "a");
    assert_string_equal(ids[1], "b");
    assert_string_equal(ids[2], "c");
    rt_free_id_list(ids, n);

    ids = NULL;
    assert_int_equal(rt_parse_id_list(NULL, &ids, &n, "list", &w->err), RETORT_OK);
    assert_int_equal(n, 0);
    rt_free_id_list(ids, n);

    rt_buf_reset(&w->err);
    assert_int_equal(rt_parse_id_list("a b!", &ids, &n, "my list", &w->err), RETORT_EINVAL);
    assert_contains(rt_buf_str(&w->err), "my list");
    assert_contains(rt_buf_str(&w->err), "b!");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        WORLD_TEST(test_id_of_1_to_128_allowed_characters_is_valid),
        WORLD_TEST(test_id_validity_ignores_bytes_past_the_given_length),
        WORLD_TEST(test_empty_id_is_rejected),
        WORLD_TEST(test_null_id_is_rejected),
        WORLD_TEST(test_id_of_129_characters_is_rejected),
        WORLD_TEST(test_id_with_a_character_outside_the_set_is_rejected),
        WORLD_TEST(test_invalid_id_error_quotes_the_id),
        WORLD_TEST(test_reserved_target_names_are_rejected_as_ids),
        WORLD_TEST(test_duplicate_id_is_eexist_and_keeps_the_first),
        WORLD_TEST(test_null_or_empty_parents_make_a_root),
        WORLD_TEST(test_parents_separated_by_spaces_and_commas_are_normalised),
        WORLD_TEST(test_parent_listed_twice_is_rejected),
        WORLD_TEST(test_revision_listing_itself_as_parent_is_rejected),
        WORLD_TEST(test_invalid_parent_id_is_rejected_naming_it),
        WORLD_TEST(test_parents_need_not_be_registered_yet),
        WORLD_TEST(test_registration_copies_every_string),
        WORLD_TEST(test_null_message_is_stored_as_empty),
        WORLD_TEST(test_callback_revision_without_down_is_irreversible),
        WORLD_TEST(test_sql_revision_records_a_sha256_of_its_text),
        WORLD_TEST(test_find_matches_whole_ids_only),
        WORLD_TEST(test_find_on_an_empty_registry_finds_nothing),
        WORLD_TEST(test_ten_thousand_revisions_are_all_findable),
        WORLD_TEST(test_parse_id_list_splits_and_validates),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
