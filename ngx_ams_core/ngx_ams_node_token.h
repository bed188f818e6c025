
/*
 * Copyright (C) nginx-ams authors
 *
 * Node-to-node tokens: short-lived HS256 JWTs signed with the cluster's
 * shared key (cluster_communication_key, AMS's clusterCommunicationKey),
 * claims {"sub":"cluster","iss":<node_id>,"aud":<the target's
 * node_address>,"exp":now+30}: a token opens one node, for half a
 * minute.  An RTMP pull
 * passes one as ?token=..., an HTTP request as X-AMS-Cluster-Token.  Pure
 * C (ngx_ams_jwt.c): unit-tested outside nginx.
 */


#ifndef _NGX_AMS_NODE_TOKEN_H_INCLUDED_
#define _NGX_AMS_NODE_TOKEN_H_INCLUDED_


#include <stddef.h>
#include <stdint.h>


#define NGX_AMS_NODE_TOKEN_SUB      "cluster"
#define NGX_AMS_NODE_TOKEN_TTL      30          /* seconds */
#define NGX_AMS_NODE_TOKEN_HEADER   "X-AMS-Cluster-Token"
#define NGX_AMS_NODE_TOKEN_MAX_ISS  256


/*
 * A token from node "iss" for node "aud" (its node_address), valid
 * NGX_AMS_NODE_TOKEN_TTL seconds after "now" (malloc'ed, NUL-terminated:
 * the caller frees it), or NULL (no key, no audience, no memory).
 */
char *ngx_ams_node_token_sign(const unsigned char *key, size_t key_len,
    const char *iss, size_t iss_len, const char *aud, size_t aud_len,
    int64_t now);

/*
 * 0 when "token" is signed with "key", not expired at "now", has an
 * "exp", "sub" "cluster" and "aud" "aud" (this node's address); the issuer is then copied into "iss" (NUL-
 * terminated, cut to iss_size - 1) when "iss" is not NULL.  -1 and
 * *error (a static string) otherwise.  An empty key verifies nothing: a
 * node without cluster_communication_key admits no node token.
 */
int ngx_ams_node_token_verify(const unsigned char *token, size_t len,
    const unsigned char *key, size_t key_len, const char *aud,
    size_t aud_len, int64_t now, char *iss, size_t iss_size,
    const char **error);


#endif /* _NGX_AMS_NODE_TOKEN_H_INCLUDED_ */
