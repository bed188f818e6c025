# nginx-ams in Debian's own nginx: the modules are built against the
# nginx-dev of the same release, so the runtime's nginx loads them.
#
#   podman build -t nginx-ams .          (or docker build)
#   podman run -p 1935:1935 -p 5080:5080 nginx-ams
#
# BASE: another Debian 12 image (a local one where no registry is
# reachable; README, "Container").  The environment it reads at start is
# in docker/entrypoint.sh and the README.
ARG BASE=debian:bookworm-slim

FROM ${BASE} AS build
WORKDIR /src
# build.sh installs the build dependencies (apt) in a layer of their own,
# kept while only the sources change; then it builds the modules only
COPY build.sh ./
RUN ./build.sh deps-build
# the modules' sources only: a change to tests or docs keeps this layer
COPY config ./
COPY ngx_ams_core ngx_ams_core/
COPY ngx_ams_ingest ngx_ams_ingest/
COPY ngx_ams_packager ngx_ams_packager/
COPY ngx_ams_api ngx_ams_api/
COPY ngx_ams_cluster ngx_ams_cluster/
COPY ngx_ams_transcode ngx_ams_transcode/
COPY ngx_ams_webrtc ngx_ams_webrtc/
RUN ./build.sh modules \
    && mkdir -p /out/modules \
    && cp build/modules/*.so /out/modules/

FROM ${BASE}
# Debian's nginx and the modules' runtime libraries, nothing else (no
# compiler, no -dev packages); hostname for the entrypoint's address
RUN apt-get update \
    && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
        nginx libnginx-mod-stream ca-certificates hostname \
        libjansson4 libsqlite3-0 libmongoc-1.0-0 libssl3 \
        libavcodec59 libavutil57 libswscale6 libswresample4 \
        libsrtp2-1 libusrsctp2 \
    && rm -rf /var/lib/apt/lists/* /var/log/apt /var/log/dpkg.log \
    && useradd --system --uid 10001 --user-group \
        --home-dir /var/lib/nginx-ams --no-create-home ams \
    && mkdir -p /var/lib/nginx-ams /etc/nginx-ams/tls \
    && chown ams:ams /var/lib/nginx-ams

COPY --from=build /out/modules/ /usr/lib/nginx/modules/
COPY examples/standalone.conf examples/ams_media.conf /etc/nginx-ams/templates/
COPY examples/cluster/origin.conf examples/cluster/edge.conf \
     examples/cluster/cluster-hls.conf examples/cluster/balancer-ams.conf \
     /etc/nginx-ams/templates/
COPY ngx_ams_webrtc/www/ /usr/share/nginx-ams/www/
COPY docker/entrypoint.sh /usr/local/bin/ams-entrypoint
COPY docker/healthcheck.sh /usr/local/bin/ams-healthcheck

# the modules load and the standalone configuration is valid: a missing
# runtime library fails the build, not the first start
RUN ams-entrypoint check && rm -rf /var/lib/nginx-ams/*

USER ams
WORKDIR /var/lib/nginx-ams
# media, the embedded store, the proxy cache, the rendered configuration
VOLUME /var/lib/nginx-ams

# RTMP, HTTP (HLS/DASH, REST, WHIP/WHEP, /metrics), HTTPS and RTMPS (with a
# certificate in /etc/nginx-ams/tls), WebRTC media (one UDP port per worker)
EXPOSE 1935/tcp 5080/tcp 5443/tcp 8443/tcp 50000-50015/udp

# nginx's graceful stop: live records are finished, viewers drain
STOPSIGNAL SIGQUIT
HEALTHCHECK --interval=10s --timeout=3s --start-period=10s --retries=3 \
    CMD ["/usr/local/bin/ams-healthcheck"]
ENTRYPOINT ["/usr/local/bin/ams-entrypoint"]
