
/*
 * Copyright (C) nginx-ams authors
 *
 * Data-channel messages between workers (ngx_ams_webrtc_mailbox.h).
 * The zone holds NGX_AMS_WEBRTC_MAILBOXES mailboxes; a worker takes a
 * free one (or one of a dead worker) when it starts, its ring allocated
 * then from the zone's slab pool and kept for the next worker.  Each
 * mailbox has its own lock (ngx_ams_shm_lock: a dead holder does not
 * keep it); writers copy a record in under it, the owner copies one out
 * at a time.  Records are checked on the way out (ngx_ams_dcmail.c):
 * a mailbox that makes no sense is emptied.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_event.h>

#include "ngx_ams_core.h"
#include "ngx_ams_webrtc.h"
#include "ngx_ams_webrtc_data.h"
#include "ngx_ams_webrtc_mailbox.h"


typedef struct {
    ngx_atomic_t              lock;
    ngx_atomic_t              pid;           /* the owner; 0: free */
    ngx_ams_dcmail_ring_t    *ring;          /* NULL until first taken */
} ngx_ams_webrtc_mailbox_t;


typedef struct {
    ngx_atomic_t              lock;          /* taking a mailbox */
    ngx_slab_pool_t          *shpool;
    ngx_ams_webrtc_mailbox_t  box[NGX_AMS_WEBRTC_MAILBOXES];
} ngx_ams_webrtc_mailbox_sh_t;


static ngx_int_t ngx_ams_webrtc_mailbox_init_zone(ngx_shm_zone_t *shm_zone,
    void *data);
static void ngx_ams_webrtc_mailbox_drain(void);
static ngx_uint_t ngx_ams_webrtc_mailbox_dead(ngx_pid_t pid);


#define NGX_AMS_WEBRTC_MAILBOX_TURN  1024     /* records per wake-up */


static ngx_str_t  ngx_ams_webrtc_mailbox_name =
    ngx_string("ams_webrtc_mail");

static ngx_ams_webrtc_mailbox_sh_t  *ngx_ams_webrtc_mailbox;
static ngx_ams_webrtc_mailbox_t     *ngx_ams_webrtc_mailbox_mine;
static time_t                        ngx_ams_webrtc_mailbox_logged;
static time_t                        ngx_ams_webrtc_mailbox_logged_big;
static ngx_uint_t                    ngx_ams_webrtc_mailbox_dropped;
/* one record, in or out */
static uint8_t  ngx_ams_webrtc_mailbox_buf[NGX_AMS_DCMAIL_RECORD_MAX];


ngx_int_t
ngx_ams_webrtc_mailbox_zone(ngx_conf_t *cf, void *tag)
{
    size_t           size;
    ngx_shm_zone_t  *zone;

    /* the table, 16 rings (more workers take what the slab has left:
     * those without one get no mail, logged), the slab's overhead */
    size = ngx_align(sizeof(ngx_ams_webrtc_mailbox_sh_t)
                     + 16 * (sizeof(ngx_ams_dcmail_ring_t)
                             + NGX_AMS_WEBRTC_MAILBOX_SIZE)
                     + 64 * ngx_pagesize, ngx_pagesize);

    zone = ngx_shared_memory_add(cf, &ngx_ams_webrtc_mailbox_name, size,
                                 tag);
    if (zone == NULL) {
        return NGX_ERROR;
    }

    zone->init = ngx_ams_webrtc_mailbox_init_zone;

    return NGX_OK;
}


static ngx_int_t
ngx_ams_webrtc_mailbox_init_zone(ngx_shm_zone_t *shm_zone, void *data)
{
    ngx_slab_pool_t              *shpool;
    ngx_ams_webrtc_mailbox_sh_t  *sh;

    if (data) {
        /* a reload: old workers keep their mailboxes until they leave */
        shm_zone->data = data;
        ngx_ams_webrtc_mailbox = data;
        return NGX_OK;
    }

    shpool = (ngx_slab_pool_t *) shm_zone->shm.addr;

    sh = ngx_slab_calloc(shpool, sizeof(ngx_ams_webrtc_mailbox_sh_t));
    if (sh == NULL) {
        return NGX_ERROR;
    }

    sh->shpool = shpool;
    shpool->log_nomem = 0;
    shm_zone->data = sh;
    ngx_ams_webrtc_mailbox = sh;

    return NGX_OK;
}


void
ngx_ams_webrtc_mailbox_init(ngx_cycle_t *cycle)
{
    ngx_uint_t                    i;
    ngx_ams_webrtc_mailbox_t     *b, *found;
    ngx_ams_webrtc_mailbox_sh_t  *sh = ngx_ams_webrtc_mailbox;

    if (sh == NULL) {
        return;
    }

    found = NULL;

    ngx_ams_shm_lock(&sh->lock);

    for (i = 0; i < NGX_AMS_WEBRTC_MAILBOXES && found == NULL; i++) {
        b = &sh->box[i];

        if (b->pid == 0 || ngx_ams_webrtc_mailbox_dead((ngx_pid_t) b->pid)) {
            found = b;
        }
    }

    if (found && found->ring == NULL) {
        found->ring = ngx_slab_alloc(sh->shpool,
                                     sizeof(ngx_ams_dcmail_ring_t)
                                     + NGX_AMS_WEBRTC_MAILBOX_SIZE);
        if (found->ring == NULL) {
            found = NULL;
        }
    }

    if (found) {
        ngx_ams_shm_lock(&found->lock);
        ngx_ams_dcmail_ring_init(found->ring, NGX_AMS_WEBRTC_MAILBOX_SIZE);
        ngx_memory_barrier();
        found->pid = ngx_pid;
        ngx_ams_shm_unlock(&found->lock);
    }

    ngx_ams_shm_unlock(&sh->lock);

    if (found == NULL) {
        ngx_log_error(NGX_LOG_WARN, cycle->log, 0,
                      "ams webrtc: no data-channel mailbox for this worker: "
                      "its sessions do not hear those of other workers");
        return;
    }

    ngx_ams_webrtc_mailbox_mine = found;
    ngx_ams_bus_news_handler = ngx_ams_webrtc_mailbox_drain;
}


