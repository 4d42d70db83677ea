/* Unit tests for src/server/event_text.c: the log event written without
 * jansson is byte for byte what jansson's json_dumps(JSON_COMPACT) writes
 * for the same object (handlers.c's way, kept for entries with meta):
 * names with quotes, backslashes, every control character, DEL and
 * multi-byte UTF-8; empty and long messages (every base64 padding);
 * extreme integers; each kind; no sender; and each entry as a log.fetch
 * page holds it (without "event").  An entry with meta is left to
 * the caller (NULL).  The text parses back to the same values. */
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "b64.h"
#include "event_text.h"
#include "proto.h"
#include "test.h"

static void set_b64(json_t *o, const char *k, const uint8_t *p, size_t n)
{
    char *t = chat_b64_encode(p, n);
    json_object_set_new(o, k, json_string(t));
    free(t);
}

/* The reference: the event as handlers.c built it before (a log.fetch
 * page's entry: the same without "event"). */
static char *reference(const srv_group *g, const srv_log_entry *e, int with_event)
{
    enum chat_kind k = e->kind == SRV_KIND_COMMIT    ? CHAT_KIND_COMMIT
                       : e->kind == SRV_KIND_MESSAGE ? CHAT_KIND_MESSAGE
                                                     : CHAT_KIND_PROPOSAL;
    json_t *o = json_object();
    json_object_set_new(o, "group", json_string(g->name));
    set_b64(o, "group_id", g->gid, g->gid_len);
    json_object_set_new(o, "seq", json_integer((json_int_t)e->seq));
    json_object_set_new(o, "epoch", json_integer((json_int_t)e->epoch));
    json_object_set_new(o, "kind", json_string(chat_kind_name(k)));
    json_object_set_new(o, "sender", json_string(e->sender ? e->sender : ""));
    json_object_set_new(o, "sender_id", json_integer(e->sender_id));
    json_object_set_new(o, "time", json_integer(e->time));
    set_b64(o, "message", e->data.p, e->data.n);
    if (with_event)
        json_object_set_new(o, "event", json_string(chat_event_name(CHAT_EVENT_LOG)));
    char *t = json_dumps(o, JSON_COMPACT);
    json_decref(o);
    return t;
}

static int same_as_reference(const srv_group *g, const srv_log_entry *e)
{
    char *a = srv_event_log_text_plain(g, e), *b = reference(g, e, 1);
    int ok = a && b && strcmp(a, b) == 0;
    if (!ok)
        fprintf(stderr, "  ours: %s\n  jansson: %s\n", a ? a : "(null)", b ? b : "(null)");
    free(a);
    free(b);
    /* The page's entry, written after what a page already holds. */
    srv_text t = {NULL, 0, 0};
    b = reference(g, e, 0);
    int page_ok = !srv_text_put(&t, "[x,", 3) && !srv_text_log_entry(&t, g, e) &&
                  !srv_text_put(&t, "", 1) && b && !strncmp(t.p, "[x,", 3) &&
                  strcmp(t.p + 3, b) == 0;
    if (!page_ok)
        fprintf(stderr, "  page: %s\n  jansson: %s\n", t.p ? t.p : "(null)", b ? b : "(null)");
    free(t.p);
    free(b);
    return ok && page_ok;
}

int main(void)
{
    uint8_t data[700];
    for (size_t i = 0; i < sizeof data; i++)
        data[i] = (uint8_t)(i * 37 + 11);
    srv_group g;
    memset(&g, 0, sizeof g);
    g.ref = 3;
    strcpy(g.name, "team");
    g.gid_len = 32;
    memcpy(g.gid, data + 5, 32);
    srv_log_entry e;
    memset(&e, 0, sizeof e);
    e.seq = 42;
    e.epoch = 7;
    e.kind = SRV_KIND_MESSAGE;
    e.sender_id = 9;
    e.sender = "alice";
    e.time = 1765000000;

    /* Every message length up to a few blocks: each padding case. */
    for (size_t n = 0; n < 40; n++) {
        e.data = mls_bytes_of(data, n);
        CHECK(same_as_reference(&g, &e));
    }
    e.data = mls_bytes_of(data, sizeof data);
    CHECK(same_as_reference(&g, &e));

    /* Each kind, and no sender. */
    enum srv_kind kinds[] = {SRV_KIND_COMMIT, SRV_KIND_PROPOSAL, SRV_KIND_MESSAGE};
    for (size_t i = 0; i < 3; i++) {
        e.kind = kinds[i];
        CHECK(same_as_reference(&g, &e));
    }
    e.sender = NULL;
    CHECK(same_as_reference(&g, &e));
    e.sender = "alice";

    /* Extreme integers. */
    e.seq = (uint64_t)INT64_MAX;
    e.epoch = 0;
    e.sender_id = INT64_MIN;
    e.time = -1;
    CHECK(same_as_reference(&g, &e));
    e.seq = 42;
    e.sender_id = 9;
    e.time = 1765000000;

    /* Every byte that needs escaping, and the ones that do not, in the
     * group's and the sender's names. */
    char name[SRV_NAME_MAX + 1];
    for (int c = 1; c < 128; c++) {
        snprintf(name, sizeof name, "a%cb", c);
        strcpy(g.name, name);
        e.sender = name;
        CHECK(same_as_reference(&g, &e));
    }
    const char *utf8[] = {"Ã©quipe", "チーム", "группа", "فريق", "👩‍💻 \"dev\" \\ team", "\x7f"};
    for (size_t i = 0; i < sizeof utf8 / sizeof *utf8; i++) {
        snprintf(g.name, sizeof g.name, "%s", utf8[i]);
        e.sender = utf8[i];
        CHECK(same_as_reference(&g, &e));
    }
    g.gid_len = 0;
    CHECK(same_as_reference(&g, &e));

    /* It parses back to the values it was given. */
    strcpy(g.name, "q\"\n\x01");
    g.gid_len = 5;
    e.sender = "bob\\";
    e.data = mls_bytes_of(data, 3);
    char *t = srv_event_log_text_plain(&g, &e);
    json_t *o = json_loads(t, 0, NULL);
    CHECK(o != NULL);
    CHECK(!strcmp(json_string_value(json_object_get(o, "group")), g.name));
    CHECK(!strcmp(json_string_value(json_object_get(o, "sender")), "bob\\"));
    CHECK(json_integer_value(json_object_get(o, "seq")) == 42);
    CHECK(!strcmp(json_string_value(json_object_get(o, "event")), "log"));
    json_decref(o);
    free(t);

    /* Written at an offset (into a payload's block): the same text. */
    size_t len = 0;
    char *plain = srv_event_log_text_plain(&g, &e);
    char *block = srv_event_log_text_at(&g, &e, 40, &len);
    CHECK(plain && block && len == strlen(plain) && !strcmp(block + 40, plain));
    free(plain);
    free(block);

    /* Meta is merged by the jansson path; this one declines. */
    e.meta = "{\"admin\":\"alice\"}";
    CHECK(srv_event_log_text_plain(&g, &e) == NULL);
    srv_text page = {NULL, 0, 0};
    CHECK(!srv_text_put(&page, "[", 1) && srv_text_log_entry(&page, &g, &e) == -1 &&
          page.n == 1);
    free(page.p);

    TEST_MAIN_END("server_event_text");
}
