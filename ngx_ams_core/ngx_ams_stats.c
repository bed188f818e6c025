
/*
 * Copyright (C) nginx-ams authors
 *
 * The StatsCollector.  Every worker arms a one-second timer; the first to
 * claim the current second (compare-and-set on sampled_at) reads /proc in
 * a thread-pool task and publishes the figures in the bus zone, where
 * every worker reads them without locks.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_event.h>
#include <sys/statvfs.h>
#include <jansson.h>

#include "ngx_ams_core.h"
#include "ngx_ams_stats.h"
#include "ngx_ams_webhook.h"


#define NGX_AMS_STATS_PERIOD        1000
#define NGX_AMS_STATS_WEBHOOK_EVERY 60       /* seconds, while overloaded */


typedef struct {
    /* read in the thread */
    uint64_t                  total;
    uint64_t                  idle;
    uint64_t                  mem_total;
    uint64_t                  mem_available;
    uint64_t                  swap_total;
    uint64_t                  swap_free;
    uint64_t                  disk_total;
    uint64_t                  disk_free;
    uint64_t                  disk_usable;
    uint64_t                  process;       /* nginx's jiffies */
    ngx_uint_t                cpus;
    ngx_uint_t                ok;

    ngx_pid_t                 pids[NGX_AMS_MAX_WORKERS + 1];
    ngx_uint_t                npids;

    ngx_thread_task_t         task;
    ngx_uint_t                busy;
    char                      storage[NGX_MAX_PATH];
} ngx_ams_stats_sample_t;


static void ngx_ams_stats_tick(ngx_event_t *ev);
static void ngx_ams_stats_read(void *data, ngx_log_t *log);
static void ngx_ams_stats_done(ngx_event_t *ev);
static void ngx_ams_stats_webhook(ngx_ams_node_stats_t *ns,
    ngx_uint_t which, ngx_log_t *log);


static ngx_event_t             ngx_ams_stats_timer;
static ngx_ams_stats_sample_t  ngx_ams_stats_sample;
static time_t                  ngx_ams_stats_hooked;
static uint64_t                ngx_ams_stats_ticks_per_s = 100;


ngx_int_t
ngx_ams_stats_init_worker(ngx_cycle_t *cycle)
{
    ngx_ams_main_conf_t  *amcf;

    amcf = ngx_ams_get_main_conf(cycle);

    ngx_cpystrn((u_char *) ngx_ams_stats_sample.storage, amcf->storage.data,
                ngx_min(amcf->storage.len + 1,
                        sizeof(ngx_ams_stats_sample.storage)));

    ngx_ams_stats_sample.task.ctx = &ngx_ams_stats_sample;
    ngx_ams_stats_sample.task.handler = ngx_ams_stats_read;
    ngx_ams_stats_sample.task.event.handler = ngx_ams_stats_done;
    ngx_ams_stats_sample.task.event.data = &ngx_ams_stats_sample;
    ngx_ams_stats_sample.task.event.log = cycle->log;

    if (sysconf(_SC_CLK_TCK) > 0) {
        ngx_ams_stats_ticks_per_s = (uint64_t) sysconf(_SC_CLK_TCK);
    }

    ngx_ams_stats_timer.handler = ngx_ams_stats_tick;
    ngx_ams_stats_timer.log = cycle->log;
    ngx_ams_stats_timer.cancelable = 1;

    /* the first sample now, so limits hold from the first publisher */
    ngx_ams_stats_tick(&ngx_ams_stats_timer);

    return NGX_OK;
}


static void
ngx_ams_stats_tick(ngx_event_t *ev)
{
    time_t                 now;
    ngx_atomic_uint_t      last;
    ngx_ams_main_conf_t   *amcf;
    ngx_ams_node_stats_t  *ns;

    ngx_add_timer(ev, NGX_AMS_STATS_PERIOD);

    ns = ngx_ams_bus_node_stats();
    if (ns == NULL || ngx_ams_stats_sample.busy) {
        return;
    }

    now = ngx_time();
    last = ns->sampled_at;

    if ((time_t) last >= now
        || !ngx_atomic_cmp_set(&ns->sampled_at, last, (ngx_atomic_uint_t) now))
    {
        return;   /* another worker has this second */
    }

    amcf = ngx_ams_get_main_conf((ngx_cycle_t *) ngx_cycle);

    /* whose CPU is "the process's": the master and every worker */
    ngx_ams_stats_sample.npids = ngx_ams_bus_worker_pids(
        ngx_ams_stats_sample.pids, NGX_AMS_MAX_WORKERS);
    if (ngx_process == NGX_PROCESS_WORKER) {
        ngx_ams_stats_sample.pids[ngx_ams_stats_sample.npids++] = getppid();
    }

    ngx_ams_stats_sample.busy = 1;

    if (ngx_thread_task_post(amcf->thread_pool, &ngx_ams_stats_sample.task)
        != NGX_OK)
    {
        ngx_ams_stats_sample.busy = 0;
    }
}


