/* PROTOCOL.md §2 name rules, shared by the server and the client. */
#ifndef CHAT_NAMES_H
#define CHAT_NAMES_H

#include <stddef.h>

#define CHAT_USERNAME_MAX 32
#define CHAT_GROUPNAME_MAX 64

/* 1 if s is 1 to max characters from a-z 0-9 _ - . starting with a letter
 * or a digit, 0 otherwise. */
int chat_valid_name(const char *s, size_t max);

#endif
