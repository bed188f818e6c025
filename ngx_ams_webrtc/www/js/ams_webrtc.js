/*
 * Copyright (C) nginx-ams authors
 *
 * What the publish page (index.html) and the player (play.html) share:
 * the application and query options of the page's URL, and WHIP/WHEP
 * (RFC 9725 and its play-side sibling) over fetch(): POST the offer as
 * application/sdp, apply the 201's answer, DELETE the Location when done.
 */

'use strict';

var AmsWebRTC = (function () {

    /* the application is the first path segment: /{App}/play.html */
    function app() {
        var seg = location.pathname.split('/');
        return seg.length > 2 ? decodeURIComponent(seg[1]) : '';
    }

    function query() {
        return new URLSearchParams(location.search);
    }

    /* AMS's boolean query options: "true"/"false", absent = fallback */
    function flag(q, name, fallback) {
        var v = q.get(name);
        if (v === null || v === '') {
            return fallback;
        }
        return !/^(false|0|no|off)$/i.test(v);
    }

    /* an error that carries what the server answered */
    function HttpError(what, status, body) {
        var msg = body || '';
        try {
            var j = JSON.parse(body);
            /* AMS's Result {"success":false,"message":...} */
            msg = j.message || j.error || j.definition || body;
        } catch (e) {
            /* plain text, an nginx error page, or nothing */
            var t = /<title>([^<]*)<\/title>/i.exec(msg);
            msg = t ? t[1] : msg.replace(/<[^>]*>/g, ' ');
        }
        msg = String(msg).replace(/\s+/g, ' ').trim().slice(0, 200);
        this.name = 'HttpError';
        this.status = status;
        this.body = body;
        this.message = what + ' answered ' + status + (msg ? ' ' + msg : '');
    }
    HttpError.prototype = Object.create(Error.prototype);

    /*
     * H.264 first (the server sends and takes H.264 packetization-mode 1):
     * the constrained baseline 42e01f with mode 1 ahead of the rest, then
     * the other H.264 profiles, then everything else, so a browser without
     * H.264 still makes an offer the server can refuse with a reason.
     */
    function preferH264(transceiver, caps) {
        if (!caps || !transceiver.setCodecPreferences) {
            return;
        }
        function rank(c) {
            var f = c.sdpFmtpLine || '';
            if (c.mimeType.toLowerCase() !== 'video/h264') {
                return 3;
            }
            if (/packetization-mode=1/.test(f)
                && /profile-level-id=42e01f/i.test(f))
            {
                return 0;
            }
            return /packetization-mode=1/.test(f) ? 1 : 2;
        }
        var codecs = caps.codecs.slice().sort(function (a, b) {
            return rank(a) - rank(b);
        });
        try {
            transceiver.setCodecPreferences(codecs);
        } catch (e) {
            /* an older browser's rules: its own order is good enough */
        }
    }

    /*
     * Our ICE is lite and we take no trickle from the page: wait for the
     * host candidates (a few ms on most hosts), at most `ms`.
     */
    function gathered(pc, ms) {
        if (pc.iceGatheringState === 'complete') {
            return Promise.resolve();
        }
        return new Promise(function (resolve) {
            var timer = setTimeout(done, ms);
            function done() {
                clearTimeout(timer);
                pc.removeEventListener('icegatheringstatechange', check);
                resolve();
            }
            function check() {
                if (pc.iceGatheringState === 'complete') {
                    done();
                }
            }
            pc.addEventListener('icegatheringstatechange', check);
        });
    }

    function headers(token, type) {
        var h = {};
        if (type) {
            h['Content-Type'] = type;
        }
        if (token) {
            h.Authorization = 'Bearer ' + token;
        }
        return h;
    }

    /*
     * Offers pc's transceivers to url (WHIP or WHEP) and applies the
     * answer; resolves to the session's resource URL (the Location).
     */
    function negotiate(pc, url, token, what) {
        var resource = null;
        return pc.createOffer().then(function (offer) {
            return pc.setLocalDescription(offer);
        }).then(function () {
            return gathered(pc, 2000);
        }).then(function () {
            return fetch(url, {
                method: 'POST',
                headers: headers(token, 'application/sdp'),
                body: pc.localDescription.sdp,
                cache: 'no-store'
            });
        }).then(function (res) {
            return res.text().then(function (body) {
                if (res.status !== 201) {
                    throw new HttpError(what, res.status, body);
                }
                var loc = res.headers.get('Location');
                resource = loc ? new URL(loc, new URL(url, location.href)).href
                               : null;
                return pc.setRemoteDescription({ type: 'answer', sdp: body })
                    .catch(function (e) {
                        /* an answer we cannot use: end what it made */
                        remove(resource, token);
                        throw new Error(what + ' answer: ' + e.message);
                    });
            });
        }).then(function () {
            return resource;
        });
    }

    /* ends a WHIP/WHEP session; errors are of no use to the page now */
    function remove(resource, token) {
        if (!resource) {
            return Promise.resolve();
        }
        return fetch(resource, { method: 'DELETE', headers: headers(token),
                                 keepalive: true })
            .then(function () {}, function () {});
    }

    return {
        app: app,
        query: query,
        flag: flag,
        HttpError: HttpError,
        preferH264: preferH264,
        negotiate: negotiate,
        remove: remove
    };
})();