/* in a thread: /proc and statvfs, never on the event loop */
static void
ngx_ams_stats_read(void *data, ngx_log_t *log)
{
    ngx_ams_stats_sample_t *s = data;

    FILE                *f;
    char                 line[512], *p;
    ngx_uint_t           i;
    unsigned long long   v[8], kb;
    struct statvfs       vfs;

    s->ok = 0;
    s->cpus = 0;

    f = fopen("/proc/stat", "r");
    if (f == NULL) {
        return;
    }

    while (fgets(line, sizeof(line), f)) {
        if (ngx_strncmp(line, "cpu ", 4) == 0) {
            ngx_memzero(v, sizeof(v));
            (void) sscanf(line + 4, "%llu %llu %llu %llu %llu %llu %llu %llu",
                          &v[0], &v[1], &v[2], &v[3], &v[4], &v[5], &v[6],
                          &v[7]);
            s->total = v[0] + v[1] + v[2] + v[3] + v[4] + v[5] + v[6] + v[7];
            s->idle = v[3] + v[4];
            s->ok = 1;

        } else if (ngx_strncmp(line, "cpu", 3) == 0) {
            s->cpus++;
        }
    }

    fclose(f);

    f = fopen("/proc/meminfo", "r");
    if (f) {
        while (fgets(line, sizeof(line), f)) {
            if (sscanf(line, "MemTotal: %llu kB", &kb) == 1) {
                s->mem_total = kb * 1024;

            } else if (sscanf(line, "MemAvailable: %llu kB", &kb) == 1) {
                s->mem_available = kb * 1024;

            } else if (sscanf(line, "SwapTotal: %llu kB", &kb) == 1) {
                s->swap_total = kb * 1024;

            } else if (sscanf(line, "SwapFree: %llu kB", &kb) == 1) {
                s->swap_free = kb * 1024;
            }
        }

        fclose(f);
    }

    s->process = 0;

    for (i = 0; i < s->npids; i++) {
        ngx_sprintf((u_char *) line, "/proc/%P/stat%Z", s->pids[i]);

        f = fopen(line, "r");
        if (f == NULL) {
            continue;
        }

        /* after "(comm)": state and 10 more fields, then utime stime */
        if (fgets(line, sizeof(line), f)
            && (p = strrchr(line, ')')) != NULL
            && sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u "
                      "%llu %llu", &v[0], &v[1]) == 2)
        {
            s->process += v[0] + v[1];
        }

        fclose(f);
    }

    if (statvfs(s->storage, &vfs) == 0) {
        s->disk_total = (uint64_t) vfs.f_blocks * vfs.f_frsize;
        s->disk_free = (uint64_t) vfs.f_bfree * vfs.f_frsize;
        s->disk_usable = (uint64_t) vfs.f_bavail * vfs.f_frsize;
    }
}


