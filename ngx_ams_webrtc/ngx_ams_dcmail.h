
/*
 * Copyright (C) nginx-ams authors
 *
 * Data-channel messages between workers (nginx-free, unit tested): the
 * record one worker writes into another's mailbox, and the mailbox, a
 * byte ring in shared memory (ngx_ams_webrtc_mailbox.c holds the
 * zone, the locks and the wake-ups).
 *
 * A record, little-endian:
 *   0  u32  record length (header included)
 *   4  u32  SCTP payload protocol id (text, binary, their empty forms)
 *   8  u8   sender: NGX_AMS_DCMAIL_FROM_*
 *   9  u8   application length (<= 64)
 *  10  u8   stream id length (1..128)
 *  11  u8   sender session id length (0 or 32)
 *  12       application, stream id, sender id, payload (<= 64 KiB)
 */


#ifndef _NGX_AMS_DCMAIL_H_INCLUDED_
#define _NGX_AMS_DCMAIL_H_INCLUDED_


#include <stddef.h>
#include <stdint.h>


#define NGX_AMS_DCMAIL_HEADER        12
#define NGX_AMS_DCMAIL_APP_MAX       64
#define NGX_AMS_DCMAIL_NAME_MAX      128
#define NGX_AMS_DCMAIL_SENDER_LEN    32
/* larger messages cross no worker boundary (dropped with a log line) */
#define NGX_AMS_DCMAIL_PAYLOAD_MAX   (64 * 1024)
#define NGX_AMS_DCMAIL_RECORD_MAX                                            \
    (NGX_AMS_DCMAIL_HEADER + NGX_AMS_DCMAIL_APP_MAX                          \
     + NGX_AMS_DCMAIL_NAME_MAX + NGX_AMS_DCMAIL_SENDER_LEN                   \
     + NGX_AMS_DCMAIL_PAYLOAD_MAX)

/* who sent it: the relay rules of its receivers */
#define NGX_AMS_DCMAIL_FROM_PUBLISHER  1     /* to players */
#define NGX_AMS_DCMAIL_FROM_PLAYER     2     /* to the publisher, players */
#define NGX_AMS_DCMAIL_FROM_SERVER     3     /* REST: to everyone */


typedef struct {
    uint32_t         ppid;
    unsigned         from;
    const uint8_t   *app;
    size_t           app_len;
    const uint8_t   *name;
    size_t           name_len;
    const uint8_t   *sender;          /* NULL: none (REST) */
    const uint8_t   *payload;
    size_t           payload_len;
} ngx_ams_dcmail_msg_t;


/* the mailbox: "size" bytes of data follow it; head and tail only grow */
typedef struct {
    uint64_t         head;            /* next byte to read */
    uint64_t         tail;            /* next byte to write */
    uint32_t         size;
    uint32_t         pad;
} ngx_ams_dcmail_ring_t;


/* the record's length, 0 if the message cannot be encoded */
size_t ngx_ams_dcmail_size(const ngx_ams_dcmail_msg_t *m);
/* encodes into buf (of ngx_ams_dcmail_size() bytes at least): its length,
 * 0 if the message cannot be encoded */
size_t ngx_ams_dcmail_encode(uint8_t *buf, size_t size,
    const ngx_ams_dcmail_msg_t *m);
/* 0 and m pointing into p, or -1: malformed or truncated */
int ngx_ams_dcmail_decode(const uint8_t *p, size_t len,
    ngx_ams_dcmail_msg_t *m);

void ngx_ams_dcmail_ring_init(ngx_ams_dcmail_ring_t *r, uint32_t size);
/* appends a record: 0, or -1 when it does not fit (nothing written) */
int ngx_ams_dcmail_put(ngx_ams_dcmail_ring_t *r, const uint8_t *rec,
    size_t len);
/* takes the oldest record into buf: its length, 0 when empty, -1 when
 * what is there makes no sense (the ring is emptied) */
long ngx_ams_dcmail_get(ngx_ams_dcmail_ring_t *r, uint8_t *buf,
    size_t size);


#endif /* _NGX_AMS_DCMAIL_H_INCLUDED_ */
