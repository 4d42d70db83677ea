/*
 * The reader of plain JSON (src/common/json_plain.c: the server's
 * requests, the client's replies and events) against jansson: for every
 * input it accepts, json_loadb with JSON_REJECT_DUPLICATES and with flags
 * 0 must parse an equal object (abort() otherwise); what it declines is
 * jansson's to judge.  Input: the JSON text itself.
 */
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "json_plain.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *t = (const char *)data;
    json_t *a = chat_json_plain(t, size);
    if (!a)
        return 0;
    json_t *b = json_loadb(t, size, JSON_REJECT_DUPLICATES, NULL);
    json_t *c = json_loadb(t, size, 0, NULL);
    if (!b || !c || !json_equal(a, b) || !json_equal(a, c))
        abort();
    json_decref(a);
    json_decref(b);
    json_decref(c);
    return 0;
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    static const char *seeds[] = {
        "{\"type\":\"group.send\",\"group\":\"team\",\"message\":\"AAEAAg==\",\"msg_id\":\"AQI=\",\"id\":3}",
        "{\"type\":\"log.fetch\",\"group\":\"team\",\"after\":-1,\"limit\":100,\"id\":0}",
        "{ \"a\" : true , \"b\" : false, \"c\" : null }",
        "{\"a\":\"\\u00e9\",\"b\":[1,{\"c\":1.5e3}]}",
        "{\"id\":4,\"ok\":true,\"entries\":[{\"seq\":1,\"added\":[\"bob\"]},{}],\"more\":false}",
    };
    (void)argc;
    (void)argv;
    for (size_t i = 0; i < sizeof seeds / sizeof seeds[0]; i++)
        fuzz_seed("seed", NULL, 0, mls_bytes_of((const uint8_t *)seeds[i], strlen(seeds[i])));
    return 0;
}