static void
ngx_ams_stats_done(ngx_event_t *ev)
{
    ngx_ams_stats_sample_t *s = ev->data;

    uint64_t               dt, di;
    ngx_uint_t             i, n, sum, which, was;
    ngx_ams_main_conf_t   *amcf;
    ngx_ams_node_stats_t  *ns;

    s->busy = 0;

    ns = ngx_ams_bus_node_stats();
    if (ns == NULL || !s->ok) {
        return;
    }

    amcf = ngx_ams_get_main_conf((ngx_cycle_t *) ngx_cycle);

    /* the one-second load, from the jiffies since the previous sample
     * (whichever worker took it: the counters are in the zone) */
    dt = s->total - ns->prev_total;
    di = s->idle - ns->prev_idle;

    if (ns->prev_total && dt > 0 && di <= dt) {
        ns->recent[ns->samples++ % 5] = (ngx_uint_t) ((dt - di) * 10000 / dt);
        ns->cpu_instant_x100 = (ngx_atomic_uint_t) ((dt - di) * 10000 / dt);
    }

    /* a worker that left takes its jiffies along: skip that second */
    if (ns->prev_total && dt > 0 && s->process >= ns->prev_process) {
        ns->process_cpu_x100 = (ngx_atomic_uint_t)
            ((s->process - ns->prev_process) * 10000 / dt);
    }

    ns->prev_process = s->process;
    ns->process_cpu_ms = s->process * 1000 / ngx_ams_stats_ticks_per_s;
    ns->prev_total = s->total;
    ns->prev_idle = s->idle;

    n = ngx_min(ns->samples, 5);
    sum = 0;
    for (i = 0; i < n; i++) {
        sum += ns->recent[i];
    }

    if (n) {
        ns->cpu_x100 = sum / n;
    }

    ns->cpu_count = s->cpus;
    ns->memory_total = s->mem_total;
    ns->memory_available = s->mem_available;
    ns->swap_total = s->swap_total;
    ns->swap_free = s->swap_free;
    ns->disk_total = s->disk_total;
    ns->disk_free = s->disk_free;
    ns->disk_usable = s->disk_usable;

    if (s->mem_total) {
        ns->memory_percent = (s->mem_total - s->mem_available) * 100
                             / s->mem_total;
    }

    which = NGX_AMS_STATS_OK;

    if (n && ns->cpu_x100 > amcf->cpu_limit * 100) {
        which = NGX_AMS_STATS_CPU;

    } else if (ns->memory_percent > amcf->memory_limit) {
        which = NGX_AMS_STATS_MEMORY;
    }

    was = ns->overloaded;
    ns->overloaded = which;

    if (which != NGX_AMS_STATS_OK
        && (was == NGX_AMS_STATS_OK
            || ngx_time() - ngx_ams_stats_hooked
               >= NGX_AMS_STATS_WEBHOOK_EVERY))
    {
        ngx_log_error(NGX_LOG_WARN, ev->log, 0,
                      "ams stats: high resource usage: cpu %ui.%02ui%% "
                      "(limit %ui%%), memory %ui%% (limit %ui%%)",
                      (ngx_uint_t) ns->cpu_x100 / 100,
                      (ngx_uint_t) ns->cpu_x100 % 100, amcf->cpu_limit,
                      (ngx_uint_t) ns->memory_percent, amcf->memory_limit);
        ngx_ams_stats_webhook(ns, which, ev->log);
    }
}


static void
ngx_ams_stats_webhook(ngx_ams_node_stats_t *ns, ngx_uint_t which,
    ngx_log_t *log)
{
    char                 *body;
    json_t               *doc;
    ngx_ams_main_conf_t  *amcf;

    amcf = ngx_ams_get_main_conf((ngx_cycle_t *) ngx_cycle);

    ngx_ams_stats_hooked = ngx_time();

    if (amcf->status_webhook == NULL) {
        return;
    }

    doc = json_pack("{s:s, s:s, s:s#, s:i, s:i, s:i, s:i}",
                    "action", "highResourceUsage",
                    "reason", which == NGX_AMS_STATS_CPU ? "cpu" : "memory",
                    "instanceIp", amcf->node_address.data,
                    (int) amcf->node_address.len,
                    "cpuUsage", (int) (ns->cpu_x100 / 100),
                    "cpuLimit", (int) amcf->cpu_limit,
                    "memoryUsage", (int) ns->memory_percent,
                    "memoryLimit", (int) amcf->memory_limit);
    if (doc == NULL) {
        return;
    }

    body = json_dumps(doc, JSON_COMPACT);
    json_decref(doc);

    if (body) {
        ngx_ams_webhook_post(amcf->status_webhook, "application/json",
                             (u_char *) body, ngx_strlen(body), log);
        free(body);
    }
}


ngx_uint_t
ngx_ams_stats_admit(ngx_uint_t publisher, ngx_log_t *log)
{
    ngx_uint_t             which;
    ngx_ams_node_stats_t  *ns;

    ns = ngx_ams_bus_node_stats();
    if (ns == NULL) {
        return NGX_AMS_STATS_OK;
    }

    which = ns->overloaded;

    if (which != NGX_AMS_STATS_OK) {
        (void) ngx_atomic_fetch_add(publisher ? &ns->refused_publishers
                                              : &ns->refused_viewers, 1);
        ngx_log_error(NGX_LOG_WARN, log, 0,
                      "ams stats: new %s refused: %s above its limit "
                      "(highResourceUsage)",
                      publisher ? "publisher" : "viewer",
                      which == NGX_AMS_STATS_CPU ? "cpu" : "memory");
    }

    return which;
}


void
ngx_ams_stats_sent(ngx_uint_t protocol, size_t n)
{
    ngx_ams_node_stats_t  *ns;

    ns = ngx_ams_bus_node_stats();

    if (ns != NULL && n != 0) {
        (void) ngx_atomic_fetch_add(&ns->sent_bytes[protocol], n);
    }
}
