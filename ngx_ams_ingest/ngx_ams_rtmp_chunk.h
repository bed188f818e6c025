
/*
 * Copyright (C) nginx-ams authors
 *
 * The RTMP chunk stream: reassembles messages from interleaved chunks
 * (incrementally, from whatever bytes arrived) and writes messages out as
 * chunks.  Set Chunk Size and Abort are handled here; every message is
 * handed to a callback.  Free of nginx types.
 *
 * What a client can make us hold is bounded four ways: the length of one
 * message, the bytes of partial messages a parser keeps (its chunk
 * streams' buffers), and, through counters shared with other parsers,
 * its group's total (a client address's) and the worker's.  Buffers grow
 * with the bytes that arrive, never with the length a header announces.
 * Near a limit a parser first lets go of its own idle buffers; at the
 * worker's, a callback may make room by freeing other parsers' buffers.
 */


#ifndef _NGX_AMS_RTMP_CHUNK_H_INCLUDED_
#define _NGX_AMS_RTMP_CHUNK_H_INCLUDED_


#include <stddef.h>
#include <stdint.h>


#define NGX_AMS_RTMP_MSG_CHUNK_SIZE     1
#define NGX_AMS_RTMP_MSG_ABORT          2
#define NGX_AMS_RTMP_MSG_ACK            3
#define NGX_AMS_RTMP_MSG_USER           4
#define NGX_AMS_RTMP_MSG_ACK_SIZE       5
#define NGX_AMS_RTMP_MSG_BANDWIDTH      6
#define NGX_AMS_RTMP_MSG_AUDIO          8
#define NGX_AMS_RTMP_MSG_VIDEO          9
#define NGX_AMS_RTMP_MSG_AMF3_DATA      15
#define NGX_AMS_RTMP_MSG_AMF3_CMD       17
#define NGX_AMS_RTMP_MSG_AMF_DATA       18
#define NGX_AMS_RTMP_MSG_AMF_CMD        20
#define NGX_AMS_RTMP_MSG_AGGREGATE      22

#define NGX_AMS_RTMP_DEFAULT_CHUNK      128
#define NGX_AMS_RTMP_MAX_CHUNK          0xffffff
#define NGX_AMS_RTMP_CSID_STATES        32

/* the longest chunk header: 3 basic + 11 message + 4 extended timestamp */
#define NGX_AMS_RTMP_MAX_HEADER         18


typedef struct {
    uint32_t        csid;
    uint32_t        timestamp;
    uint8_t         type;
    uint32_t        msid;
    uint32_t        length;
    const uint8_t  *data;
} ngx_ams_rtmp_msg_t;


/* return 0 to go on, -1 to stop parsing (set *err) */
typedef int (*ngx_ams_rtmp_msg_pt)(void *ctx, ngx_ams_rtmp_msg_t *msg,
    const char **err);

/* asked to free need bytes of the shared total (other parsers'); 0 when
 * it freed something worth trying again */
typedef int (*ngx_ams_rtmp_reclaim_pt)(void *ctx, size_t need);


typedef struct {
    uint32_t        csid;
    uint32_t        timestamp;
    uint32_t        delta;
    uint32_t        length;
    uint32_t        msid;
    uint8_t         type;
    uint8_t         ext;
    uint8_t         used;
    uint8_t        *buf;
    uint32_t        cap;
    uint32_t        got;
} ngx_ams_rtmp_cs_t;


typedef struct {
    uint32_t             chunk_size;
    uint32_t             max_message;
    size_t               max_buffered;   /* this parser's buffers, in all */
    size_t               buffered;
    size_t              *total;          /* a worker's parsers', or NULL */
    size_t               max_total;
    size_t              *group;          /* a client address's, or NULL */
    size_t               max_group;
    ngx_ams_rtmp_reclaim_pt  reclaim;    /* room in the total, or NULL */
    ngx_ams_rtmp_msg_pt  handler;
    void                *ctx;
    const char          *error;
    unsigned             over_limit:1;   /* the error is one of the limits */

    uint8_t              hdr[NGX_AMS_RTMP_MAX_HEADER];
    uint32_t             hdr_len;
    uint32_t             chunk_left;
    ngx_ams_rtmp_cs_t   *cur;
    int                  in_body;

    ngx_ams_rtmp_cs_t    cs[NGX_AMS_RTMP_CSID_STATES];
} ngx_ams_rtmp_chunk_parser_t;


void ngx_ams_rtmp_chunk_init(ngx_ams_rtmp_chunk_parser_t *p,
    uint32_t max_message, ngx_ams_rtmp_msg_pt handler, void *ctx);
void ngx_ams_rtmp_chunk_free(ngx_ams_rtmp_chunk_parser_t *p);

/*
 * Sets the limits (they may change between calls to parse: a publisher
 * gets more room than a connection that has only sent commands); total,
 * when not NULL, is a counter shared with other parsers and capped at
 * max_total.  Buffers already held stay; only growth is checked.
 */
void ngx_ams_rtmp_chunk_limits(ngx_ams_rtmp_chunk_parser_t *p,
    uint32_t max_message, size_t max_buffered, size_t *total,
    size_t max_total);

/* the counter this parser shares with its group (others from the same
 * client address), capped at max_group; its buffers move along */
void ngx_ams_rtmp_chunk_group(ngx_ams_rtmp_chunk_parser_t *p,
    size_t *group, size_t max_group);

/* frees the buffers of chunk streams with no partial message (but the
 * last chunk's: a handler may call it on the message it is given) */
void ngx_ams_rtmp_chunk_trim(ngx_ams_rtmp_chunk_parser_t *p);

/* 0 when every byte was taken, -1 with p->error set */
int ngx_ams_rtmp_chunk_parse(ngx_ams_rtmp_chunk_parser_t *p,
    const uint8_t *buf, size_t len);

/* room needed to write a message of len bytes as chunks */
size_t ngx_ams_rtmp_chunk_bound(size_t len, uint32_t chunk_size);

/* writes the whole message as chunks (fmt 0, then fmt 3); returns bytes */
size_t ngx_ams_rtmp_chunk_write(uint8_t *out, uint32_t chunk_size,
    uint32_t csid, uint32_t timestamp, uint8_t type, uint32_t msid,
    const uint8_t *payload, size_t len);

/* the same with the payload given in two parts (a header and a body) */
size_t ngx_ams_rtmp_chunk_write2(uint8_t *out, uint32_t chunk_size,
    uint32_t csid, uint32_t timestamp, uint8_t type, uint32_t msid,
    const uint8_t *head, size_t head_len, const uint8_t *body,
    size_t body_len);


#endif /* _NGX_AMS_RTMP_CHUNK_H_INCLUDED_ */
