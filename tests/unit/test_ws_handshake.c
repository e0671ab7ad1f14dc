/* The opening handshake: RFC 6455's example key, request checks, protocols, responses. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "sio.h"
#include "ws/handshake.h"

static const char KEY[] = "dGhlIHNhbXBsZSBub25jZQ==";

static void test_accept_key(void **state)
{
    char out[29];
    sio__ws_accept_key(KEY, out);
    assert_string_equal(out, "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="); /* RFC 6455 section 1.3 */
}

static void test_tokens(void **state)
{
    assert_true(sio__ws_header_has_token("Upgrade", "upgrade"));
    assert_true(sio__ws_header_has_token("keep-alive, Upgrade", "upgrade"));
    assert_true(sio__ws_header_has_token(" keep-alive ,\tUPGRADE\t", "upgrade"));
    assert_false(sio__ws_header_has_token("upgrades", "upgrade"));
    assert_false(sio__ws_header_has_token("", "upgrade"));
    assert_false(sio__ws_header_has_token(NULL, "upgrade"));
}

static void test_request(void **state)
{
    const char *why = NULL;
    assert_int_equal(sio__ws_check_request(1, 1, 1, "websocket", "Upgrade", "13", KEY, &why), 0);
    assert_null(why);
    assert_int_equal(
        sio__ws_check_request(1, 1, 1, "WebSocket", "keep-alive, Upgrade", "13", KEY, &why), 0);
    assert_int_equal(sio__ws_check_request(0, 1, 1, "websocket", "Upgrade", "13", KEY, &why), 400);
    assert_non_null(why);
    assert_int_equal(sio__ws_check_request(1, 1, 0, "websocket", "Upgrade", "13", KEY, &why), 400);
    assert_int_equal(sio__ws_check_request(1, 1, 1, NULL, "Upgrade", "13", KEY, &why), 400);
    assert_int_equal(sio__ws_check_request(1, 1, 1, "h2c", "Upgrade", "13", KEY, &why), 400);
    assert_int_equal(sio__ws_check_request(1, 1, 1, "websocket", "close", "13", KEY, &why), 400);
    assert_int_equal(sio__ws_check_request(1, 1, 1, "websocket", "Upgrade", "8", KEY, &why), 426);
    assert_int_equal(sio__ws_check_request(1, 1, 1, "websocket", "Upgrade", NULL, KEY, &why), 426);
    assert_int_equal(sio__ws_check_request(1, 1, 1, "websocket", "Upgrade", "13", NULL, &why), 400);
    assert_int_equal(sio__ws_check_request(1, 1, 1, "websocket", "Upgrade", "13", "short==", &why),
                     400);
    assert_int_equal(sio__ws_check_request(1, 1, 1, "websocket", "Upgrade", "13",
                                           "dGhlIHNhbXBsZSBub25jZQ=A", &why),
                     400);
    assert_int_equal(sio__ws_check_request(1, 1, 1, "websocket", "Upgrade", "13",
                                           "dGhlIHNhbXBsZSBub25j!Q==", &why),
                     400);
}

static void test_protocols(void **state)
{
    const char *const mine[] = {"chat.v2", "chat"};
    assert_int_equal(sio__ws_select_protocol("chat, chat.v2", mine, 2), 0);
    assert_int_equal(sio__ws_select_protocol("chat", mine, 2), 1);
    assert_int_equal(sio__ws_select_protocol("mqtt", mine, 2), -1);
    assert_int_equal(sio__ws_select_protocol(NULL, mine, 2), -1);
    assert_int_equal(sio__ws_select_protocol("chat", mine, 0), -1);
}

static void test_client_side(void **state)
{
    char key[25], key2[25], accept[29];
    assert_int_equal(sio__ws_client_key(key), 0);
    assert_int_equal(sio__ws_client_key(key2), 0);
    assert_int_equal(strlen(key), 24);
    assert_string_not_equal(key, key2);
    /* A generated key passes the server's check. */
    assert_int_equal(sio__ws_check_request(1, 1, 1, "websocket", "Upgrade", "13", key, NULL), 0);
    sio__ws_accept_key(key, accept);
    const char *why;
    assert_int_equal(sio__ws_check_response(101, "websocket", "Upgrade", accept, key, &why), 0);
    assert_int_equal(sio__ws_check_response(200, "websocket", "Upgrade", accept, key, &why),
                     SIO_EPROTO);
    assert_int_equal(sio__ws_check_response(101, NULL, "Upgrade", accept, key, &why), SIO_EPROTO);
    assert_int_equal(sio__ws_check_response(101, "websocket", "Upgrade", NULL, key, &why),
                     SIO_EPROTO);
    assert_int_equal(sio__ws_check_response(101, "websocket", "Upgrade",
                                            "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=", key, &why),
                     SIO_EPROTO);
    assert_string_equal(why, "Sec-WebSocket-Accept mismatch");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_accept_key),  cmocka_unit_test(test_tokens),
        cmocka_unit_test(test_request),     cmocka_unit_test(test_protocols),
        cmocka_unit_test(test_client_side),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
