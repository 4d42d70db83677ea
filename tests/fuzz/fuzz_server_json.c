/*
 * The server's flat-object JSON reader (src/server/req_json.c) against
 * jansson: for every input it accepts, json_loadb(JSON_REJECT_DUPLICATES)
 * must parse an equal object (abort() otherwise); what it declines is
 * jansson's to judge.  Input: the request text itself.
 */
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "req_json.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *t = (const char *)data;
    json_t *a = srv_req_json_flat(t, size);
    if (!a)
        return 0;
    json_t *b = json_loadb(t, size, JSON_REJECT_DUPLICATES, NULL);
    if (!b || !json_equal(a, b))
        abort();
    json_decref(a);
    json_decref(b);
    return 0;
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    static const char *seeds[] = {
        "{\"type\":\"group.send\",\"group\":\"team\",\"message\":\"AAEAAg==\",\"msg_id\":\"AQI=\",\"id\":3}",
        "{\"type\":\"log.fetch\",\"group\":\"team\",\"after\":-1,\"limit\":100,\"id\":0}",
        "{ \"a\" : true , \"b\" : false, \"c\" : null }",
        "{\"a\":\"\\u00e9\",\"b\":[1,{\"c\":1.5e3}]}",
    };
    (void)argc;
    (void)argv;
    for (size_t i = 0; i < sizeof seeds / sizeof seeds[0]; i++)
        fuzz_seed("seed", NULL, 0, mls_bytes_of((const uint8_t *)seeds[i], strlen(seeds[i])));
    return 0;
}
