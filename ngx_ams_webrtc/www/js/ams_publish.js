/*
 * Copyright (C) nginx-ams authors
 *
 * index.html: preview the camera and microphone, publish them by WHIP to
 * /{App}/whip/{id}, stop with a DELETE of the session.  The page's state
 * is window.amsPublisher (tests read it): state is one of "camera",
 * "ready", "connecting", "publishing", "stopped", "error"; error is the
 * last error's text, httpStatus the last WHIP status that refused us.
 */

'use strict';

(function () {
    var W = AmsWebRTC;
    var q = W.query();
    var app = W.app();
    var token = q.get('token') || '';

    var preview = document.getElementById('preview');
    var idInput = document.getElementById('streamId');
    var startBtn = document.getElementById('start');
    var stopBtn = document.getElementById('stop');
    var statusEl = document.getElementById('status');
    var links = document.getElementById('links');
    var playLink = document.getElementById('playLink');

    /* the ICE and DTLS handshakes take a moment; this is far past it */
    var CONNECT_TIMEOUT = 20000;

    var pub = {
        state: 'camera',
        error: null,
        httpStatus: null,
        streamId: null,
        stream: null,
        pc: null,
        resource: null
    };
    window.amsPublisher = pub;

    document.getElementById('app').textContent = app ? '· ' + app : '';
    idInput.value = q.get('id') || q.get('streamId') || q.get('name')
                    || 'stream1';

    function show(text, kind) {
        statusEl.textContent = text;
        statusEl.className = kind || '';
    }

    function fail(text, status) {
        pub.state = 'error';
        pub.error = text;
        pub.httpStatus = status || null;
        show(text, 'error');
    }

    function buttons() {
        var busy = pub.state === 'connecting' || pub.state === 'publishing';
        startBtn.disabled = busy || !pub.stream;
        stopBtn.disabled = !busy;
        idInput.disabled = busy;
    }

    /* camera and microphone; either alone when the other is missing */
    function openDevices() {
        var video = { width: { ideal: 1280 }, height: { ideal: 720 } };
        var md = navigator.mediaDevices;
        if (!md || !md.getUserMedia) {
            return Promise.reject(new Error('this page needs https:// (or '
                                            + 'localhost) for the camera'));
        }
        return md.getUserMedia({ video: video, audio: true })
            .catch(function (e) {
                if (e.name !== 'NotFoundError'
                    && e.name !== 'OverconstrainedError')
                {
                    throw e;
                }
                return md.getUserMedia({ video: video }).catch(function () {
                    return md.getUserMedia({ audio: true });
                });
            });
    }

    function teardown() {
        var resource = pub.resource;
        pub.resource = null;
        if (pub.pc) {
            pub.pc.onconnectionstatechange = null;
            pub.pc.close();
            pub.pc = null;
        }
        return W.remove(resource, token);
    }

    function start() {
        var id = idInput.value.trim();
        var url = '/' + encodeURIComponent(app) + '/whip/'
                  + encodeURIComponent(id);
        var pc = new RTCPeerConnection({ bundlePolicy: 'max-bundle' });

        pub.pc = pc;
        pub.streamId = id;
        pub.state = 'connecting';
        pub.error = null;
        pub.httpStatus = null;
        links.hidden = true;
        buttons();
        show('Connecting ' + id + '…');

        pub.stream.getTracks().forEach(function (track) {
            var t = pc.addTransceiver(track, { direction: 'sendonly',
                                               streams: [pub.stream] });
            if (track.kind === 'video' && window.RTCRtpSender
                && RTCRtpSender.getCapabilities)
            {
                W.preferH264(t, RTCRtpSender.getCapabilities('video'));
            }
        });

        var timer = setTimeout(function () {
            if (pub.pc === pc && pub.state === 'connecting') {
                teardown();
                fail('No connection after ' + CONNECT_TIMEOUT / 1000
                     + ' s (ICE/DTLS): is the UDP port reachable?');
                buttons();
            }
        }, CONNECT_TIMEOUT);

        pc.onconnectionstatechange = function () {
            if (pub.pc !== pc) {
                return;
            }
            var s = pc.connectionState;
            if (s === 'connected') {
                clearTimeout(timer);
                pub.state = 'publishing';
                show('Publishing ' + id + ' (WebRTC connected)', 'live');
                playLink.href = 'play.html?name=' + encodeURIComponent(id);
                playLink.textContent = playLink.href;
                links.hidden = false;
            } else if (s === 'disconnected') {
                show('Connection interrupted, waiting for it to come back…');
            } else if (s === 'failed') {
                clearTimeout(timer);
                teardown();
                fail('WebRTC connection failed');
            } else if (s === 'connecting') {
                show('Connecting ' + id + ' (' + s + ')…');
            }
            buttons();
        };

        W.negotiate(pc, url, token, 'WHIP').then(function (resource) {
            if (pub.pc !== pc) {
                /* stopped while we waited: end what was made */
                W.remove(resource, token);
                return;
            }
            pub.resource = resource;
            if (pub.state === 'connecting') {
                show('Connecting ' + id + ' (answer received)…');
            }
        }).catch(function (e) {
            if (pub.pc !== pc) {
                return;
            }
            clearTimeout(timer);
            teardown();
            fail(e.message || String(e), e.status);
            buttons();
        });
    }

    function stop() {
        teardown();
        pub.state = 'stopped';
        show('Stopped ' + (pub.streamId || ''));
        buttons();
    }

    document.getElementById('form').addEventListener('submit', function (ev) {
        ev.preventDefault();
        if (idInput.checkValidity()) {
            start();
        }
    });
    stopBtn.addEventListener('click', stop);

    /* a closed tab ends its session now, not at the consent timeout */
    window.addEventListener('pagehide', function () {
        if (pub.resource) {
            teardown();
        }
    });

    openDevices().then(function (stream) {
        pub.stream = stream;
        preview.srcObject = stream;
        pub.state = 'ready';
        var kinds = stream.getTracks().map(function (t) { return t.kind; });
        show('Camera ready (' + kinds.join(' + ') + '): choose a stream id '
             + 'and start');
        buttons();
    }).catch(function (e) {
        fail('Camera/microphone: ' + (e.name ? e.name + ': ' : '')
             + (e.message || e));
        buttons();
    });
})();