void
ngx_ams_webrtc_mailbox_exit(void)
{
    ngx_ams_webrtc_mailbox_t  *b = ngx_ams_webrtc_mailbox_mine;

    if (b == NULL) {
        return;
    }

    ngx_ams_shm_lock(&b->lock);

    if ((ngx_pid_t) b->pid == ngx_pid) {
        b->pid = 0;
    }

    ngx_ams_shm_unlock(&b->lock);

    ngx_ams_webrtc_mailbox_mine = NULL;
    ngx_ams_bus_news_handler = NULL;
}


void
ngx_ams_webrtc_mailbox_post(ngx_ams_dcmail_msg_t *m, ngx_log_t *log)
{
    int                           rc;
    size_t                        len;
    ngx_pid_t                     pid;
    ngx_uint_t                    i, full;
    ngx_ams_webrtc_mailbox_t     *b;
    ngx_ams_webrtc_mailbox_sh_t  *sh = ngx_ams_webrtc_mailbox;

    if (sh == NULL) {
        return;
    }

    len = ngx_ams_dcmail_encode(ngx_ams_webrtc_mailbox_buf,
                                sizeof(ngx_ams_webrtc_mailbox_buf), m);
    if (len == 0) {
        /* too large to cross: said once a second, where others are */
        for (i = 0; i < NGX_AMS_WEBRTC_MAILBOXES; i++) {
            pid = (ngx_pid_t) sh->box[i].pid;

            if (pid != 0 && pid != ngx_pid
                && ngx_time() != ngx_ams_webrtc_mailbox_logged_big)
            {
                ngx_ams_webrtc_mailbox_logged_big = ngx_time();
                ngx_log_error(NGX_LOG_WARN, log, 0,
                              "ams webrtc data: a message of %uz bytes "
                              "(over %d) reaches this worker's sessions "
                              "only", m->payload_len,
                              NGX_AMS_DCMAIL_PAYLOAD_MAX);
                break;
            }
        }

        return;
    }

    full = 0;

    for (i = 0; i < NGX_AMS_WEBRTC_MAILBOXES; i++) {
        b = &sh->box[i];
        pid = (ngx_pid_t) b->pid;

        if (pid == 0 || pid == ngx_pid) {
            continue;
        }

        ngx_ams_shm_lock(&b->lock);

        rc = ((ngx_pid_t) b->pid == pid && b->ring)
             ? ngx_ams_dcmail_put(b->ring, ngx_ams_webrtc_mailbox_buf, len)
             : -1;

        ngx_ams_shm_unlock(&b->lock);

        if (rc == 0) {
            (void) ngx_ams_bus_news(pid);

        } else {
            full++;
        }
    }

    if (full) {
        ngx_ams_webrtc_mailbox_dropped += full;

        if (ngx_time() != ngx_ams_webrtc_mailbox_logged) {
            ngx_ams_webrtc_mailbox_logged = ngx_time();
            ngx_log_error(NGX_LOG_WARN, log, 0,
                          "ams webrtc data: another worker's mailbox is "
                          "full: %ui messages dropped for it",
                          ngx_ams_webrtc_mailbox_dropped);
            ngx_ams_webrtc_mailbox_dropped = 0;
        }
    }
}


/* Context: this worker's loop, woken by the bus */

static void
ngx_ams_webrtc_mailbox_drain(void)
{
    long                       n;
    ngx_uint_t                 bad, i;
    ngx_ams_dcmail_msg_t       m;
    ngx_ams_webrtc_mailbox_t  *b = ngx_ams_webrtc_mailbox_mine;

    if (b == NULL) {
        return;
    }

    bad = 0;

    /* a bounded turn: writers that keep up do not hold the loop */
    for (i = 0; /* void */ ; i++) {
        if (i == NGX_AMS_WEBRTC_MAILBOX_TURN) {
            (void) ngx_ams_bus_news(ngx_pid);
            break;
        }

        ngx_ams_shm_lock(&b->lock);
        n = ngx_ams_dcmail_get(b->ring, ngx_ams_webrtc_mailbox_buf,
                               sizeof(ngx_ams_webrtc_mailbox_buf));
        ngx_ams_shm_unlock(&b->lock);

        if (n <= 0) {
            bad |= (n < 0);
            break;
        }

        if (ngx_ams_dcmail_decode(ngx_ams_webrtc_mailbox_buf, (size_t) n, &m)
            != 0)
        {
            bad = 1;
            continue;
        }

        ngx_ams_webrtc_data_deliver(&m);
    }

    if (bad) {
        ngx_log_error(NGX_LOG_ALERT, ngx_cycle->log, 0,
                      "ams webrtc data: a malformed record in this "
                      "worker's mailbox: dropped");
    }
}


static ngx_uint_t
ngx_ams_webrtc_mailbox_dead(ngx_pid_t pid)
{
    return pid != ngx_pid && kill(pid, 0) == -1 && ngx_errno == NGX_ESRCH;
}
