/*
 * Copyright (C) nginx-ams authors
 *
 * play.html: plays /{App}/... stream `name` with the first technology of
 * playOrder that gives media: WebRTC (WHEP), then HLS (hls.js, low
 * latency when the playlist has parts), then DASH (dash.js).  A
 * technology fails on an HTTP error, a player's fatal error, or no media
 * within its start time; the next is tried, and when all failed the whole
 * order again a few seconds later (the stream may not be live yet).  A
 * stream that stops while playing starts the order again too.
 *
 * window.amsPlayer = {tech, video, state, errors, lowLatency}: tech is
 * "webrtc", "hls" or "dash" while that plays, else null; state "idle",
 * "trying", "playing" or "waiting"; errors the failures, oldest first.
 */

'use strict';

(function () {
    var W = AmsWebRTC;
    var q = W.query();
    var app = W.app();
    var id = q.get('name') || q.get('id') || q.get('streamId') || '';
    var token = q.get('token') || '';
    var subscriberId = q.get('subscriberId') || '';
    var autoplay = W.flag(q, 'autoplay', true);
    var mute = W.flag(q, 'mute', true);

    var video = document.getElementById('video');
    var statusEl = document.getElementById('status');
    var playButton = document.getElementById('playButton');

    var NAMES = { webrtc: 'WebRTC', hls: 'HLS', dash: 'DASH' };

    /* how long each technology may take to show moving media */
    var START_MS = { webrtc: 5000, hls: 8000, dash: 8000 };

    /* playing media that stops moving this long: start the order again */
    var STALL_MS = 8000;

    /* all failed: try the order again after this long */
    var RETRY_MS = 3000;

    var player = {
        tech: null,
        video: video,
        state: 'idle',
        errors: [],
        lowLatency: false,
        forcedMute: false,
        order: order(q.get('playOrder'))
    };
    window.amsPlayer = player;

    var current = null;         /* the attempt in progress or playing */
    var generation = 0;         /* bumped on every restart */
    var scripts = {};

    /* AMS's playOrder: "webrtc,hls,dash"; "ll-hls" is our HLS as well */
    function order(s) {
        var out = [];
        (s || 'webrtc,hls,dash').split(',').forEach(function (t) {
            t = t.trim().toLowerCase();
            if (t === 'll-hls' || t === 'llhls') {
                t = 'hls';
            }
            if (NAMES[t] && out.indexOf(t) < 0) {
                out.push(t);
            }
        });
        return out.length ? out : ['webrtc', 'hls', 'dash'];
    }

    function show(text, error) {
        statusEl.textContent = text;
        statusEl.className = error ? 'error' : '';
    }

    function loadScript(src) {
        if (!scripts[src]) {
            scripts[src] = new Promise(function (resolve, reject) {
                var s = document.createElement('script');
                s.src = src;
                s.onload = resolve;
                s.onerror = function () {
                    delete scripts[src];
                    reject(new Error('cannot load ' + src));
                };
                document.head.appendChild(s);
            });
        }
        return scripts[src];
    }

    /* ?token=&subscriberId= for the HTTP players' first request */
    function args() {
        var a = new URLSearchParams();
        if (token) {
            a.set('token', token);
        }
        if (subscriberId) {
            a.set('subscriberId', subscriberId);
        }
        var s = a.toString();
        return s ? '?' + s : '';
    }

    function base() {
        return '/' + encodeURIComponent(app) + '/';
    }

    function get(url, what) {
        return fetch(url, { cache: 'no-store', credentials: 'same-origin' })
            .then(function (res) {
                return res.text().then(function (body) {
                    if (!res.ok) {
                        throw new W.HttpError(what, res.status, body);
                    }
                    return body;
                });
            });
    }

    /* autoplay of sound may be refused: play muted rather than not */
    function startVideo() {
        var p = video.play();
        if (p && p.catch) {
            p.catch(function (e) {
                if (e && e.name === 'NotAllowedError' && !video.muted) {
                    player.forcedMute = true;
                    video.muted = true;
                    video.play().catch(function () {});
                }
            });
        }
    }

    function clearVideo() {
        video.pause();
        video.srcObject = null;
        video.removeAttribute('src');
        video.load();
    }

    /*
     * Each technology: start(fail) sets up the video element and returns
     * an object with stop() and progress() (a promise of a number that
     * grows while media flows); fail(error) may be called at any time.
     */

    function webrtc(fail) {
        var pc = new RTCPeerConnection({ bundlePolicy: 'max-bundle' });
        var stream = new MediaStream();
        var resource = null;
        var stopped = false;
        var url = base() + 'whep/' + encodeURIComponent(id);

        var tv = pc.addTransceiver('video', { direction: 'recvonly' });
        if (window.RTCRtpReceiver && RTCRtpReceiver.getCapabilities) {
            W.preferH264(tv, RTCRtpReceiver.getCapabilities('video'));
        }
        pc.addTransceiver('audio', { direction: 'recvonly' });

        pc.ontrack = function (ev) {
            stream.addTrack(ev.track);
        };
        pc.onconnectionstatechange = function () {
            if (pc.connectionState === 'failed') {
                fail(new Error('WebRTC connection failed'));
            } else if (pc.connectionState === 'closed' && !stopped) {
                fail(new Error('WebRTC connection closed'));
            }
        };

        video.srcObject = stream;
        startVideo();

        W.negotiate(pc, url, token, 'WHEP').then(function (r) {
            if (stopped) {
                W.remove(r, token);
                return;
            }
            resource = r;
        }).catch(fail);

        return {
            stop: function () {
                stopped = true;
                pc.onconnectionstatechange = null;
                pc.close();
                W.remove(resource, token);
                resource = null;
            },
            /* the picture of a MediaStream keeps its clock running when
             * no frame comes: count frames (and audio samples) instead */
            progress: function () {
                return pc.getStats().then(function (stats) {
                    var n = 0;
                    stats.forEach(function (s) {
                        if (s.type === 'inbound-rtp') {
                            n += (s.framesDecoded || 0)
                                 + (s.totalSamplesReceived || 0);
                        }
                    });
                    return n;
                }, function () {
                    return 0;
                });
            }
        };
    }

    function hls(fail) {
        var url = base() + 'streams/' + encodeURIComponent(id) + '.m3u8';
        var h = null;
        var stopped = false;

        /* the playlist first: an HTTP error fails now, with its status,
         * and its parts (EXT-X-PART, in a master's media playlists) say
         * whether to play it as low-latency HLS */
        get(url + args(), 'HLS').then(function (text) {
            if (/#EXT-X-PART/.test(text)
                || !/#EXT-X-STREAM-INF|#EXT-X-MEDIA:/.test(text))
            {
                return text;
            }
            var uri = text.split('\n').map(function (l) {
                return l.trim();
            }).filter(function (l) {
                return l && l[0] !== '#';
            })[0];
            return uri ? get(new URL(uri, location.origin + url).href, 'HLS')
                         .catch(function () { return ''; })
                       : text;
        }).then(function (media) {
            player.lowLatency = /#EXT-X-PART/.test(media);
            return loadScript('lib/hls.min.js');
        }).then(function () {
            if (stopped) {
                return;
            }
            if (!window.Hls || !Hls.isSupported()) {
                if (video.canPlayType('application/vnd.apple.mpegurl')) {
                    /* Safari's own HLS, low latency included */
                    video.src = url + args();
                    startVideo();
                    return;
                }
                throw new Error('HLS: this browser has no Media Source');
            }
            h = new Hls({ lowLatencyMode: player.lowLatency });
            h.on(Hls.Events.ERROR, function (ev, d) {
                if (d.fatal) {
                    var code = d.response && d.response.code;
                    fail(new Error('HLS: ' + d.details
                                   + (code ? ' (' + code + ')' : '')));
                }
            });
            h.on(Hls.Events.MANIFEST_PARSED, startVideo);
            h.loadSource(url + args());
            h.attachMedia(video);
            window.hls = h;
        }).catch(fail);

        return {
            stop: function () {
                stopped = true;
                if (h) {
                    h.destroy();
                    window.hls = null;
                }
            },
            progress: function () {
                return Promise.resolve(video.currentTime);
            }
        };
    }

    function dash(fail) {
        var url = base() + 'streams/' + encodeURIComponent(id) + '/'
                  + encodeURIComponent(id) + '.mpd';
        var p = null;
        var stopped = false;

        get(url + args(), 'DASH').then(function () {
            return loadScript('lib/dash.mediaplayer.min.js');
        }).then(function () {
            if (stopped) {
                return;
            }
            p = dashjs.MediaPlayer().create();
            p.on('error', function (e) {
                var err = e.error || e;
                fail(new Error('DASH: ' + (err.message || err.code
                                           || JSON.stringify(err))));
            });
            /* dash.js starts playing by itself once it can: an earlier
             * play() would pass it by */
            p.initialize(video, url + args(), true);
            window.dash = p;
        }).catch(fail);

        return {
            stop: function () {
                stopped = true;
                if (p) {
                    p.reset();
                    window.dash = null;
                }
            },
            progress: function () {
                return Promise.resolve(video.currentTime);
            }
        };
    }

    var START = { webrtc: webrtc, hls: hls, dash: dash };

    function stopCurrent() {
        if (current) {
            clearInterval(current.timer);
            try {
                if (current.handle) {
                    current.handle.stop();
                }
            } catch (e) {
                /* the player is gone either way */
            }
            current = null;
        }
        player.tech = null;
        clearVideo();
    }

    /*
     * Tries player.order[i]: resolves when its media moves, rejects with
     * the reason it failed.  Once playing, a failure or a stall restarts
     * the whole order.
     */
    function attempt(i, gen) {
        var tech = player.order[i];
        var settled = false;
        var began = Date.now();
        var first = null;
        var me = { tech: tech, handle: null, timer: null };

        return new Promise(function (resolve, reject) {
            /* an attempt given up (stopped) may still hear from its
             * player: only the current one counts */
            function fail(e) {
                if (gen !== generation || current !== me) {
                    return;
                }
                if (!settled) {
                    settled = true;
                    reject(e);
                    return;
                }
                /* it played, and stopped */
                note(tech, e);
                restart('stopped: ' + (e.message || e));
            }

            current = me;
            try {
                me.handle = START[tech](fail);
            } catch (e) {
                reject(e);
                return;
            }

            var last = null;
            var still = Date.now();
            me.timer = setInterval(function () {
                me.handle.progress().then(function (n) {
                    if (gen !== generation || current !== me) {
                        return;
                    }
                    var now = Date.now();
                    if (!settled) {
                        if (video.readyState >= 2 && first === null) {
                            first = n;
                        }
                        if (first !== null && n > first
                            && video.readyState >= 2)
                        {
                            settled = true;
                            last = n;
                            still = now;
                            resolve();
                        } else if (now - began > START_MS[tech]) {
                            fail(new Error(NAMES[tech] + ': no media within '
                                           + START_MS[tech] / 1000 + ' s'));
                        }
                        return;
                    }
                    if (n !== last || video.paused) {
                        last = n;
                        still = now;
                    } else if (now - still > STALL_MS) {
                        fail(new Error(NAMES[tech] + ': no media for '
                                       + STALL_MS / 1000 + ' s'));
                    }
                });
            }, 250);
        });
    }

    function note(tech, e) {
        var text = e && e.message ? e.message : String(e);
        player.errors.push(text);
        if (player.errors.length > 50) {
            player.errors.shift();
        }
        if (window.console) {
            console.log('ams player: ' + tech + ': ' + text);
        }
    }

    function run(i, gen, why) {
        if (gen !== generation) {
            return;
        }
        if (i >= player.order.length) {
            player.state = 'waiting';
            show('Stream ' + id + ' is not playing now ('
                 + (why || 'no technology played') + '); trying again…',
                 true);
            setTimeout(function () {
                run(0, gen, null);
            }, RETRY_MS);
            return;
        }
        var tech = player.order[i];
        player.state = 'trying';
        show('Trying ' + NAMES[tech] + '…'
             + (why ? ' (' + why + ')' : ''));
        attempt(i, gen).then(function () {
            if (gen !== generation) {
                return;
            }
            player.tech = tech;
            player.state = 'playing';
            show('Playing with ' + NAMES[tech]
                 + (tech === 'hls' && player.lowLatency ? ' (low latency)'
                                                        : '')
                 + (player.forcedMute && video.muted
                    ? ' · muted by the browser: unmute with the controls'
                    : ''));
        }, function (e) {
            if (gen !== generation) {
                return;
            }
            note(tech, e);
            stopCurrent();
            run(i + 1, gen, e.message || String(e));
        });
    }

    function restart(why) {
        generation++;
        stopCurrent();
        var gen = generation;
        player.state = 'waiting';
        show('Stream ' + why + '; trying again…', true);
        setTimeout(function () {
            run(0, gen, null);
        }, RETRY_MS);
    }

    function begin() {
        playButton.hidden = true;
        generation++;
        run(0, generation, null);
    }

    video.muted = mute;
    window.addEventListener('pagehide', stopCurrent);

    if (!id) {
        show('No stream: add ?name={streamId} to the address', true);
    } else if (autoplay) {
        begin();
    } else {
        show('Stream ' + id);
        playButton.hidden = false;
        playButton.addEventListener('click', begin);
    }
})();
