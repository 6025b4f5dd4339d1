/* UTF-8 validation and repair; see text.h. */
#include "common/text.h"

#include <stdint.h>
#include <string.h>

/* Returns the length of the valid UTF-8 character at text (at most left
 * bytes), or 0 when the bytes there are not one. NUL counts as invalid. */
static size_t
s_char_len (const unsigned char *text, size_t left)
{
    unsigned char lead = text[0];
    size_t len;
    uint32_t code;
    if (lead == 0) {
        return 0;
    }
    if (lead < 0x80) {
        return 1;
    }
    if (lead >= 0xc2 && lead <= 0xdf) {
        len = 2, code = lead & 0x1f;
    } else if (lead >= 0xe0 && lead <= 0xef) {
        len = 3, code = lead & 0x0f;
    } else if (lead >= 0xf0 && lead <= 0xf4) {
        len = 4, code = lead & 0x07;
    } else {
        return 0;
    }
    if (len > left) {
        return 0;
    }
    for (size_t i = 1; i < len; i++) {
        if ((text[i] & 0xc0) != 0x80) {
            return 0;
        }
        code = (code << 6) | (text[i] & 0x3f);
    }
    static const uint32_t least[] = {0, 0, 0x80, 0x800, 0x10000};
    bool surrogate = code >= 0xd800 && code <= 0xdfff;
    return code < least[len] || surrogate || code > 0x10ffff ? 0 : len;
}

bool
text_utf8_valid (const char *text, size_t len)
{
    const unsigned char *bytes = (const unsigned char *) text;
    for (size_t at = 0; at < len;) {
        size_t step = s_char_len (bytes + at, len - at);
        if (step == 0) {
            return false;
        }
        at += step;
    }
    return true;
}

bool
text_is_name (const char *text, size_t max_len)
{
    size_t len = text ? strlen (text) : 0;
    if (len == 0 || len > max_len || !text_utf8_valid (text, len)) {
        return false;
    }
    for (size_t i = 0; i < len; i++) {
        unsigned char byte = (unsigned char) text[i];
        if (byte < 0x20 || byte == 0x7f) {
            return false;
        }
    }
    return true;
}

void
text_utf8_fix (char *text, size_t len)
{
    unsigned char *bytes = (unsigned char *) text;
    for (size_t at = 0; at < len;) {
        size_t step = s_char_len (bytes + at, len - at);
        if (step == 0) {
            bytes[at] = '?';
            step = 1;
        }
        at += step;
    }
}

bool
text_endpoint_port_ok (const char *endpoint)
{
    const char *colon = endpoint ? strrchr (endpoint, ':') : NULL;
    if (!colon || !colon[1] ||
        strspn (colon + 1, "0123456789") != strlen (colon + 1)) {
        return true; /* no numeric port: "*", a name, ipc://... */
    }
    unsigned long port = 0;
    for (const char *digit = colon + 1; *digit; digit++) {
        port = port * 10 + (unsigned long) (*digit - '0');
        if (port > 65535) {
            return false;
        }
    }
    return true;
}
